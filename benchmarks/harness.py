"""What the HTTP benchmarks share: servers in processes of their own, a stand-in Bot Connector,
the benchmark's directory and cases, and a client that talks to the bot as Teams would.

Every server runs in its own process (benchmarks.servers, or the Agents SDK's echo agent in
.venv-agents), so the one measured has a core to itself while this process drives it and plays
the Bot Connector on the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from dialogs.raise_dialog import SAVING_AS
from escalation.commands import OtherParty, RaiseDisagreement
from escalation.packs import PackRegistry, default_policy_dir
from escalation.service import EscalationService, random_case_id
from storage.bot_state import STATE_PREFIX, escape_key
from storage.stores import Storage
from storage.tables import ROW_KEY, Entity, join_text, split_text
from testkit.clocks import TEST_DAY_START
from testkit.connector import Connector
from testkit.fakes import RecordingNotifier
from testkit.people import agencies_for
from testkit.round_trips import ASK_HEADER, HEADER, parse_header
from testkit.walk import raise_answers

REPO = Path(__file__).resolve().parents[1]
AGENTS_PYTHON = REPO / ".venv-agents" / "bin" / "python"
TENANT = "00000000-0000-4000-8000-000000000001"  # the benchmark users' Microsoft Entra tenant
START_SECONDS = 60.0
TODAY: date = TEST_DAY_START.date()  # the day the bot's clock starts on (servers.py)
SEEDED_AT = TEST_DAY_START - timedelta(hours=1)  # cases made before the bot starts
# The case id a raise dialog's summary chose, in its stored state: its board's prefix and the id.
_SAVING_AS = re.compile(rf'"{SAVING_AS}":"([A-Z]+)-\d{{4}}-[A-Z0-9]+"')


# -- servers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """A server process started by `server`: where it listens, and its process id."""

    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """The CPU time the process has used so far, all its threads, user and system (from
        /proc: None where there is none). Unlike turns per second, a server's CPU per turn
        hardly moves with what else the machine runs."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime and stime, the 14th and 15th fields, in clock ticks.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def server(
    command: Sequence[str], *, env: dict[str, str] | None = None, repo: Path = REPO
) -> AsyncIterator[Served]:
    """Start a server process that prints {"port": N}, from the checkout at `repo`; yields it;
    stops it after."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=repo,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(repo)},
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_SECONDS)
        if not line:
            raise RuntimeError(f"{command[:3]} did not start")
        port = json.loads(line)["port"]
        yield Served(f"http://127.0.0.1:{port}", process.pid)
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the server stops when its standard input closes
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


def our_server(kind: str, *extra: str) -> Sequence[str]:
    return [sys.executable, "-m", "benchmarks.servers", kind, *extra]


def agents_server() -> Sequence[str] | None:
    """The Agents SDK's echo agent, when .venv-agents has the SDK (see benchmarks/README.md)."""
    if not AGENTS_PYTHON.exists():
        return None
    return [str(AGENTS_PYTHON), str(REPO / "benchmarks" / "agents_echo.py")]


AGENTS_ENV = {"CONNECTIONS__SERVICE_CONNECTION__SETTINGS__ANONYMOUS_ALLOWED": "true"}


# -- the directory and the cases ----------------------------------------------------------------


def user(i: int) -> str:
    return f"user{i}"


def manager(i: int) -> str:
    return f"lena{i}"


def other(i: int) -> str:
    return f"noah{i}"


def other_name(i: int) -> str:
    return f"Noah Okafor {i:04d}"  # fixed width: no user's name starts another's


def people(users: int) -> list[dict[str, Any]]:
    """Practitioners user0… at Redbridge adult social care, each with a line manager of their own
    and with a professional of their own at NELFT to disagree with, who has a manager too.

    Each user's own people, because the bot paces its messages to one person (Teams throttles
    past 7 a second in a conversation): had every user's case named the same Noah, the cards of
    a benchmark's thousand turns would queue for him, and the outbox would still be sending
    them while the next kind of turn was timed."""

    def record(pid: str, name: str, agency: str, role: str, manager: str | None) -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": pid,
            "name": name,
            "agency": agency,
            "roles": [role],
            "teams_user_id": f"29:{pid}",
            "aad_object_id": f"aad-{pid}",
        }
        if manager:
            found["line_manager"] = manager
        return found

    return [
        *(
            record(manager(i), f"Lena Price {i:04d}", "redbridge-asc", "line_manager", None)
            for i in range(users)
        ),
        *(
            record(f"nadia{i}", f"Nadia Khan {i:04d}", "nelft", "line_manager", None)
            for i in range(users)
        ),
        *(
            record(user(i), f"User {i}", "redbridge-asc", "practitioner", manager(i))
            for i in range(users)
        ),
        *(
            record(other(i), other_name(i), "nelft", "practitioner", f"nadia{i}")
            for i in range(users)
        ),
    ]


async def seed_directory(storage: Storage, users: int) -> None:
    records = people(users)
    await storage.directory.import_records(records, agencies_for(records, TENANT))


class NewCaseIds:
    """Ids for the benchmark's cases, drawn at random as the service draws them, never one
    already given: a run of thousands of turns drew an id twice, the bot rightly answered the
    second raise "please confirm again", and the run stopped."""

    def __init__(self) -> None:
        self._given: set[str] = set()

    def __call__(self, prefix: str, now: datetime) -> str:
        found = random_case_id(prefix, now)
        while found in self._given:
            found = random_case_id(prefix, now)
        self._given.add(found)
        return found


async def seed_cases(
    storage: Storage, raisers: Sequence[int], ids: NewCaseIds
) -> list[tuple[str, int]]:
    """One Redbridge case raised by each of the users numbered in `raisers` with their own Noah,
    through the service, before the bot starts: (case id, version) each. Their first messages
    are taken off the outbox's pending list, so that the dispatcher's backlog does not run
    during the timed turns."""
    service = EscalationService(
        packs=PackRegistry.from_directory(default_policy_dir()),
        repository=storage.cases,
        directory=storage.directory,
        notifier=RecordingNotifier(),
        now=lambda: SEEDED_AT,
        new_case_id=ids,
    )
    made = []
    for raiser in raisers:
        outcome = await service.execute(
            RaiseDisagreement(
                actor_id=user(raiser),
                board_id="redbridge",
                other_party=OtherParty(agency_id="nelft", person_id=other(raiser)),
                adult_reference="ASC-104233",
                category="response-to-concerns",
                disagreement_date=TODAY,
                issue="Community nursing declined a joint visit after two falls.",
                risk_to_adult="Further falls; lives alone.",
                nature_of_disagreement="Whether a joint visit is needed.",
                aim="A joint visit within a week.",
                evidence="GP letter of 27 November.",
            )
        )
        made.append((outcome.case.id, outcome.case.version))
    pending = await storage.store.query_partition(storage.tables.outbox_pending, "pending")
    for row in pending:
        await storage.store.delete(
            storage.tables.outbox_pending, "pending", str(row.entity[ROW_KEY])
        )
    return made


def raise_answers_of(i: int) -> tuple[str, ...]:
    """What user i types up to the summary, naming their own Noah; "yes" then saves the case."""
    answers = raise_answers()
    named = answers.index("Noah Okafor")
    return (*answers[:named], other_name(i), *answers[named + 1 :])


def state_key(who: str) -> str:
    """botbuilder's ConversationState key of the user's personal chat (conversation a:<who>)."""
    return escape_key(f"msteams/conversations/a:{who}")


async def saved_states(storage: Storage, users: Sequence[str]) -> dict[str, Entity]:
    found = {}
    for who in users:
        row = await storage.store.get(storage.tables.bot_state, state_key(who), "state")
        assert row is not None, who
        found[who] = row.entity
    return found


async def restore_states(storage: Storage, states: dict[str, Entity], ids: NewCaseIds) -> None:
    """Put each dialog back at its last question, keeping the case id its summary chose
    for a new one (dialogs.raise_dialog.SAVING_AS): each round raises new cases, where the same
    id again would be answered "already saved"."""

    def fresh(entity: Entity) -> Entity:
        text = join_text(STATE_PREFIX, entity)
        text, found = _SAVING_AS.subn(lambda m: f'"{SAVING_AS}":"{ids(m[1], SEEDED_AT)}"', text)
        if found != 1:
            raise RuntimeError(f"a raise dialog's state holds {found} case ids, not one")
        kept = {k: v for k, v in entity.items() if not k.startswith(STATE_PREFIX)}
        return {**kept, **split_text(STATE_PREFIX, text)}

    await asyncio.gather(
        *(storage.store.upsert(storage.tables.bot_state, fresh(e)) for e in states.values())
    )


# -- talking to the bot -------------------------------------------------------------------------


def activity(service_url: str, who: str, n: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "message",
        "id": f"m{n}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:{who}", "aadObjectId": f"aad-{who}", "name": who},
        "recipient": {"id": "28:bot"},
        "locale": "en-GB",
        "conversation": {"id": f"a:{who}", "conversationType": "personal", "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}},
    }
    body.update(fields)
    return body


def card_action(
    service_url: str, who: str, n: int, verb: str, data: dict[str, Any]
) -> dict[str, Any]:
    return activity(
        service_url,
        who,
        n,
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": verb, "data": data}},
    )


def record_data(case_id: str, version: int) -> dict[str, Any]:
    """A discussion recorded on the case's card (continuing: the case stays at stage 1)."""
    return {
        "case_id": case_id,
        "version": version,
        "verb": "record",
        "record.held_date": TODAY.isoformat(),
        "record.held_time": "09:00",
        "record.method": "phone",
        "record.participants": "User, Noah Okafor",
        "record.summary": "Spoke about the falls",
        "record.points_of_difference": "Timing",
        "record.outcome": "continuing",
    }


@dataclass
class Turn:
    seconds: float
    sequential: int  # storage round trips one after another (tests.round_trips)
    calls: int


@dataclass
class Client:
    url: str
    connector: Connector  # the stand-in Bot Connector the replies go to
    http: aiohttp.ClientSession
    ids: Any = field(default_factory=lambda: iter(range(10**9)))
    # One turn in this many has its storage round trips counted (tests.round_trips): enough
    # to report them, few enough that counting does not weigh on the turns being timed.
    count_every: int = 20
    posted: int = 0

    @property
    def service_url(self) -> str:
        return self.connector.url

    async def post(
        self, body: dict[str, Any], expect: str | None = None, forbid: str | None = None
    ) -> Turn:
        before = len(self.connector.sent)
        self.posted += 1
        headers = {ASK_HEADER: "1"} if self.posted % self.count_every == 1 else None
        started = time.perf_counter()
        async with self.http.post(self.url + "/api/messages", json=body, headers=headers) as r:
            text = await r.text()
            if r.status not in (200, 201, 202):
                raise RuntimeError(f"{r.status}: {text[:300]}")
            seconds = time.perf_counter() - started
            sequential, calls = parse_header(r.headers.get(HEADER))
        conversation = body["conversation"]["id"]
        text += json.dumps(
            [s.body for s in self.connector.sent[before:] if s.conversation_id == conversation]
        )
        if expect is not None and expect not in text:
            raise RuntimeError(f"expected {expect!r} in {text[:300]}")
        if forbid is not None and forbid in text:
            raise RuntimeError(f"refused: {text[:300]}")
        return Turn(seconds, sequential, calls)

    async def say(self, who: str, text: str) -> Turn:
        return await self.post(activity(self.service_url, who, next(self.ids), text=text))


# -- load ---------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    turns: list[Turn]
    elapsed: float
    cpu: float | None = None  # the server's CPU seconds for these turns and what they sent

    @property
    def cpu_per_turn(self) -> float | None:
        """The server's CPU milliseconds a turn."""
        return None if self.cpu is None or not self.turns else self.cpu / len(self.turns) * 1000

    @property
    def per_second(self) -> float:
        return len(self.turns) / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(t.seconds for t in self.turns)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000

    def line(self) -> str:
        counted = [t for t in self.turns if t.calls]  # the sampled turns (Client.count_every)
        seq = [t.sequential for t in counted]
        trips = (
            f"   storage: {statistics.mean(seq):.1f} sequential (max {max(seq)}), "
            f"{statistics.mean(t.calls for t in counted):.1f} calls, {len(counted)} counted"
            if counted
            else ""
        )
        cpu = self.cpu_per_turn
        return (
            f"{self.name:<14} {self.per_second:8.1f} turns/s   p50 {self.percentile(0.5):7.2f} ms"
            f"   p99 {self.percentile(0.99):7.2f} ms"
            + ("" if cpu is None else f"   cpu {cpu:5.2f} ms/turn")
            + f"   ({len(self.turns)} turns){trips}"
        )


async def closed_loop(
    name: str,
    users: int,
    requests: int,
    seconds: float,
    turn: Callable[[int, int], Awaitable[Turn]],
    *,
    warm: int = 0,
    when_timed: Callable[[], None] | None = None,
) -> Result:
    """`users` workers, each sending its next turn when the last is answered, until `requests`
    turns are sent or `seconds` have passed; turn(worker, n) makes one.

    The first `warm` turns warm the server up and are not counted. They run in the same loop as
    the timed ones, so that the timed turns start with the workers already spread out as they
    stay: started apart, every worker would send its first timed turn at the same moment, and
    the second round of turns would meet the first round's messages all at once (that start
    gave a card action's run several of its slowest turns). The clock, and `when_timed`, start
    as the first timed turn is sent; the warm-up turns still in flight then end inside the
    timed window without being counted, so turns a second read a little low, alike for every
    server."""
    deadline = time.monotonic() + seconds
    counter = iter(range(warm + requests))
    turns: list[Turn] = []
    started = time.perf_counter()

    def start_timing() -> None:
        nonlocal deadline, started
        deadline = time.monotonic() + seconds
        if when_timed is not None:
            when_timed()
        started = time.perf_counter()

    async def worker(i: int) -> None:
        for n in counter:
            if n == warm:
                start_timing()
            if time.monotonic() > deadline:
                return
            done = await turn(i, n)
            if n >= warm:
                turns.append(done)

    with collector_held():
        await asyncio.gather(*(worker(i) for i in range(users)))
        elapsed = time.perf_counter() - started
    return Result(name, turns, elapsed)


@contextlib.contextmanager
def collector_held() -> Iterator[None]:
    """This process's garbage collector held off while it times turns, and run once after.
    This process sends the turns and plays the Bot Connector that every reply goes to: a full
    collection of what it has recorded (80 ms, measured) holds up the replies of every turn in
    flight, and showed as a tail of the server's latency (a dialog step's p99, 110 ms for a
    p50 of 33, in one run of two) that was the load generator's pause, not the server's."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()
