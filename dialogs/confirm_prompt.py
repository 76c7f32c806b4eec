"""botbuilder's ConfirmPrompt, reading a plain "yes" or "no" without its recognizer.

botbuilder reads every answer to a yes/no question with Microsoft's Recognizers-Text, a run of
regular expressions over the words: a tenth of a millisecond and more, 4% of the CPU of the
raise's last turn ("yes", which saves the case) by py-spy under `benchmarks/turns.py`. The bare
word, in the English the bot asks in, needs none of that; anything else ("yep", "no thanks",
"1", another language) goes to botbuilder's recognizer, as before, and reads as it read, with
one exception. The recognizer finds a yes in "not sure yet", "yes but not now" and "not yes" (it
reads the word "sure" or "yes" and nothing around it). A yes to these questions saves a case or
sends a request, so an answer in which the recognizer finds yes beside a negation ("not",
"never", "no", "n't", "maybe", "unsure") is not taken: the question is asked again. A no, which
saves nothing, is taken as the recognizer reads it.
"""

from __future__ import annotations

import re
from typing import Any, Final

from botbuilder.core import TurnContext
from botbuilder.dialogs.prompts import (
    ConfirmPrompt,
    PromptCultureModels,
    PromptOptions,
    PromptRecognizerResult,
)
from botbuilder.schema import ActivityTypes

PLAIN: Final = {"yes": True, "no": False}
ENGLISH: Final = PromptCultureModels.English.locale
HEDGED: Final = re.compile(r"\b(?:not|never|no|nope|maybe|unsure)\b|n['\u2019]t\b", re.IGNORECASE)


class QuickConfirmPrompt(ConfirmPrompt):  # type: ignore[misc]
    async def on_recognize(
        self, turn_context: TurnContext, state: dict[str, Any], options: PromptOptions
    ) -> PromptRecognizerResult:
        activity = turn_context.activity
        if activity.type == ActivityTypes.message and isinstance(activity.text, str):
            plain = PLAIN.get(activity.text.strip().lower())
            if plain is not None and self._determine_culture(activity) == ENGLISH:
                return PromptRecognizerResult(succeeded=True, value=plain)
        found: PromptRecognizerResult = await super().on_recognize(turn_context, state, options)
        if found.succeeded and found.value is True and _hedged(activity.text):
            return PromptRecognizerResult(succeeded=False)
        return found


def _hedged(text: object) -> bool:
    """Whether a yes comes with a negation beside it ("not sure yet"): asked again, not taken."""
    return isinstance(text, str) and HEDGED.search(text) is not None
