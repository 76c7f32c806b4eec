"""Starting the app as App Service does, in a process of its own: gunicorn, a free port, and an
environment without the settings of the machine the tests run on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from bootstrap.settings import SETTING_NAMES

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(tmp_path: Path, changes: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env["ESCALATION_DATA_DIR"] = str(tmp_path / "data")
    env["PORT"] = str(free_port())
    env.update(changes)
    return env


def start(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
