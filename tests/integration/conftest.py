"""Fixtures for the integration tests: Azurite for the Azure engine, a fresh store per test.

Azurite comes from ``npm install`` (package.json at the repository root). Without it the Azure
cases fail when CI is set, so a CI run can never pass by quietly testing only SQLite, and are
skipped on a laptop.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.azure_engine import AzureTableStore
from storage.sqlite_engine import SqliteTableStore
from storage.tables import TableStore

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_TABLE = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"
# Azurite's well-known development account; not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_SECONDS = 30.0
ENGINES = ("sqlite", "azure")


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


def _stop(process: subprocess.Popen[bytes]) -> None:
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


def _start_azurite(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
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
        _stop(process)
    log_text = log_path.read_text(errors="replace")
    raise RuntimeError(f"Azurite did not start on 127.0.0.1; its output:\n{log_text}")


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not AZURITE_TABLE.exists():
        message = (
            f"Azurite is not installed ({AZURITE_TABLE} is missing): run `npm install` "
            "in the repository root"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    process, port = _start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"TableEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};"
        )
    finally:
        _stop(process)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[TableStore]:
    """A fresh store of each engine. Azurite is asked for only when an Azure case runs."""
    opened: TableStore
    if engine == "azure":
        opened = AzureTableStore(request.getfixturevalue("azurite_connection_string"))
    else:
        opened = SqliteTableStore(tmp_path / "data")
    try:
        yield opened
    finally:
        await opened.close()


def unique_table_name() -> str:
    return f"t{uuid.uuid4().hex[:20]}"


@pytest.fixture
async def table(store: TableStore) -> str:
    """A new, empty table in ``store``; unique, since Azurite lives for the whole session."""
    name = unique_table_name()
    await store.ensure_tables([name])
    return name
