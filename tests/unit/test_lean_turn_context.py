"""LeanTurnContext runs the send handlers as botbuilder's TurnContext does: the same handlers,
in the same order, each given the next; the activities are sent after them whether or not a
handler went on. Only the closure that refers to itself (a reference cycle) is gone."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from bot.adapter import LeanTurnContext


class RecordingAdapter:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[Any]:
        self.sent += [a.text for a in activities]
        return [None for _ in activities]


def incoming() -> Activity:
    return Activity(
        type=ActivityTypes.message,
        text="hi",
        channel_id="msteams",
        service_url="http://127.0.0.1:1/",
        from_property=ChannelAccount(id="29:a"),
        recipient=ChannelAccount(id="28:bot"),
        conversation=ConversationAccount(id="a:1"),
    )


Handler = Callable[[TurnContext, Any, Callable[[], Awaitable[None]]], Awaitable[None]]


def handlers(trace: list[str], stop_at: str | None = None) -> list[Handler]:
    def handler(name: str) -> Handler:
        async def run(context: TurnContext, arg: Any, next_: Callable[[], Awaitable[None]]) -> None:
            trace.append(f"{name} before: {[a.text for a in arg]}")
            if name != stop_at:
                await next_()
            trace.append(f"{name} after")

        return run

    return [handler("first"), handler("second"), handler("third")]


@pytest.mark.parametrize("stop_at", [None, "second"])
async def test_handlers_run_as_botbuilders_do(stop_at: str | None) -> None:
    traces = []
    for context_class in (TurnContext, LeanTurnContext):
        adapter = RecordingAdapter()
        context = context_class(adapter, incoming())
        trace: list[str] = []
        for handler in handlers(trace, stop_at):
            context.on_send_activities(handler)
        await context.send_activities([Activity(text="one"), Activity(text="two")])
        assert adapter.sent == ["one", "two"] and context.responded
        traces.append(trace)
    botbuilders, lean = traces
    assert lean == botbuilders
    assert lean[0] == "first before: ['one', 'two']"
    assert ("third after" in lean) is (stop_at is None)


async def test_a_send_leaves_no_cycle_through_the_context() -> None:
    adapter = RecordingAdapter()
    context = LeanTurnContext(adapter, incoming())
    context.on_send_activities(handlers([])[0])
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        await context.send_activities([Activity(text="one")])
        del context
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, TurnContext | Activity)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
