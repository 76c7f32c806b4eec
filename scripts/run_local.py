"""Run the bot and the Microsoft 365 Agents Playground on this machine, for local use only.

    ./dev run                      (which installs the Python and Node packages, then runs this)
    .venv/bin/python scripts/run_local.py

It imports the sample directory (sample/directory.yaml: invented people), starts the bot with no
app id and the embedded SQLite store, starts the Playground (a Teams-like web client that runs
offline) pointed at the bot, and prints where to open it. Both listen on 127.0.0.1 only. Ctrl-C
(or SIGTERM) stops both.

Environment: PORT (the bot, default 3978), PLAYGROUND_PORT (default 56150), ESCALATION_DATA_DIR
(default ./data; the Playground's log folder devTools/ goes in its subfolder playground/). HOST,
STORAGE_CONNECTION_STRING and the MicrosoftApp* settings are ignored: the bot runs without
authentication, so it listens on 127.0.0.1 only; sample data never goes to a real store; and the
Playground sends no token.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PLAYGROUND_CLI = REPO / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
PLAYGROUND_CONFIG = REPO / ".m365agentsplayground.yml"
SAMPLE_DIRECTORY = REPO / "sample" / "directory.yaml"
LOCALHOST = "127.0.0.1"
BOT_PORT = 3978
PLAYGROUND_PORT = 56150
START_SECONDS = 60.0
IMPORT_SECONDS = 120.0
STOP_SECONDS = 10.0
POLL_SECONDS = 0.2
INSTALL_HINT = "run ./dev run, which installs them"

# Settings the bot and the Playground must not inherit from the shell: an app id or password (the
# Playground sends no token), a real store (sample data stays in the embedded one), and the
# Playground's own variables (this script sets what it needs).
_DROPPED = frozenset(
    {
        "MicrosoftAppId",
        "MicrosoftAppPassword",
        "MicrosoftAppType",
        "MicrosoftAppTenantId",
        "ALLOWED_TENANTS",
        "STORAGE_CONNECTION_STRING",
        "ESCALATION_TABLE_PREFIX",
        "AUTH_CLIENT_ID",
        "AUTH_CLIENT_SECRET",
        "AUTH_TENANT_ID",
        "BOT_ENDPOINT",
        "DEFAULT_CHANNEL_ID",
        "SEND_INSTALLATION_ACTIVITY",
    }
)
_DROPPED_PREFIXES = ("M365_AGENTS_PLAYGROUND_", "TEAMSAPPTESTER_", "TEAMS_APP_TEST_TOOL_")

# The Playground (0.2.28) has no option for the address it listens on: it calls
# `server.listen(port)`, which listens on every interface, IPv4 and IPv6. Node loads this module
# first (`node --import loopback-only.mjs`, written into the Playground's working folder); it makes
# any listen() that names no address listen on 127.0.0.1 only. The Playground's own check that its
# port is free goes through it too.
LOOPBACK_ONLY_JS = """
import net from "node:net";
const listen = net.Server.prototype.listen;
const LOOPBACK = "127.0.0.1";
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (typeof first === "number" || (typeof first === "string" && /^[0-9]+$/.test(first))) {
    if (typeof args[1] !== "string" || args[1] === "") {
      const callback = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
      const backlog = args.slice(1).find((value) => typeof value === "number");
      return listen.call(this, { port: Number(first), host: LOOPBACK, backlog }, callback);
    }
  } else if (first === undefined || typeof first === "function") {
    return listen.call(this, { port: 0, host: LOOPBACK }, first);
  } else if (
    first !== null && typeof first === "object" && !first.host && first.path === undefined &&
    first.fd === undefined && first.handle === undefined && first._handle === undefined
  ) {
    args[0] = { ...first, host: LOOPBACK };
  }
  return listen.apply(this, args);
};
"""


class StartError(RuntimeError):
    """Something needed is missing, or did not start in time; the message says what to do."""


@dataclass
class Child:
    """A process this script started, in a process group of its own."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM to the whole group, then SIGKILL if it has not ended within `timeout`.

        Signals go to the group only while its leader is not yet reaped (so its number cannot
        have been reused). Neither child starts processes of its own.
        """
        if self.process.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=timeout)
                return
            except subprocess.TimeoutExpired:
                continue


@dataclass
class Stopper:
    """Turns SIGINT, SIGTERM and SIGHUP into a flag that every wait below checks."""

    requested: str | None = None
    _previous: dict[int, Any] = field(default_factory=dict)

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _: FrameType | None) -> None:
        self.requested = signal.Signals(signum).name


def child_env(base: Mapping[str, str]) -> dict[str, str]:
    return {
        key: value
        for key, value in base.items()
        if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
    }


def port_from(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip() or str(default)
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise StartError(f"{name} must be a port number from 1 to 65535, not {text!r}")
    return int(text)


def ensure_port_free(port: int, what: str, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOCALHOST, port))
        except OSError:
            raise StartError(
                f"port {port} on {LOCALHOST} is in use, so {what} cannot listen there: stop what "
                f"is using it, or set {setting} to another port"
            ) from None


def check_prerequisites() -> str:
    """The path of node, or a StartError that says how to install what is missing."""
    node = shutil.which("node")
    if node is None:
        raise StartError(
            "Node.js is not installed (the Playground needs `node` on the PATH): install Node.js "
            f"20 and npm, then {INSTALL_HINT}"
        )
    if not PLAYGROUND_CLI.is_file():
        raise StartError(
            "the Microsoft 365 Agents Playground is not installed "
            f"({PLAYGROUND_CLI.relative_to(REPO)} is missing): {INSTALL_HINT}"
        )
    return node


def import_sample_directory(env: Mapping[str, str]) -> str:
    """`escalation directory import sample/directory.yaml`: adds or updates, so safe to repeat."""
    command = [
        sys.executable,
        "-c",
        "from admin.cli import console; console()",
        "directory",
        "import",
        str(SAMPLE_DIRECTORY),
    ]
    try:
        done = subprocess.run(
            command,
            cwd=REPO,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=IMPORT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise StartError(
            f"importing the sample directory took over {IMPORT_SECONDS:.0f} s"
        ) from None
    if done.returncode != 0:
        raise StartError(
            f"could not import the sample directory (exit {done.returncode}):\n"
            f"{(done.stderr or done.stdout).strip()}"
        )
    return done.stdout.strip()


def start_bot(port: int, env: Mapping[str, str]) -> Child:
    bot_env = dict(env, HOST=LOCALHOST, PORT=str(port), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(  # output goes to this terminal: the bot's log
        [sys.executable, str(REPO / "app.py")],
        cwd=REPO,
        env=bot_env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Child("bot", process)


def write_loopback_module(work_dir: Path) -> Path:
    module = work_dir / "loopback-only.mjs"
    module.write_text(LOOPBACK_ONLY_JS.lstrip(), encoding="utf-8")
    return module


def playground_command(node: str, port: int, bot_port: int, loopback_module: Path) -> list[str]:
    return [
        node,
        "--import",
        loopback_module.resolve().as_uri(),
        str(PLAYGROUND_CLI),
        "--app-endpoint",
        f"http://{LOCALHOST}:{bot_port}/api/messages",
        "--channel-id",
        "msteams",
        "--port",
        str(port),
        "--service-url",
        f"http://{LOCALHOST}:{port}/_connector",
        "--disable-telemetry",
    ]


def start_playground(
    node: str, port: int, bot_port: int, work_dir: Path, env: Mapping[str, str]
) -> Child:
    """The Playground runs in `work_dir`, where it writes devTools/ (its log)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    loopback_module = write_loopback_module(work_dir)
    log = work_dir / "playground.out"
    playground_env = dict(
        env,
        TEAMSAPPTESTER_BROWSER="none",  # it opens no browser of its own
        M365_AGENTS_PLAYGROUND_CONFIG_PATH=str(PLAYGROUND_CONFIG),
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            playground_command(node, port, bot_port, loopback_module),
            cwd=work_dir,
            env=playground_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child("Playground", process, log)


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _tail(path: Path | None, lines: int = 20) -> str:
    if path is None or not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return "\n".join(text[-lines:])


def wait_until_ready(
    child: Child, ready: Callable[[], bool], stopper: Stopper, timeout: float = START_SECONDS
) -> bool:
    """Wait for `ready()` to be true; False if a stop was asked for. Bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopper.requested:
            return False
        if not child.alive():
            detail = _tail(child.log)
            raise StartError(
                f"the {child.name} exited during start-up (exit {child.process.returncode})"
                + (f":\n{detail}" if detail else "")
            )
        if ready():
            return True
        time.sleep(POLL_SECONDS)
    detail = _tail(child.log)
    raise StartError(
        f"the {child.name} did not answer within {timeout:.0f} s"
        + (f":\n{detail}" if detail else "")
    )


def playground_listening_port(log: Path) -> int | None:
    """The port the Playground says it listens on (it takes a random one if its port is busy)."""
    if not log.is_file():
        return None
    match = re.search(r"Listening on (\d+)", log.read_text(encoding="utf-8", errors="replace"))
    return int(match.group(1)) if match else None


def run(environ: Mapping[str, str], stopper: Stopper) -> int:
    bot_port = port_from(environ, "PORT", BOT_PORT)
    playground_port = port_from(environ, "PLAYGROUND_PORT", PLAYGROUND_PORT)
    node = check_prerequisites()
    env = child_env(environ)
    data_dir = Path(env.get("ESCALATION_DATA_DIR") or REPO / "data").resolve()
    env["ESCALATION_DATA_DIR"] = str(data_dir)
    ensure_port_free(bot_port, "the bot", "PORT")
    ensure_port_free(playground_port, "the Playground", "PLAYGROUND_PORT")

    try:
        print(import_sample_directory(env), flush=True)
    except StartError:
        if stopper.requested:  # Ctrl-C reaches the import too, which is in this process group
            return 0
        raise
    if stopper.requested:
        return 0
    children: list[Child] = []
    try:
        bot = start_bot(bot_port, env)
        children.append(bot)
        health = f"http://{LOCALHOST}:{bot_port}/healthz"
        if not wait_until_ready(bot, lambda: http_status(health) == 200, stopper):
            return 0
        print(f"bot: http://{LOCALHOST}:{bot_port}/api/messages (pid {bot.pid})", flush=True)

        playground = start_playground(node, playground_port, bot_port, data_dir / "playground", env)
        children.append(playground)
        assert playground.log is not None
        log = playground.log
        home = f"http://{LOCALHOST}:{playground_port}/"
        if not wait_until_ready(
            playground,
            lambda: playground_listening_port(log) is not None and http_status(home) == 200,
            stopper,
        ):
            return 0
        listening = playground_listening_port(log)
        if listening != playground_port:
            raise StartError(
                f"the Playground took port {listening}, not {playground_port} (was it taken "
                "meanwhile?): stop what is using it, or set PLAYGROUND_PORT"
            )
        print(f"playground: {home} (pid {playground.pid})", flush=True)
        print(
            f"\nOpen the Playground in a browser: http://{LOCALHOST}:{playground_port}\n"
            "It and the bot listen on this machine only. SAMPLE DATA: the people are invented "
            f"(sample/directory.yaml); you are Alex Wilber. Cases are kept in {data_dir}.\n"
            "Press Ctrl-C to stop both.",
            flush=True,
        )
        while stopper.requested is None:
            for child in children:
                if not child.alive():
                    detail = _tail(child.log)
                    raise StartError(
                        f"the {child.name} stopped (exit {child.process.returncode})"
                        + (f":\n{detail}" if detail else "")
                    )
            time.sleep(POLL_SECONDS)
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        if stopper.requested:
            print(f"\n{stopper.requested}: stopped the Playground and the bot.", flush=True)


def main() -> int:
    stopper = Stopper()
    stopper.install()
    try:
        return run(os.environ, stopper)
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stopper.restore()


if __name__ == "__main__":
    sys.exit(main())
