"""Storage round trips per kind of turn, over HTTP, on the embedded store: a whole Redbridge case
with every table call of every turn counted (tests.round_trips says how, and what "sequential"
means). Each kind of turn waits on storage at most three times, one after another; no turn
reads the same row twice; a conversation reference is written only when it changed; and no turn
reads the directory, which is kept fresh in the background. Counts, not times: the times are
benchmarks/ business."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

import aiohttp
import pytest

from app import create_app
from bot.settings import AppSettings
from testkit.chat import settings_with
from testkit.clocks import RunningClock
from testkit.connector import connector, serve
from testkit.round_trips import CountingStore, Traces, TurnTrace, count_turns
from testkit.walk import PEOPLE, Walk, card_actions_to_close, raise_case

CEILING = 3  # sequential storage round trips on a turn's path
T = TypeVar("T")


class Counted(Walk):
    traces: Traces
    labels: list[str]

    async def turn(self, label: str, step: Callable[[], Awaitable[T]]) -> T:
        before = len(self.traces)
        result = await step()
        self.labels += [label] * (len(self.traces) - before)
        return result

    def by_label(self) -> dict[str, list[TurnTrace]]:
        found: dict[str, list[TurnTrace]] = {}
        for label, (_, trace) in zip(self.labels, self.traces, strict=True):
            found.setdefault(label, []).append(trace)
        return found


@asynccontextmanager
async def counted(settings: AppSettings) -> AsyncIterator[Counted]:
    traces: Traces = []
    clock = RunningClock()
    app = count_turns(create_app(settings, clock=clock, wrap_store=CountingStore), traces)
    async with connector() as stand_in, serve(app) as url, aiohttp.ClientSession() as http:
        walk = Counted(url, stand_in, http, itertools.count(1), settings.storage, clock)
        walk.traces, walk.labels = traces, []
        yield walk


def describe(trace: TurnTrace) -> str:
    return ", ".join(f"{c.op} {c.table}" for c in sorted(trace.calls, key=lambda c: c.started))


@pytest.fixture
async def walked(tmp_path: Path) -> Counted:
    settings = await settings_with(tmp_path, PEOPLE)
    async with counted(settings) as w:
        for p in PEOPLE:
            await w.turn("first message", partial(w.say, p["id"], "hello"))
        for _ in range(2):
            await w.turn("help", lambda: w.say("amara", "help"))
            await w.turn("help", lambda: w.say("noah", "help"))
        await w.turn("set channel", lambda: w.in_channel("bm", "set channel"))

        # The raise: every answer is a dialog step; the last ("yes") saves the case.
        said: list[str] = []

        async def say(who: str, text: str) -> list[str]:
            said.append(text)
            label = "raise" if text == "yes" else "dialog step"
            return await w.turn(label, lambda: w.say(who, text))

        case_id = await raise_case(w, say=say)
        assert said[-1] == "yes"
        # The raiser's next message finds the note of the raise it saved, and drops it.
        await w.turn("after a raise", lambda: w.say("amara", "help"))
        await w.turn("help", lambda: w.say("amara", "help"))

        def act(who: str, verb: str, **fields: str) -> Awaitable[str]:
            return w.turn("card action", lambda: w.act(who, verb, case_id, **fields))

        for who, verb, fields in card_actions_to_close(w.clock.day()):
            await act(who, verb, **fields)
        await w.turn("case card", lambda: w.say("amara", f"case {case_id}"))
        await w.turn("cases", lambda: w.say("noah", "cases"))
        # A card acted on twice: the second is refused, and says so from the case as read.
        status, _ = await w.turn(
            "refused card action",
            lambda: w.invoke(
                "chair",
                "close",
                {"case_id": case_id, "version": 1, "verb": "close"},
            ),
        )
        assert status == 200
        return w


KINDS = (
    "first message",
    "help",
    "set channel",
    "dialog step",
    "raise",
    "after a raise",
    "card action",
    "case card",
    "cases",
    "refused card action",
)


async def test_round_trips_per_kind_of_turn(walked: Counted) -> None:
    by = walked.by_label()
    assert set(by) == set(KINDS) and len(walked.labels) == len(walked.traces)
    problems = []
    for kind in KINDS:
        for trace in by[kind]:
            if trace.sequential() > CEILING:
                problems.append(f"{kind}: {trace.sequential()} sequential: {describe(trace)}")
            if trace.reads_twice():
                problems.append(f"{kind}: read twice {trace.reads_twice()}: {describe(trace)}")
            # Identity and the core read the directory's snapshot, refreshed in the background.
            if any(c.table == "Directory" for c in trace.calls):
                problems.append(f"{kind}: read the directory: {describe(trace)}")
    assert problems == [], "\n".join(problems)

    # The floors. A chat step: the state read, and at most one write (the state).
    for trace in by["help"] + by["dialog step"]:
        assert [c.table for c in trace.calls if c.op == "get"] == ["botstate"], describe(trace)
        assert len(trace.calls) <= 2 and trace.sequential() <= 2, describe(trace)
    # A help turn (no raise to settle): the state read, and nothing else.
    for trace in by["help"]:
        assert trace.sequential() == 1 and len(trace.calls) == 1, describe(trace)
    # A card action: one read of the case's partition and one transaction, with the index rows
    # the change adds and the access log's row written together before it.
    for trace in by["card action"]:
        loads = [c for c in trace.calls if c.table == "Cases" and c.op == "query_partition"]
        saves = [c for c in trace.calls if c.table == "Cases" and c.op == "transact"]
        assert (len(loads), len(saves)) == (1, 1), describe(trace)
    # The raise: its dialog's state is written once, beside the case's save.
    [raised] = by["raise"]
    assert [c.op for c in raised.calls if c.table == "botstate"] == ["get", "update"]
    # The next message: the raise turn ended on this instance, having said the case's id, so
    # the case is not read, and the note of the raise waits for a write the state gets anyway.
    [after] = by["after a raise"]
    assert [(c.op, c.table) for c in after.calls] == [("get", "botstate")], describe(after)

    # A conversation reference is written only when it changed: on a person's first message
    # (theirs, and their tenant's once), and after that only the channel's, by `set channel`.
    for trace in by["first message"]:
        assert len(trace.writes("Conversations")) <= 2, describe(trace)
    later = [
        t
        for kind, ts in by.items()
        if kind != "first message"
        for t in ts
        if t.writes("Conversations")
    ]
    assert len(later) == len(by["set channel"]) == 1
    assert [c.key for c in later[0].writes("Conversations")] == ["channel|redbridge"]
