"""storage.state_codec writes and reads bot state in jsonpickle's format: rows written before it
are read, rows it writes are read by jsonpickle alone, and what it does not know goes to
jsonpickle whole."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
from botbuilder.core import MessageFactory
from botbuilder.dialogs import DialogInstance, DialogState
from botbuilder.dialogs.choices import Choice, ListStyle
from botbuilder.dialogs.prompts import PromptOptions
from botbuilder.schema import ActionTypes, CardAction
from jsonpickle.pickler import Pickler
from jsonpickle.unpickler import Unpickler

from storage import state_codec
from storage.state_codec import flatten, restore


def raise_dialog_state() -> dict[str, Any]:
    """The shape the raise dialog leaves at a confirm prompt: a component dialog's stack with a
    prompt (two activities, so an enum met twice) inside a waterfall with its answers."""
    prompt = PromptOptions(
        prompt=MessageFactory.text("Raise this disagreement now?"),
        retry_prompt=MessageFactory.text("Please answer yes or no."),
        choices=[
            Choice("Yes", synonyms=["y", "yeah"]),
            Choice("No", action=CardAction(type=ActionTypes.im_back, title="No", value="no")),
        ],
        style=ListStyle.hero_card,
    )
    answers = {
        "issue": "Nursing declined a joint visit \u2014 \u00e9t\u00e9 \U0001f600",
        "immediate_risk": False,
        "day_text": "2026-11-25",
        "score": 1.5,
        "count": 3,
        "absent": None,
        "nested": [[1, 2], {"deep": (1, "two")}],
    }
    inner = DialogState(
        [
            DialogInstance("confirm", {"options": prompt, "state": {}}),
            DialogInstance(
                "review",
                {"options": copy.deepcopy(answers), "values": {"answers": answers}, "stepIndex": 0},
            ),
        ]
    )
    return {"dialogs": DialogState([DialogInstance("raise", {"dialogs": inner})])}


def shape(value: Any) -> Any:
    """A value's structure, objects as their class and attributes, to compare two restores."""
    if isinstance(value, Enum):
        return ("enum", type(value).__qualname__, value.value)
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, tuple):
        return ("tuple", [shape(item) for item in value])
    if hasattr(value, "__dict__"):
        return (type(value).__qualname__, shape(vars(value)))
    return value


class Refused:
    """Stands in for jsonpickle where a test shows the codec did the work alone."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("jsonpickle was used")


def test_dialog_state_is_written_as_jsonpickle_writes_it_without_jsonpickle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = raise_dialog_state()
    expected = Pickler(make_refs=False).flatten(state)
    monkeypatch.setattr(state_codec, "Pickler", Refused)
    assert flatten(state) == expected
    assert "py/id" not in json.dumps(expected)


def test_dialog_state_is_read_as_jsonpickle_reads_it_without_jsonpickle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = json.dumps(flatten(raise_dialog_state()))
    expected = Unpickler().restore(json.loads(text))
    monkeypatch.setattr(state_codec, "Unpickler", Refused)
    restored = restore(json.loads(text))
    assert shape(restored) == shape(expected) == shape(raise_dialog_state())
    prompt = restored["dialogs"].dialog_stack[0].state["dialogs"].dialog_stack[0].state["options"]
    assert prompt.prompt.type is prompt.retry_prompt.type  # enums come back as their members
    assert prompt.style is ListStyle.hero_card


def test_a_row_written_by_jsonpickle_with_references_is_read() -> None:
    written_before = Pickler().flatten(raise_dialog_state())
    assert "py/id" in json.dumps(written_before)
    assert shape(restore(written_before)) == shape(raise_dialog_state())


def test_a_row_it_writes_is_read_by_jsonpickle_alone() -> None:
    # A release rolled back reads what this one wrote.
    text = json.dumps(flatten(raise_dialog_state()))
    assert shape(Unpickler().restore(json.loads(text))) == shape(raise_dialog_state())


def test_reading_and_writing_again_gives_the_same_text() -> None:
    # The conversation state is written only when its text changed (storage.bot_state._Cached).
    text = json.dumps(flatten(raise_dialog_state()))
    assert json.dumps(flatten(restore(json.loads(text)))) == text


class Custom:
    def __init__(self, value: int) -> None:
        self.value = value


def shared() -> dict[str, Any]:
    answers = {"issue": "one dict, two places"}
    return {"options": answers, "values": answers}


@pytest.mark.parametrize(
    "state",
    [
        {"when": datetime(2026, 11, 25, 9, 30, tzinfo=UTC)},
        {"seen": {"a", "b"}},
        {"by_number": {1: "one"}},
        {"mine": Custom(3)},
        {"py/object": "looks like a tag"},
        shared(),
    ],
    ids=["datetime", "set", "int key", "class outside botbuilder", "tag as key", "shared dict"],
)
def test_what_it_does_not_know_goes_to_jsonpickle_whole(state: dict[str, Any]) -> None:
    assert flatten(state) == Pickler().flatten(state)
    text = json.dumps(flatten(state))
    assert shape(restore(json.loads(text))) == shape(Unpickler().restore(json.loads(text)))


def test_a_dict_in_two_places_stays_one_dict() -> None:
    restored = restore(json.loads(json.dumps(flatten(shared()))))
    assert restored["options"] is restored["values"]


@pytest.mark.parametrize("wrap", [lambda inner: {"next": inner}, lambda inner: [inner]])
def test_state_nested_past_the_limit_still_round_trips(wrap: Any) -> None:
    state: Any = {"leaf": True}
    for _ in range(100):
        state = wrap(state)
    assert restore(json.loads(json.dumps(flatten(state)))) == state


def test_a_stored_class_outside_botbuilder_is_not_built_by_the_codec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flat = Pickler().flatten({"mine": Custom(3)})
    monkeypatch.setattr(state_codec, "Unpickler", Refused)
    with pytest.raises(AssertionError, match="jsonpickle was used"):
        restore(flat)
