"""A DialogContext's memory manager is made only when something reads dialog memory: a context
nobody asks is freed by reference counting (no cycle), and one whose memory is used reads and
writes it as botbuilder's own manager does."""

from __future__ import annotations

import copy
import gc
import weakref
from collections.abc import Iterator

import pytest
from botbuilder.core import ConversationState, MemoryStorage, TurnContext
from botbuilder.dialogs import DialogContext, DialogSet, DialogState
from botbuilder.dialogs.memory import DialogStateManager
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from bot.dialog_memory import DeferredStateManager, defer_dialog_memory


class NoAdapter:
    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[None]:
        return [None for _ in activities]


def turn() -> TurnContext:
    incoming = Activity(
        type=ActivityTypes.message,
        text="hi",
        channel_id="msteams",
        service_url="http://127.0.0.1:1/",
        from_property=ChannelAccount(id="29:a"),
        recipient=ChannelAccount(id="28:bot"),
        conversation=ConversationAccount(id="a:1"),
    )
    context = TurnContext(NoAdapter(), incoming)
    state = ConversationState(MemoryStorage())
    context.turn_state[ConversationState.__name__] = state
    return context


@pytest.fixture
def deferred() -> Iterator[None]:
    defer_dialog_memory()
    gc.collect()
    gc.disable()  # what is freed below is freed by reference counting alone
    try:
        yield
    finally:
        gc.enable()


def dialog_context() -> DialogContext:
    context = turn()
    dialogs = DialogSet(ConversationState(MemoryStorage()).create_property("dialogs"))
    return DialogContext(dialogs, context, DialogState())


@pytest.mark.usefixtures("deferred")
def test_a_context_nobody_asks_about_is_freed_when_dropped() -> None:
    dc = dialog_context()
    assert isinstance(dc.state, DeferredStateManager)
    gone = weakref.ref(dc)
    del dc
    assert gone() is None, "the context waits in a cycle for the garbage collector"


@pytest.mark.usefixtures("deferred")
def test_memory_reads_and_writes_as_botbuilders_manager_does() -> None:
    dc = dialog_context()
    own = DialogStateManager(dialog_context())  # botbuilder's, on a context of its own
    for manager in (dc.state, own):
        manager["turn"] = {"colour": "green"}  # a scope's root: what botbuilder's Python writes
    assert dc.state["turn"] == own["turn"] == {"colour": "green"}
    assert dc.state.get_value(object, "turn") == {"colour": "green"}
    assert dc.state.get_memory_scope("conversation").name == "conversation"
    assert len(dc.state) == len(own) > 0
    assert [scope.name for scope in dc.state.configuration.memory_scopes] == [
        scope.name for scope in own.configuration.memory_scopes
    ]
    assert isinstance(dc.state.manager, DialogStateManager)


@pytest.mark.usefixtures("deferred")
def test_memory_read_after_its_context_is_gone_is_refused_clearly() -> None:
    state = dialog_context().state
    with pytest.raises(ReferenceError, match="after its turn's context was freed"):
        state.get_value(object, "turn")


@pytest.mark.usefixtures("deferred")
def test_a_copy_made_without_its_init_fails_plainly() -> None:
    blank = DeferredStateManager.__new__(DeferredStateManager)
    with pytest.raises(AttributeError):
        blank.get_value(object, "turn")
    dc = dialog_context()
    dc.state["turn"] = {"colour": "green"}
    assert copy.copy(dc.state)["turn"] == {"colour": "green"}  # a copy made as copy makes it
