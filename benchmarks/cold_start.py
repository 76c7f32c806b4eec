"""Cold start: from starting the app's process to its first answer on /healthz.

    .venv/bin/python -m benchmarks.cold_start [--runs 5]

Starts `python app.py` (the same create_app as gunicorn's worker) on 127.0.0.1 with a fresh
embedded store each time, polls GET /healthz every 10 ms, and stops the process once it has
answered. Prints each run's time, the median and the worst; the bar is 2 s. Bounded: each run
gives up after 30 s.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GIVE_UP_SECONDS = 30.0
BAR_SECONDS = 2.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def one_start() -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MicrosoftApp", "STORAGE_", "APPLICATIONINSIGHTS"))
        }
        env.update(
            {
                "PORT": str(port),
                "HOST": "127.0.0.1",
                "ESCALATION_DATA_DIR": data,
                "PYTHONPATH": str(REPO),
            }
        )
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(REPO / "app.py")],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            while not answers(url):
                if process.poll() is not None:
                    raise RuntimeError(f"the app stopped with status {process.returncode}")
                if time.perf_counter() - started > GIVE_UP_SECONDS:
                    raise RuntimeError("the app did not answer /healthz within 30 s")
                time.sleep(0.01)
            return time.perf_counter() - started
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = max(1, min(parser.parse_args().runs, 20))
    times = [one_start() for _ in range(runs)]
    for n, seconds in enumerate(times, 1):
        print(f"start {n}: {seconds:.2f} s to /healthz")
    median, worst = statistics.median(times), max(times)
    verdict = "under" if worst < BAR_SECONDS else "OVER"
    print(f"median {median:.2f} s, worst {worst:.2f} s: {verdict} the {BAR_SECONDS:g} s bar")


if __name__ == "__main__":
    main()
