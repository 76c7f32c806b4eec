"""A conversation half-way through a dialog carries on after the bot restarts.

Two bot "processes" in turn: each has its own adapter, storage object and dialogs, and they share
only the stored state (a SQLite file, or Azurite), as instances before and after a restart do.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from botbuilder.core import ConversationState, MemoryStorage, Storage, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.dialogs import (
    DialogSet,
    DialogTurnResult,
    DialogTurnStatus,
    TextPrompt,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.prompts import PromptOptions
from botbuilder.schema import Activity, ActivityTypes, ConversationAccount

from storage.azure_engine import AzureTableStore
from storage.bot_state import TableStorage
from storage.sqlite_engine import SqliteTableStore
from storage.tables import TableStore


class ProfileBot:
    """Asks two questions; what it has heard so far lives in dialog state."""

    def __init__(self, storage: Storage) -> None:
        self.state = ConversationState(storage)
        self.dialogs = DialogSet(self.state.create_property("dialog"))
        self.dialogs.add(TextPrompt("text"))
        self.dialogs.add(WaterfallDialog("profile", [self.ask_agency, self.ask_manager, self.done]))

    async def ask_agency(self, step: WaterfallStepContext) -> DialogTurnResult:
        return await step.prompt(
            "text", PromptOptions(prompt=Activity(type="message", text="Which agency?"))
        )

    async def ask_manager(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["agency"] = step.result
        return await step.prompt(
            "text", PromptOptions(prompt=Activity(type="message", text="Who is your line manager?"))
        )

    async def done(self, step: WaterfallStepContext) -> DialogTurnResult:
        await step.context.send_activity(f"{step.values['agency']}, managed by {step.result}")
        return await step.end_dialog()

    async def on_turn(self, context: TurnContext) -> None:
        dc = await self.dialogs.create_context(context)
        result = await dc.continue_dialog()
        if result.status == DialogTurnStatus.Empty:
            await dc.begin_dialog("profile")
        await self.state.save_changes(context)


def conversation(adapter: TestAdapter) -> None:
    # A Teams-like id, with characters that table keys forbid.
    adapter.template.conversation = ConversationAccount(id="19:abc/def#chat?1@thread.v2")


async def say(storage: Storage, text: str) -> list[str]:
    bot = ProfileBot(storage)
    adapter = TestAdapter(bot.on_turn)
    conversation(adapter)
    await adapter.receive_activity(Activity(type=ActivityTypes.message, text=text))
    return [a.text for a in adapter.activity_buffer]


@pytest.fixture(params=["sqlite", "azure"])
async def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], TableStorage]]:
    opened: list[TableStore] = []
    table = f"botstate{uuid.uuid4().hex[:8]}"

    def open_store() -> TableStorage:
        store: TableStore
        if request.param == "azure":
            store = AzureTableStore(request.getfixturevalue("azurite_connection_string"))
        else:
            store = SqliteTableStore(tmp_path / "data")
        opened.append(store)
        return TableStorage(store, table)

    yield open_store
    for store in opened:
        await store.close()


async def test_a_dialog_carries_on_after_a_restart(
    store_factory: Callable[[], TableStorage],
) -> None:
    assert await say(store_factory(), "hello") == ["Which agency?"]
    # The bot restarts: new process, new objects; only the stored state is shared.
    assert await say(store_factory(), "NELFT") == ["Who is your line manager?"]
    assert await say(store_factory(), "Nadia") == ["NELFT, managed by Nadia"]


async def test_in_memory_state_would_have_forgotten() -> None:
    """The control: with botbuilder's MemoryStorage a restart starts the dialog again."""
    assert await say(MemoryStorage(), "hello") == ["Which agency?"]
    assert await say(MemoryStorage(), "NELFT") == ["Which agency?"]
