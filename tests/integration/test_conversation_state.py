"""The conversation state as the bot keeps it (storage.bot_state.TableConversationState): written
only when it changed, the last turn's state taken up again by the next turn on this instance
only while nobody else has written it, a state written ahead put back when the turn fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from storage.bot_state import TableConversationState, TableStorage
from storage.tables import TableStore


def activity() -> Activity:
    return Activity(
        type="message",
        channel_id="msteams",
        conversation=ConversationAccount(id="a:chat-amara"),
        from_property=ChannelAccount(id="29:amara"),
        recipient=ChannelAccount(id="28:bot"),
    )


async def turn(
    state: TableConversationState, change: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    context = TurnContext(TestAdapter(), activity())
    await state.load(context)
    found: dict[str, Any] = state.get(context)
    change(found)
    await state.save_changes(context)
    return found


KEY = "msteams%2Fconversations%2Fa:chat-amara"  # botbuilder's key, escaped


def bump(data: dict[str, Any]) -> None:
    data["n"] = data.get("n", 0) + 1


@pytest.fixture
def storage(store: TableStore, table: str) -> TableStorage:
    return TableStorage(store, table)


async def test_a_turn_takes_up_the_last_turns_state_until_someone_else_writes_it(
    storage: TableStorage,
) -> None:
    here, there = TableConversationState(storage), TableConversationState(storage)
    first = await turn(here, bump)
    second = await turn(here, bump)
    assert second is first and second["n"] == 2  # taken up, not rebuilt
    elsewhere = await turn(there, bump)  # another instance of the bot
    assert elsewhere is not second and elsewhere["n"] == 3
    third = await turn(here, bump)
    assert third is not second and third["n"] == 4  # rebuilt from what the other wrote


async def test_a_turn_that_fails_leaves_nothing_to_take_up(storage: TableStorage) -> None:
    state = TableConversationState(storage)
    await turn(state, bump)
    context = TurnContext(TestAdapter(), activity())
    await state.load(context)
    bump(state.get(context))  # changed, then the turn fails: never saved
    again = await turn(state, lambda data: None)
    assert again["n"] == 1


async def test_unchanged_state_is_not_written(
    storage: TableStorage, store: TableStore, table: str
) -> None:
    state = TableConversationState(storage)
    await turn(state, bump)
    row = await store.get(table, KEY, "state")
    assert row is not None
    await turn(state, lambda data: None)
    again = await store.get(table, KEY, "state")
    assert again is not None and again.etag == row.etag


async def test_a_state_written_ahead_is_put_back_when_the_turn_fails(
    storage: TableStorage,
) -> None:
    state = TableConversationState(storage)
    await turn(state, bump)
    context = TurnContext(TestAdapter(), activity())
    await state.load(context)
    assert await state.write_ahead(context, {"n": 100})
    await state.undo(context)
    assert (await turn(TableConversationState(storage), lambda data: None))["n"] == 1
