"""A raise whose save the process never finished, over HTTP as Teams would call the bot.

The "yes" that saves a case writes the conversation's state (the dialog ended, and a note of
the raise in flight) beside the case's own save. Here the process stops in between: its store
stalls in the case's transaction, then fails every call, as a dead process makes none; a new
app then starts on the same data. Whether the case's transaction landed or not, the person's
answers are never lost and one raise never opens two cases.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import aiohttp
import pytest

from app import create_app
from bootstrap.build import open_storage
from bot.settings import AppSettings
from bot.teams_bot import HELP
from escalation.commands import OtherParty
from escalation.packs import PackRegistry, default_policy_dir
from escalation.service import EscalationService
from storage.bot_state import ROW, escape_key
from storage.cases import TableNames
from storage.purge import DEFAULT_IDLE_DAYS, purge
from storage.tables import StorageError, TableStore
from testkit.builders import redbridge_raise
from testkit.chat import settings_with
from testkit.clocks import RunningClock
from testkit.connector import connector, serve
from testkit.fakes import RecordingNotifier
from testkit.round_trips import WrappedStore
from testkit.walk import PEOPLE, Walk, raise_answers

T = TypeVar("T")
TABLES = TableNames()
# Everything the raise asks, up to its summary; "yes" then saves it.
ANSWERS = raise_answers()
NOT_SAVED = "Your disagreement was not saved: I stopped while saving it. Your answers are kept"
CONFIRM = "Raise this disagreement now?"


class Dying(WrappedStore):
    """The store of a process that stops during the next case transaction: before it reaches
    storage (`lands=False`) or once it has (`lands=True`), and in either case only once the
    conversation's state has been written beside it. After that every call fails."""

    def __init__(self, inner: TableStore) -> None:
        super().__init__(inner)
        self.armed: bool | None = None  # None: not yet; else whether the transaction lands
        self.state_written = asyncio.Event()
        self.dead = asyncio.Event()
        self.case_id = ""  # the case whose save it stopped in

    async def around(self, op: str, table: str, key: str, call: Callable[[], Awaitable[T]]) -> T:
        if self.dead.is_set():
            raise StorageError("the process has stopped")
        if self.armed is not None and op == "transact" and table == TABLES.cases:
            self.case_id = key
            if self.armed:
                await call()
            await self.state_written.wait()
            self.dead.set()
            raise StorageError("the process has stopped")
        result = await call()
        if self.armed is not None and table == TABLES.bot_state and op in ("update", "upsert"):
            self.state_written.set()
        return result


@asynccontextmanager
async def app_on(
    settings: AppSettings, clock: RunningClock, start: int, wrap: Callable[[TableStore], TableStore]
) -> AsyncIterator[Walk]:
    async with (
        connector() as stand_in,
        serve(create_app(settings, clock=clock, wrap_store=wrap)) as url,
        aiohttp.ClientSession() as http,
    ):
        yield Walk(url, stand_in, http, itertools.count(start), settings.storage, clock)


async def stopped_while_saving(
    settings: AppSettings, clock: RunningClock, *, lands: bool
) -> list[Dying]:
    """Amara answers everything and says "yes"; the app stops during the case's save."""
    stores: list[Dying] = []

    def wrap(inner: TableStore) -> TableStore:
        stores.append(Dying(inner))
        return stores[-1]

    async with app_on(settings, clock, 1, wrap) as w:
        for text in ANSWERS:
            await w.say("amara", text)
        [store] = stores
        store.armed = lands
        async with w.http.post(
            w.url + "/api/messages", json=w.activity("amara", text="yes")
        ) as response:
            await response.read()  # the turn failed: the process is gone
        assert store.dead.is_set() and store.state_written.is_set()
        # What the person saw of it: nothing says the case is open.
        assert not any("is open" in t for t in w.connector.texts())
    return stores


async def opened_cases(w: Walk) -> list[str]:
    """The ids of the cases that exist (an index row can point at a case never saved)."""
    assert w.storage_settings is not None
    storage = await open_storage(w.storage_settings)
    try:
        ids = await storage.cases.case_ids("redbridge")
        return [i for i in ids if await storage.cases.load(i) is not None]
    finally:
        await storage.close()


def told(replies: list[str]) -> list[str]:
    """The replies with text: the case cards the outbox sends meanwhile have none."""
    return [r for r in replies if r]


def same(store: TableStore) -> TableStore:
    return store


async def test_a_raise_the_process_stopped_saving_is_offered_again_and_opens_once(
    tmp_path: Path,
) -> None:
    settings = await settings_with(tmp_path, PEOPLE)
    clock = RunningClock()
    await stopped_while_saving(settings, clock, lands=False)

    # A new app on the same data: the person's next message, whatever it says, finds the
    # answers kept and the question waiting.
    async with app_on(settings, clock, 100, same) as w:
        assert await opened_cases(w) == []
        replies = told(await w.say("amara", "hello?"))
        assert replies[0].startswith(NOT_SAVED), replies
        summary = "\n".join(replies[1:])
        for answer in ("ASC-104233", "Falls at home; lives alone", "GP letter, 27 November"):
            assert answer in summary
        assert CONFIRM in replies[-1]

        replies = await w.say("amara", "yes")
        [opened] = [r for r in replies if "is open" in r]
        case_id = opened.split()[1]
        assert await opened_cases(w) == [case_id]
        case = await w.case(case_id)
        assert (case.raised_by, case.adult_reference) == ("amara", "ASC-104233")
        assert case.details["risk_to_adult"] == "Falls at home; lives alone"
        assert case.details["evidence"] == "GP letter, 27 November"

        # That raise is settled: the next message is answered as any other, and "yes" again
        # is no longer an answer to anything.
        assert told(await w.say("amara", "help")) == [HELP]
        await w.say("amara", "yes")
        assert await opened_cases(w) == [case_id]


async def test_a_raise_tried_again_opens_as_the_case_it_was_being_saved_as(
    tmp_path: Path,
) -> None:
    """If the first save lands after all while the person is asked again (a slow instance, not
    a dead one), their second "yes" finds that case rather than opening another."""
    settings = await settings_with(tmp_path, PEOPLE)
    clock = RunningClock()
    [store] = await stopped_while_saving(settings, clock, lands=False)
    async with app_on(settings, clock, 100, same) as w:
        replies = told(await w.say("amara", "hello?"))
        assert CONFIRM in replies[-1]
        # Meanwhile the first save lands: a case by the id it was being saved as.
        storage = await open_storage(settings.storage)
        try:
            service = EscalationService(
                packs=PackRegistry.from_directory(default_policy_dir()),
                repository=storage.cases,
                directory=storage.directory,
                notifier=RecordingNotifier(),
                now=clock,
            )
            raised = redbridge_raise(disagreement_date=clock().date())
            await service.execute(raised, case_id=store.case_id)
        finally:
            await storage.close()
        # Amara answers the summary she was given: told that case, and nothing more opens.
        replies = told(await w.say("amara", "yes"))
        assert replies == [f"Your disagreement was already saved: case {store.case_id} is open."]
        assert await opened_cases(w) == [store.case_id]
        assert told(await w.say("amara", "help")) == [HELP]


@pytest.mark.parametrize("first", ["help", "raise"])
async def test_a_raise_that_was_saved_when_the_reply_was_lost_is_not_asked_again(
    tmp_path: Path, first: str
) -> None:
    settings = await settings_with(tmp_path, PEOPLE)
    clock = RunningClock()
    await stopped_while_saving(settings, clock, lands=True)
    async with app_on(settings, clock, 100, same) as w:
        [case_id] = await opened_cases(w)
        replies = told(await w.say("amara", first))
        if first == "help":
            # Nothing to tell: the note of the raise goes silently...
            assert replies == [HELP]
            # ...and a new raise starts as any other.
            replies = await w.say("amara", "raise")
            assert any("Which agency is the other professional in?" in r for r in replies), replies
        else:
            # "raise" again: told the case that exists, not asked everything again.
            assert replies == [
                f"Your last disagreement was saved: case {case_id} is open. To raise another, "
                "type 'raise' again."
            ]
            assert told(await w.say("amara", "help")) == [HELP]
        assert await opened_cases(w) == [case_id]


async def test_a_note_older_than_dialog_state_is_kept_goes_with_a_plain_message(
    tmp_path: Path,
) -> None:
    settings = await settings_with(tmp_path, PEOPLE)
    clock = RunningClock()
    await stopped_while_saving(settings, clock, lands=False)
    later = RunningClock(clock() + timedelta(days=DEFAULT_IDLE_DAYS, hours=1))
    async with app_on(settings, later, 100, same) as w:
        replies = told(await w.say("amara", "help"))
        assert replies == [
            "A disagreement you were raising a while ago was not saved: I stopped while saving "
            "it, and your answers are no longer kept. Type 'raise' to start again.",
            HELP,
        ]
        assert told(await w.say("amara", "yes")) == [HELP]
        assert await opened_cases(w) == []


async def test_the_note_of_a_raise_goes_with_idle_dialog_state(tmp_path: Path) -> None:
    """The note holds what the person typed: the purge of idle dialog state removes it."""
    settings = await settings_with(tmp_path, PEOPLE)
    clock = RunningClock()
    await stopped_while_saving(settings, clock, lands=False)
    storage = await open_storage(settings.storage)
    try:
        key = escape_key("msteams/conversations/a:chat-amara")
        assert await storage.store.get(TABLES.bot_state, key, ROW) is not None
        packs = PackRegistry.from_directory(default_policy_dir())
        report = await purge(
            storage, packs, now=clock() + timedelta(days=DEFAULT_IDLE_DAYS, hours=1)
        )
        assert report.dialog_state.removed >= 1
        assert await storage.store.get(TABLES.bot_state, key, ROW) is None
    finally:
        await storage.close()


async def test_a_note_for_a_board_no_longer_run_here_goes_with_a_plain_message(
    tmp_path: Path,
) -> None:
    settings = await settings_with(tmp_path, PEOPLE)
    clock = RunningClock()
    await stopped_while_saving(settings, clock, lands=False)
    without_redbridge = dataclasses.replace(settings, policies=("harrow",))
    async with app_on(without_redbridge, clock, 100, same) as w:
        replies = told(await w.say("amara", "help"))
        assert replies == [
            "A disagreement you were raising was not saved: I stopped while saving it, and its "
            "board is no longer run here, so your answers are not kept.",
            HELP,
        ]
        assert told(await w.say("amara", "help")) == [HELP]
        assert await opened_cases(w) == []


async def test_yes_said_twice_at_once_opens_one_case(tmp_path: Path) -> None:
    settings = await settings_with(tmp_path, PEOPLE)
    clock = RunningClock()
    async with app_on(settings, clock, 1, same) as w:
        for text in ANSWERS:
            await w.say("amara", text)
        first, second = await asyncio.gather(w.say("amara", "yes"), w.say("amara", "yes"))
        [case_id] = await opened_cases(w)
        # One turn opens it; the other, if it got as far as saving, is told that it is open.
        said = first + second
        assert f"Case {case_id} is open." in "\n".join(said)
        assert all(case_id in r for r in said if "open" in r), said


async def test_a_case_id_already_taken_by_another_raise_is_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await settings_with(tmp_path, PEOPLE)
    clock = RunningClock()
    letters = itertools.chain("A" * 6, itertools.repeat("B"))
    monkeypatch.setattr("escalation.service.secrets.choice", lambda _: next(letters))
    taken = f"RB-{clock():%Y}-AAAAAA"
    storage = await open_storage(settings.storage)
    try:
        service = EscalationService(
            packs=PackRegistry.from_directory(default_policy_dir()),
            repository=storage.cases,
            directory=storage.directory,
            notifier=RecordingNotifier(),
            now=clock,
        )
        other = OtherParty(agency_id="redbridge-asc", person_id="amara")
        noahs = redbridge_raise(
            actor_id="noah", other_party=other, disagreement_date=clock().date()
        )
        await service.execute(noahs, case_id=taken)
    finally:
        await storage.close()
    async with app_on(settings, clock, 1, same) as w:
        for text in ANSWERS:
            await w.say("amara", text)
        replies = told(await w.say("amara", "yes"))  # as the id drawn at the summary: taken
        assert replies[0] == "This is not saved yet: please confirm again."
        assert CONFIRM in replies[-1]
        replies = await w.say("amara", "yes")
        [opened] = [r for r in replies if "is open" in r]
        case_id = opened.split()[1]
        assert case_id == f"RB-{clock():%Y}-BBBBBB"
        assert sorted(await opened_cases(w)) == sorted([taken, case_id])
        assert (await w.case(taken)).raised_by == "noah"
        assert (await w.case(case_id)).raised_by == "amara"
