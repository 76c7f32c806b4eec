"""Azurite, the Azure Table Storage emulator from `npm install`, on a free port of 127.0.0.1 for
the integration tests and the benchmarks; and table names of their own for tests that share it."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from testkit.people import ROOT

AZURITE_TABLE = ROOT / "node_modules" / ".bin" / "azurite-table"
# Azurite's well-known development account; not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    """True once Azurite answers HTTP at all (an unsigned request gets a 4xx, which is fine)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", f"/{DEV_ACCOUNT}/Tables")
        return connection.getresponse().status > 0
    except OSError:
        return False
    finally:
        connection.close()


def stop_azurite(process: subprocess.Popen[bytes]) -> None:
    """Stop Azurite and anything it started: it runs in its own process group."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def start_azurite(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    log_path = workdir / "azurite.log"
    for _attempt in range(3):  # the free port can be taken between probing and binding
        port = _free_port()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    str(AZURITE_TABLE),
                    "--inMemoryPersistence",
                    "--disableTelemetry",
                    "--skipApiVersionCheck",
                    "--silent",
                    "--tableHost",
                    "127.0.0.1",
                    "--tablePort",
                    str(port),
                ],
                cwd=workdir,  # whatever it writes stays out of the work tree
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(port):
                return process, port
            time.sleep(0.1)
        stop_azurite(process)
    log_text = log_path.read_text(errors="replace")
    raise RuntimeError(f"Azurite did not start on 127.0.0.1; its output:\n{log_text}")


def connection_string(port: int) -> str:
    """The development account's connection string, for Azurite on 127.0.0.1:`port`."""
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
    )


@contextlib.contextmanager
def running_azurite(workdir: Path) -> Iterator[str]:
    """Azurite, started in `workdir` for the block: its connection string; stopped after."""
    process, port = start_azurite(workdir)
    try:
        yield connection_string(port)
    finally:
        stop_azurite(process)


def unique_table_name() -> str:
    """A new table's name: unique, since Azurite lives for the whole test session."""
    return f"t{uuid.uuid4().hex[:20]}"
