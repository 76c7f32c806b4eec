"""QuickConfirmPrompt reads an answer as botbuilder's ConfirmPrompt reads it (a bare "yes" or "no"
in English without the recognizer, everything else through it), except a yes beside a negation,
which it asks again."""

from __future__ import annotations

from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.dialogs.prompts import ConfirmPrompt, PromptOptions
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from dialogs.confirm_prompt import QuickConfirmPrompt


class NoAdapter:
    """Nothing is sent: only the answer is read."""


def answer(text: str | None, locale: str | None) -> TurnContext:
    activity = Activity(
        type=ActivityTypes.message,
        text=text,
        locale=locale,
        channel_id="msteams",
        from_property=ChannelAccount(id="29:a"),
        recipient=ChannelAccount(id="28:bot"),
        conversation=ConversationAccount(id="a:1"),
    )
    return TurnContext(NoAdapter(), activity)


async def read(prompt: ConfirmPrompt, text: str | None, locale: str | None) -> tuple[Any, Any]:
    found = await prompt.on_recognize(answer(text, locale), {}, PromptOptions())
    return found.succeeded, found.value


TEXTS = ["yes", "Yes", " YES ", "no", "No", "no.", "yep", "no thanks", "1", "2", "oui", "", None]
LOCALES = [None, "en-GB", "en-US", "fr-FR", "es-ES"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("text", TEXTS)
async def test_an_answer_reads_as_botbuilder_reads_it(text: str | None, locale: str | None) -> None:
    quick = await read(QuickConfirmPrompt("confirm"), text, locale)
    assert quick == await read(ConfirmPrompt("confirm"), text, locale)


@pytest.mark.parametrize(("text", "value"), [("yes", True), (" No ", False)])
async def test_a_bare_yes_or_no_is_read_without_the_recognizer(
    text: str, value: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> object:
        raise AssertionError("the recognizer was asked")

    monkeypatch.setattr("botbuilder.dialogs.prompts.confirm_prompt.recognize_boolean", refuse)
    assert await read(QuickConfirmPrompt("confirm"), text, "en-GB") == (True, value)


# Each of these botbuilder's recognizer reads as yes (checked below): a yes here saves a case.
HEDGED = [
    "not sure yet",
    "Not sure",
    "yes but not now",
    "not yes",
    "Sure, I don't know",
    "Sure, I don\u2019t know",  # the apostrophe a phone's keyboard types
    "yes, maybe",
]


@pytest.mark.parametrize("locale", ["en-GB", None])
@pytest.mark.parametrize("text", HEDGED)
async def test_a_yes_beside_a_negation_is_asked_again(text: str, locale: str | None) -> None:
    assert await read(ConfirmPrompt("confirm"), text, locale) == (True, True)
    assert await read(QuickConfirmPrompt("confirm"), text, locale) == (False, None)


@pytest.mark.parametrize("text", ["no, not yet", "No, I'm not sure", "nope, not now"])
async def test_a_no_beside_a_negation_is_still_a_no(text: str) -> None:
    assert await read(QuickConfirmPrompt("confirm"), text, "en-GB") == (True, False)
