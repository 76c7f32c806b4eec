"""botbuilder's ConfirmPrompt, reading a plain "yes" or "no" without its recognizer.

botbuilder reads every answer to a yes/no question with Microsoft's Recognizers-Text, a run of
regular expressions over the words: a tenth of a millisecond and more, 4% of the CPU of the
raise's last turn ("yes", which saves the case) by py-spy under `benchmarks/turns.py`. The bare
word, in the English the bot asks in, needs none of that; anything else ("yep", "no thanks",
"1", another language) goes to botbuilder's recognizer, as before, and reads as it read.
"""

from __future__ import annotations

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


class QuickConfirmPrompt(ConfirmPrompt):  # type: ignore[misc]
    async def on_recognize(
        self, turn_context: TurnContext, state: dict[str, Any], options: PromptOptions
    ) -> PromptRecognizerResult:
        activity = turn_context.activity
        if activity.type == ActivityTypes.message and isinstance(activity.text, str):
            plain = PLAIN.get(activity.text.strip().lower())
            if plain is not None and self._determine_culture(activity) == ENGLISH:
                return PromptRecognizerResult(succeeded=True, value=plain)
        return await super().on_recognize(turn_context, state, options)
