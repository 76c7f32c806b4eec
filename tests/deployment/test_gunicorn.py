"""The app started exactly as App Service starts it: gunicorn's aiohttp worker on `app:create_app()`
(deployment/infra/main.bicep sets this startup command), answering its health probes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deployment.processes import GUNICORN, free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_WITHIN = 60.0
STOP_WITHIN = 20.0


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    assert GUNICORN.exists(), f"gunicorn is a project dependency; not found at {GUNICORN}"
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MicrosoftAppId", "MicrosoftAppPassword", "STORAGE_CONNECTION_STRING")
    }
    env["ESCALATION_DATA_DIR"] = str(tmp_path / "data")
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "app:create_app()",
                "--worker-class",
                "aiohttp.GunicornUVLoopWebWorker",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--graceful-timeout",
                "10",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the master and its worker
        )
    pgid = process.pid
    try:
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_WITHIN)
        if group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=STOP_WITHIN)


def wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            status, _ = get(url + "/healthz")
            if status == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer /healthz within {STARTUP_WITHIN}s:\n{log.read_text()}")


def test_gunicorn_serves_the_app_and_stops_cleanly(
    gunicorn: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    process, url, log = gunicorn
    wait_until_up(process, url, log)
    status, body = get(url + "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "alive"})
    status, body = get(url + "/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready"})
    status, _ = get(url + "/nowhere")
    assert status == 404

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_WITHIN) == 0, log.read_text()
    assert not group_alive(process.pid), "a gunicorn worker outlived its master"
    text = log.read_text()
    assert "Booting worker" in text
    assert "Shutting down" in text or "Handling signal: term" in text
