"""A prompt that asks with an Adaptive Card of whole choices and answers with the chosen id.

The card's `Action.Submit` answers with `{"verb": "answer", <input id>: <id>}` and no text; a
typed answer is read by `dialogs.matching.match_choice` (whole title, id, number, or an
unambiguous part). An id the card did not offer is never accepted, whatever a client sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.dialogs.prompts import Prompt, PromptOptions, PromptRecognizerResult
from botbuilder.schema import ActivityTypes

from bot.messages import card_message
from cards.picker_card import ANSWER, choice_card
from dialogs.matching import match_choice

HINT = "Or type your answer in the chat: the name, or enough of it to tell it apart."
WHY = "why"  # the prompt's state: why the last answer was not taken, for the retry


def card_choice_options(
    question: str, input_id: str, choices: Sequence[tuple[str, str]]
) -> PromptOptions:
    """Options for `ChoiceCardPrompt`: the question, the card's input id and its (id, title)
    choices. They are kept in the dialog's stored state, so they are plain JSON values."""
    return PromptOptions(
        prompt=MessageFactory.text(question),
        retry_prompt=MessageFactory.text(f"Pick one of the options. {question}"),
        validations={"input_id": input_id, "choices": [[str(i), str(t)] for i, t in choices]},
    )


def _asked(options: PromptOptions) -> tuple[str, list[tuple[str, str]]]:
    """The input id and the choices the prompt offered."""
    found = options.validations
    if not isinstance(found, dict):
        raise TypeError("ChoiceCardPrompt needs card_choice_options()")
    return str(found["input_id"]), [(str(i), str(t)) for i, t in found["choices"]]


class ChoiceCardPrompt(Prompt):  # type: ignore[misc]
    async def on_prompt(
        self,
        turn_context: TurnContext,
        state: dict[str, Any],
        options: PromptOptions,
        is_retry: bool,
    ) -> None:
        input_id, choices = _asked(options)
        question = str(options.prompt.text if options.prompt else "")
        said = question
        if is_retry:
            said = str(state.pop(WHY, None) or (options.retry_prompt.text or question))
        built = choice_card(question, input_id, choices, hint=HINT)
        await turn_context.send_activity(card_message(built, text=said))

    async def on_recognize(
        self, turn_context: TurnContext, state: dict[str, Any], options: PromptOptions
    ) -> PromptRecognizerResult:
        input_id, choices = _asked(options)
        result = PromptRecognizerResult()
        activity = turn_context.activity
        if activity.type != ActivityTypes.message:
            return result
        ids = {choice_id for choice_id, _ in choices}
        value = activity.value
        if isinstance(value, dict) and value.get("verb") == ANSWER and not activity.text:
            chosen = value.get(input_id)
            if isinstance(chosen, str) and chosen in ids:
                result.succeeded, result.value = True, chosen
            return result  # another card's answer, or nothing picked: asked again
        if not isinstance(activity.text, str):
            return result
        found = match_choice(activity.text, choices)
        if found.chosen is not None:
            result.succeeded, result.value = True, found.chosen
        elif found.could_be:
            question = options.prompt.text if options.prompt else ""
            state[WHY] = f"That could be: {'; '.join(found.could_be)}. {question}"
        return result
