"""Run the bot and one Microsoft 365 Agents Playground per sample person, for local use only.

    ./dev run                      (which installs the Python and Node packages, then runs this)
    .venv/bin/python scripts/run_local.py

It imports the sample directory (sample/directory.yaml: invented people) into the embedded SQLite
store, and writes there what a newcomer cannot set up from the Playground (see `preset_store`):
each Playground person's chat with the bot, and every board's business-manager channel (the
Announcements channel of the first Playground). It then starts the bot with no app id, and one
Playground (a Teams-like web client that runs offline) per person of .m365agentsplayground.yml on
consecutive ports, each with that person as its current user, all pointed at the same bot; and
prints where to open each. They all listen on 127.0.0.1 only. Ctrl-C (or SIGTERM) stops them all.

The Playground has no way to switch user: each one is one person. Each has its own service URL
(http://127.0.0.1:PORT/_connector), which the activities it sends carry, so the bot answers and
writes to a person in that person's Playground.

Environment: PORT (the bot, default 3978), PLAYGROUND_PORT (the first Playground, default 56150;
the others take the next ports, one per person), ESCALATION_DATA_DIR (default ./data; each
Playground's working folder, with its generated config and its log folder devTools/, is
playground/<person>/ in it). HOST, the storage settings and the MicrosoftApp* settings are
ignored: the bot runs without authentication, so it listens on 127.0.0.1 only; sample data never
goes to a real store; and the Playground sends no token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escalation.directory import Directory, Person
    from escalation.packs import PackRegistry

REPO = Path(__file__).resolve().parents[1]
PLAYGROUND_CLI = REPO / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
PLAYGROUND_CONFIG = REPO / ".m365agentsplayground.yml"
SAMPLE_DIRECTORY = REPO / "sample" / "directory.yaml"
LOCALHOST = "127.0.0.1"
BOT_PORT = 3978
PLAYGROUND_PORT = 56150
START_SECONDS = 60.0
IMPORT_SECONDS = 120.0
PRESET_SECONDS = 60.0
STOP_SECONDS = 10.0
POLL_SECONDS = 0.2
INSTALL_HINT = "run ./dev run, which installs them"
# The Playground's team channel that gets the business manager's copies, and who the stored
# channel record says set it.
COPIES_CHANNEL = "Announcements"
PRESET_BY = "scripts/run_local.py"

# Settings the bot and the Playground must not inherit from the shell: an app id or password (the
# Playground sends no token), a real store (sample data stays in the embedded one), telemetry (a
# local run reports to no one), and the Playground's own variables (this script sets what it needs).
_DROPPED = frozenset(
    {
        "MicrosoftAppId",
        "MicrosoftAppPassword",
        "MicrosoftAppType",
        "MicrosoftAppTenantId",
        "ALLOWED_TENANTS",
        "STORAGE_CONNECTION_STRING",
        "STORAGE_TABLE_ENDPOINT",
        "AZURE_CLIENT_ID",
        "ESCALATION_TABLE_PREFIX",
        "STORAGE_CREDENTIAL",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
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


# --- the Playground's people ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlaygroundUser:
    """A person of the Playground's mock tenant, and the Playground that runs as them."""

    account: Mapping[str, Any]  # their entry in .m365agentsplayground.yml: id, name, aadObjectId...
    port: int

    @property
    def name(self) -> str:
        return str(self.account["name"])

    @property
    def teams_ids(self) -> tuple[str, ...]:
        """The ids the bot may know them by: `from.aadObjectId` first, then `from.id`."""
        found = (self.account.get("aadObjectId"), self.account.get("id"))
        return tuple(str(i) for i in found if isinstance(i, str) and i)

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    @property
    def personal_chat_id(self) -> str:
        """Their chat with the bot: its own id in each Playground, fixed across restarts (the
        bot keeps dialog state by conversation id, and its messages to them go there)."""
        return f"personal-chat-{self.slug}"

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}/"

    @property
    def service_url(self) -> str:
        """Where the bot sends to this Playground: the activities it sends carry this URL."""
        return f"http://{LOCALHOST}:{self.port}/_connector"


def load_playground_config(path: Path = PLAYGROUND_CONFIG) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise StartError(f"cannot read the Playground's mock tenant ({path.name}): {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(p, dict) and isinstance(p.get("id"), str) and isinstance(p.get("name"), str)
        for p in [data.get("currentUser"), *(data.get("users") or [])]
    ):
        raise StartError(
            f"{path.name} needs a currentUser and a list of users, each with an id and a name"
        )
    return data


def playground_users(config: Mapping[str, Any], first_port: int) -> list[PlaygroundUser]:
    """Everyone of the mock tenant, its current user first, on consecutive ports."""
    accounts = [config["currentUser"], *config["users"]]
    if first_port + len(accounts) - 1 > 65535:
        raise StartError(
            f"PLAYGROUND_PORT {first_port} leaves no room for {len(accounts)} Playgrounds "
            "(one per person, on consecutive ports): set a lower one"
        )
    users = [PlaygroundUser(account, first_port + n) for n, account in enumerate(accounts)]
    slugs = [u.slug for u in users]
    if len(set(slugs)) != len(slugs) or "" in slugs:
        raise StartError(f"the people of {PLAYGROUND_CONFIG.name} need distinct names")
    return users


def user_config(
    config: Mapping[str, Any], user: PlaygroundUser, users: Sequence[PlaygroundUser]
) -> dict[str, Any]:
    """The mock tenant as `user` sees it: they are the current user, everyone else a user. The
    tenant, bot, group chat, team and channels stay the same in every Playground."""
    return {
        **config,
        "currentUser": dict(user.account),
        "users": [dict(other.account) for other in users if other is not user],
        "personalChat": {"id": user.personal_chat_id},
    }


def write_user_config(work_dir: Path, config: Mapping[str, Any]) -> Path:
    """Written as JSON, which is YAML too: every value stays the string it was."""
    path = work_dir / ".m365agentsplayground.yml"
    header = (
        f"# Written by scripts/run_local.py from {PLAYGROUND_CONFIG.name} at every start: "
        "edit that file instead.\n"
    )
    path.write_text(header + json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def copies_channel(config: Mapping[str, Any]) -> tuple[str, str] | None:
    """(team id, channel id) of the team channel for the business manager's copies."""
    team = config.get("team")
    channels = team.get("channels") if isinstance(team, dict) else None
    if not isinstance(team, dict) or not isinstance(team.get("id"), str) or not channels:
        return None
    named = [c for c in channels if isinstance(c, dict) and c.get("name") == COPIES_CHANNEL]
    chosen = (named or channels)[0]
    if not isinstance(chosen, dict) or not isinstance(chosen.get("id"), str):
        return None
    return str(team["id"]), str(chosen["id"])


def _account(entry: object) -> dict[str, str]:
    """A ChannelAccount as JSON, from a config entry (its id, name and object id)."""
    found = entry if isinstance(entry, dict) else {}
    account = {"id": found.get("id"), "name": found.get("name")}
    if found.get("aadObjectId"):
        account["aadObjectId"] = found["aadObjectId"]
    return {key: str(value) for key, value in account.items() if value}


def personal_reference(config: Mapping[str, Any], user: PlaygroundUser) -> dict[str, Any]:
    """The conversation reference the bot would save when `user` first writes to it: their chat
    in their own Playground (a serialized botbuilder ConversationReference, with the tenant)."""
    tenant = str(config.get("tenantId") or "")
    reference: dict[str, Any] = {
        "user": _account(user.account),
        "bot": _account(config.get("bot")),
        "conversation": {
            "id": user.personal_chat_id,
            "conversationType": "personal",
            **({"tenantId": tenant} if tenant else {}),
        },
        "channelId": "msteams",
        "serviceUrl": user.service_url,
    }
    if tenant:
        reference["tenant"] = tenant
    return reference


def channel_reference(
    config: Mapping[str, Any], channel_id: str, host: PlaygroundUser
) -> dict[str, Any]:
    """A reference to the team channel in `host`'s Playground: the sender reads its service URL,
    and names the channel by id when it starts a thread there."""
    tenant = str(config.get("tenantId") or "")
    return {
        "bot": _account(config.get("bot")),
        "conversation": {
            "id": channel_id,
            "conversationType": "channel",
            "isGroup": True,
            **({"tenantId": tenant} if tenant else {}),
        },
        "channelId": "msteams",
        "serviceUrl": host.service_url,
    }


def _repository_first() -> None:
    """This script's own repository's packages, whatever the Python environment holds."""
    if sys.path[:1] != [str(REPO)]:
        sys.path.insert(0, str(REPO))


def load_packs(env: Mapping[str, str]) -> PackRegistry:
    """The packs the bot will run (ESCALATION_POLICIES and ESCALATION_POLICY_DIR, read as the
    app reads them)."""
    _repository_first()
    from bootstrap.build import load_packs as load
    from bootstrap.settings import pack_choice
    from escalation.packs import PackError

    try:
        return load(*pack_choice(env))
    except PackError as exc:
        raise StartError(f"the policy packs cannot be loaded: {exc}") from None


def describe(person: Person, packs: PackRegistry, directory: Directory) -> str:
    """`Line manager at <agency> (line manager: <name>)`, in the packs' own words."""
    pack = next((p for p in packs if p.agency(person.agency_id) is not None), None)
    agency = pack.agency(person.agency_id) if pack is not None else None
    names = {role.id: role.name for role in pack.roles} if pack is not None else {}
    roles = [name for role_id, name in names.items() if role_id in person.roles]
    roles += sorted(role_id for role_id in person.roles if role_id not in names)
    for board_id, role_id in sorted(person.board_roles):
        board = next((p for p in packs if p.board.id == board_id), None)
        role = board.role(role_id) if board is not None else None
        roles.append(role.name if role is not None else f"{board_id} {role_id}")
    listed = " and ".join([", ".join(roles[:-1]), roles[-1]] if len(roles) > 1 else roles)
    words = f"{listed or 'no role'} at {agency.name if agency else person.agency_id}"
    manager = directory.line_manager_of(person.id)
    return words + (f" (line manager: {manager.name})" if manager is not None else "")


@dataclass(frozen=True)
class Preset:
    """What `preset_store` wrote, for the lines `run` prints."""

    roles: dict[str, str]  # a Playground person's name -> what they are in the sample directory
    boards: list[str]  # the boards whose business-manager channel is the Playground's


async def preset_store(
    env: Mapping[str, str], config: Mapping[str, Any], users: Sequence[PlaygroundUser]
) -> Preset:
    """Write to the embedded store, through the bot's storage API, what a newcomer cannot set up
    from the Playground. Local runs only: a deployed bot learns both from Teams.

    * Each Playground person's chat with the bot, in their own Playground (what the bot saves when
      they first write to it). Without it, a card for someone who has not written yet starts a
      chat on the raiser's service URL, in the raiser's Playground, where they never see it.
    * Every board's business-manager channel: the Playground's Announcements channel, in the
      first Playground. In Teams a board role sends `@bot set channel` there, but no Playground
      person holds a board role (the sample's business managers are not Playground people).

    Both are written again at every start, so they follow PLAYGROUND_PORT.
    """
    _repository_first()
    from bootstrap.build import open_storage
    from bootstrap.settings import storage_settings

    packs = load_packs(env)
    settings = storage_settings(env)
    if settings.engine != "sqlite":  # child_env drops the settings of a real store
        raise StartError("the local run writes its sample data to the embedded store only")
    storage = await open_storage(settings)
    try:
        directory = await storage.directory.snapshot()
        roles: dict[str, str] = {}
        # The first Playground's chat last: it is then where the bot last heard from the mock
        # tenant, where it starts a chat with anyone of the tenant who has none yet.
        for user in reversed(users):
            person = None
            for teams_id in user.teams_ids:
                person = person or await storage.directory.find_by_teams_id(teams_id)
            if person is None:
                roles[user.name] = f"not in {SAMPLE_DIRECTORY.name}: the bot does not know them"
                continue
            await storage.conversations.save_person_reference(
                person.id, personal_reference(config, user)
            )
            roles[user.name] = describe(person, packs, directory)
        boards: list[str] = []
        channel = copies_channel(config)
        if channel is not None and users:
            team_id, channel_id = channel
            reference = channel_reference(config, channel_id, users[0])
            for pack in packs:
                await storage.conversations.set_channel(
                    pack.board.id,
                    reference,
                    set_by=PRESET_BY,
                    team_id=team_id,
                    channel_id=channel_id,
                )
                boards.append(pack.board.short_name)
        return Preset({user.name: roles[user.name] for user in users}, boards)
    finally:
        await storage.close()


def run_preset(
    env: Mapping[str, str], config: Mapping[str, Any], users: Sequence[PlaygroundUser]
) -> Preset:
    async def bounded() -> Preset:
        return await asyncio.wait_for(preset_store(env, config, users), PRESET_SECONDS)

    try:
        return asyncio.run(bounded())
    except TimeoutError:
        raise StartError(
            f"writing the Playground's chats and channel to the store took over "
            f"{PRESET_SECONDS:.0f} s"
        ) from None


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


def playground_command(
    node: str, user: PlaygroundUser, bot_port: int, loopback_module: Path
) -> list[str]:
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
        str(user.port),
        "--service-url",
        user.service_url,
        "--disable-telemetry",
    ]


def start_playground(
    node: str,
    user: PlaygroundUser,
    bot_port: int,
    work_dir: Path,
    config: Mapping[str, Any],
    env: Mapping[str, str],
) -> Child:
    """The Playground runs as `user` in `work_dir`, where it finds its config and writes devTools/
    (its log)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    loopback_module = write_loopback_module(work_dir)
    config_path = write_user_config(work_dir, config)
    log = work_dir / "playground.out"
    playground_env = dict(
        env,
        TEAMSAPPTESTER_BROWSER="none",  # it opens no browser of its own
        M365_AGENTS_PLAYGROUND_CONFIG_PATH=str(config_path),
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            playground_command(node, user, bot_port, loopback_module),
            cwd=work_dir,
            env=playground_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(f"Playground of {user.name}", process, log)


def stop_all(children: Sequence[Child], timeout: float = STOP_SECONDS) -> None:
    """SIGTERM to every child's group at once, then SIGKILL to any still there after `timeout`.

    Signals go to a group only while its leader is not yet reaped (so its number cannot have been
    reused). No child starts processes of its own.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        running = [child for child in children if child.alive()]
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, sig)
        deadline = time.monotonic() + timeout
        for child in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))


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


def wait_for_playground(user: PlaygroundUser, child: Child, stopper: Stopper) -> bool:
    """Wait until the Playground answers on its own port; False if a stop was asked for."""
    log = child.log
    assert log is not None
    if not wait_until_ready(
        child,
        lambda: playground_listening_port(log) is not None and http_status(user.url) == 200,
        stopper,
    ):
        return False
    listening = playground_listening_port(log)
    if listening != user.port:
        raise StartError(
            f"the {child.name} took port {listening}, not {user.port} (was it taken "
            "meanwhile?): stop what is using it, or set PLAYGROUND_PORT"
        )
    return True


def welcome(users: Sequence[PlaygroundUser], preset: Preset, data_dir: Path) -> str:
    first = users[0]
    width = max(len(user.url) for user in users)
    lines = [
        f"\nOpen the Playground in a browser: {first.url} (there you are {first.name}).",
        "Each sample person has a Playground of their own, all talking to this one bot: to act "
        "as someone, open theirs in another tab.",
        *(
            f"  {user.url:<{width}}  {user.name}: {preset.roles.get(user.name, '')}"
            for user in users
        ),
    ]
    if preset.boards:
        lines.append(
            f"The business manager's copies ({', '.join(preset.boards)}) arrive in the "
            f"{COPIES_CHANNEL} channel of {first.name}'s Playground."
        )
    lines += [
        "A Playground shows only what arrives while its page is open, and forgets it when the "
        "page is reloaded: open a person's tab before the case reaches them, or type 'cases' "
        "and 'case <its id>' there.",
        "They and the bot listen on this machine only. SAMPLE DATA: the people are invented "
        f"({SAMPLE_DIRECTORY.relative_to(REPO)}). Cases are kept in {data_dir}.",
        "Press Ctrl-C to stop them all.",
    ]
    return "\n".join(lines)


def run(environ: Mapping[str, str], stopper: Stopper) -> int:
    bot_port = port_from(environ, "PORT", BOT_PORT)
    playground_port = port_from(environ, "PLAYGROUND_PORT", PLAYGROUND_PORT)
    node = check_prerequisites()
    config = load_playground_config()
    users = playground_users(config, playground_port)
    env = child_env(environ)
    data_dir = Path(env.get("ESCALATION_DATA_DIR") or REPO / "data").resolve()
    env["ESCALATION_DATA_DIR"] = str(data_dir)
    ensure_port_free(bot_port, "the bot", "PORT")
    for user in users:
        if user.port == bot_port:
            raise StartError(
                f"the bot (PORT) and {user.name}'s Playground would both use port {bot_port}: "
                f"the Playgrounds take {users[0].port} to {users[-1].port} (PLAYGROUND_PORT on)"
            )
        ensure_port_free(user.port, f"{user.name}'s Playground", "PLAYGROUND_PORT")

    try:
        print(import_sample_directory(env), flush=True)
    except StartError:
        if stopper.requested:  # Ctrl-C reaches the import too, which is in this process group
            return 0
        raise
    if stopper.requested:
        return 0
    preset = run_preset(env, config, users)
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

        playgrounds = []
        for user in users:
            work_dir = data_dir / "playground" / user.slug
            child = start_playground(
                node, user, bot_port, work_dir, user_config(config, user, users), env
            )
            children.append(child)
            playgrounds.append((user, child))
        for user, child in playgrounds:
            if not wait_for_playground(user, child, stopper):
                return 0
            print(f"playground: {user.url} as {user.name} (pid {child.pid})", flush=True)
        print(welcome(users, preset, data_dir), flush=True)
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
        stop_all(children)
        if stopper.requested:
            print(f"\n{stopper.requested}: stopped the Playgrounds and the bot.", flush=True)


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
