"""What a turn makes is freed when the turn ends, and what the outbox sends when it is sent: by
reference counting, not left in reference cycles for the garbage collector. A turn's context
holds its activity and its answer (a case card: hundreds of dicts), and a cycle through it kept
all of that alive until a collection walked it, making every collection longer. Message turns
run dialogs: botbuilder's DialogContext and its memory manager held each other (about 45
objects a turn) until bot.dialog_memory deferred the manager."""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import aiohttp
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.dialogs import DialogContext
from botbuilder.dialogs.memory import DialogStateManager
from msrest.serialization import Deserializer, Model, Serializer

from app import create_app
from bot.dialog_memory import DeferredStateManager
from escalation.case import CaseStatus
from testkit.chat import settings_with
from testkit.clocks import RunningClock
from testkit.connector import Connector, connector, serve
from testkit.walk import PEOPLE, Walk, card_actions_to_close, raise_answers, raise_case


@contextmanager
def cycles_collected() -> Iterator[list[object]]:
    """The objects that only the garbage collector freed, of what ran inside the block."""
    gc.collect()
    found: list[object] = []
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def turn_objects(garbage: list[object]) -> list[str]:
    """A turn's context, its activities and answers, msrest's (de)serializers, cards, and
    dialog contexts with their memory."""
    kinds = (
        TurnContext,
        InvokeResponse,
        Model,
        Serializer,
        Deserializer,
        DialogContext,
        DialogStateManager,
        DeferredStateManager,
    )
    return sorted(
        type(o).__name__
        for o in garbage
        if isinstance(o, kinds) or (isinstance(o, dict) and o.get("type") == "AdaptiveCard")
    )


async def sent_all(stand_in: Connector, quiet: float = 0.3, most: float = 5.0) -> None:
    """Until the outbox has sent nothing more for `quiet` seconds (at most `most`)."""
    async with asyncio.timeout(most):
        seen = -1
        while seen != len(stand_in.sent):
            seen = len(stand_in.sent)
            await asyncio.sleep(quiet)


@asynccontextmanager
async def walk_on_app(tmp_path: Path) -> AsyncIterator[tuple[Walk, Connector]]:
    """The app over HTTP with the walk's people, and the stand-in Bot Connector it sends to."""
    settings = await settings_with(tmp_path, PEOPLE)
    clock = RunningClock()
    async with (
        connector() as stand_in,
        serve(create_app(settings, clock=clock)) as url,
        aiohttp.ClientSession() as http,
    ):
        yield Walk(url, stand_in, http, itertools.count(1), settings.storage, clock), stand_in


async def test_card_actions_and_the_cards_they_send_leave_no_cycles(tmp_path: Path) -> None:
    async with walk_on_app(tmp_path) as (w, stand_in):
        case_id = await raise_case(w)
        await sent_all(stand_in)
        actions = card_actions_to_close(w.clock.day())
        for who, verb, fields in actions:
            before = len(stand_in.sent)
            with cycles_collected() as garbage:
                await w.act(who, verb, case_id, **fields)
                await sent_all(stand_in)
            assert turn_objects(garbage) == [], (who, verb)
            assert len(stand_in.sent) > before, f"{verb} sent nothing: the check saw no send"
        assert (await w.case(case_id)).status is CaseStatus.CLOSED


async def test_the_raise_dialogs_turns_leave_no_cycles(tmp_path: Path) -> None:
    async with walk_on_app(tmp_path) as (w, stand_in):
        await w.say("amara", "hello")  # her first message: her conversation is remembered
        for text in (*raise_answers(), "yes"):
            with cycles_collected() as garbage:
                replies = await w.say("amara", text)
                await sent_all(stand_in)
            assert replies, f"{text!r} was not answered: the check saw no turn"
            assert turn_objects(garbage) == [], text
        assert any("is open" in reply for reply in replies)
