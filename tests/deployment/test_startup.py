"""Starting the app with a bad setting, pack or store ends with one message and exit status 2,
never a traceback: run as `python app.py` and as App Service runs it (gunicorn's aiohttp worker
on `app:create_app()`, where gunicorn.conf.py checks in the master before any worker starts)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from tests.deployment.processes import GUNICORN, environment, free_port, start

ROOT = Path(__file__).resolve().parents[2]

BAD_START = [
    pytest.param(
        {"MicrosoftAppId": "00000000-0000-0000-0000-000000000001", "MicrosoftAppPassword": "x"},
        "error: settings are not valid:\n  - ALLOWED_TENANTS is required when MicrosoftAppId "
        "is set",
        id="app-id-without-allowed-tenants",
    ),
    pytest.param(
        {"HOST": "0.0.0.0"},
        "error: settings are not valid:\n  - HOST must be a loopback address (127.0.0.1, ::1 or "
        "localhost) when MicrosoftAppId is not set, not '0.0.0.0'",
        id="local-mode-on-every-interface",
    ),
    pytest.param(
        {"PORT": "eighty"},
        "error: settings are not valid:\n  - PORT must be a number from 1 to 65535, not 'eighty'",
        id="bad-port",
    ),
    pytest.param(
        {"SWEEP_INTERVAL_SECONDS": "hourly", "MAX_BODY_BYTES": "1"},
        "error: settings are not valid:\n  - SWEEP_INTERVAL_SECONDS must be a number of seconds "
        "from 1 to 86400, not 'hourly'\n  - MAX_BODY_BYTES must be a number of bytes from 16384 "
        "to 16777216, not '1'",
        id="bad-tunables",
    ),
    pytest.param(
        {"ESCALATION_POLICIES": "camden"},
        "no pack named 'camden'; known: ['cumbria', 'harrow', 'lincolnshire', 'redbridge', "
        "'south-ayrshire']",
        id="unknown-board",
    ),
    pytest.param(
        {"ESCALATION_POLICIES": "redbridge,redbridge"},
        "error: two packs claim board 'redbridge'",
        id="board-twice",
    ),
    pytest.param(
        {"ESCALATION_POLICY_DIR": str(ROOT / "tests" / "fixtures" / "packs" / "broken")},
        # The folder's first pack, by name, is the first to fail.
        "board-role-selector-names-agency-role.yaml: stages.2 (stage '3').actors.0: role "
        "'designated_lead' is an agency role, but 'board_role' needs a board role",
        id="broken-pack",
    ),
    pytest.param(
        {"ESCALATION_DATA_DIR": str(ROOT / "README.md")},
        "error: storage: SQLite table store",
        id="storage-cannot-open",
    ),
]


@pytest.mark.parametrize(("changes", "message"), BAD_START)
def test_python_app_py_with_a_bad_setting(
    tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    done = start([sys.executable, "app.py"], environment(tmp_path, changes))
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr


def test_gunicorn_without_an_app_id_binds_to_this_machine_only(tmp_path: Path) -> None:
    argv = [str(GUNICORN), "app:create_app()", "--worker-class", "aiohttp.GunicornUVLoopWebWorker"]
    done = start([*argv, "--bind", f"0.0.0.0:{free_port()}"], environment(tmp_path, {}))
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert "the --bind address must be a loopback address" in done.stderr
    assert "Booting worker" not in done.stderr


def test_python_app_py_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = start([sys.executable, "app.py"], environment(tmp_path, {"PORT": str(port)}))
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "address already in use" in done.stderr
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize(("changes", "message"), BAD_START)
def test_gunicorn_with_a_bad_setting(tmp_path: Path, changes: dict[str, str], message: str) -> None:
    env = environment(tmp_path, changes)
    argv = [str(GUNICORN), "app:create_app()", "--worker-class", "aiohttp.GunicornUVLoopWebWorker"]
    done = start([*argv, "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"], env)
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Booting worker" not in done.stderr  # stopped in the master, before any worker
    # gunicorn's own "Starting gunicorn" line, then the one message.
    assert len([line for line in done.stderr.splitlines() if line.startswith("error: ")]) == 1
