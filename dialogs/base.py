"""Every dialog answers the bot's commands at any step, and never takes one as an answer.

Mid-dialog, "help" and "cancel" work as everywhere; the bot's other commands ("cases",
"profile", "case RB-…"), typed alone, are named as commands rather than saved as the answer to
whatever was asked; "skip" is taken only where the question may be skipped. Every one of these
ends with the question still waiting, asked again, so the person is never left guessing what the
bot expects next.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from botbuilder.core import MessageFactory
from botbuilder.dialogs import ComponentDialog, DialogContext, DialogTurnResult, DialogTurnStatus
from botbuilder.schema import ActivityTypes

from dialogs.matching import normal
from escalation.service import Alongside

# In a turn's turn_state, the bot's `BesideSave` for the raise dialog's last step.
BESIDE_SAVE = "escalation.beside_save"
BesideSave = Callable[[Mapping[str, Any]], Alongside]
"""Given the raise's answers, the `escalation.service.Alongside` that writes, beside the case's
save rather than after it, the conversation's state as it will be once the dialog has ended:
no dialog open, and a note of the raise in flight (the case's id and those answers), so that a
save the process never finished is found and offered again on the person's next message
(bot.teams_bot)."""

CANCEL_WORDS = frozenset({"cancel", "stop", "quit"})
HELP_WORDS = frozenset({"help", "?"})
SKIP_WORD = "skip"
# The bot's commands besides help and cancel, as `bot.teams_bot` reads them (and the welcome
# card's buttons, which arrive as these words).
COMMAND_WORDS = frozenset(
    {
        "raise",
        "raise a disagreement",
        "new",
        "cases",
        "my cases",
        "profile",
        "my profile",
        "summary",
        "board summary",
        "set channel",
        "set business manager channel",
    }
)
CASE_COMMAND = re.compile(r"case\s+[a-z]{2,5}-\d{4}-[a-z0-9]{4,8}")


def is_command(text: str) -> bool:
    """Whether a typed message is one of the bot's commands (other than help and cancel)."""
    said = normal(text)
    return said in COMMAND_WORDS or CASE_COMMAND.fullmatch(said) is not None


class CancelAndHelpDialog(ComponentDialog):  # type: ignore[misc]
    help_text = "Answer the question, or type 'cancel' to stop. Nothing is saved until you confirm."
    # What the person is in the middle of, for "You are in the middle of …".
    doing = "answering my questions"
    # The ids of this dialog's prompts whose questions may be skipped.
    skippable: frozenset[str] = frozenset()

    async def on_continue_dialog(self, inner_dc: DialogContext) -> DialogTurnResult:
        result = await self.interrupt(inner_dc)
        if result is not None:
            return result
        return await super().on_continue_dialog(inner_dc)

    async def interrupt(self, inner_dc: DialogContext) -> DialogTurnResult | None:
        activity = inner_dc.context.activity
        if activity.type != ActivityTypes.message or not isinstance(activity.text, str):
            return None
        raw = activity.text.strip()
        text = normal(raw)
        if not raw:
            return None
        if text in CANCEL_WORDS:
            await inner_dc.context.send_activity(
                MessageFactory.text("Cancelled. Nothing was saved.")
            )
            return await inner_dc.cancel_all_dialogs()
        if text in HELP_WORDS or raw in HELP_WORDS:
            return await self._ask_again(inner_dc, self.help_text)
        if is_command(raw):
            return await self._ask_again(
                inner_dc,
                f"'{raw}' is one of my commands, but you are in the middle of {self.doing}: "
                "type 'cancel' to stop (nothing is saved), or answer the question.",
            )
        if text == SKIP_WORD and not self._may_skip(inner_dc):
            return await self._ask_again(
                inner_dc,
                "This question cannot be skipped: answer it, or type 'cancel' to stop (nothing "
                "is saved).",
            )
        return None

    def _may_skip(self, inner_dc: DialogContext) -> bool:
        waiting = inner_dc.active_dialog
        return waiting is not None and waiting.id in self.skippable

    @staticmethod
    async def _ask_again(inner_dc: DialogContext, said: str) -> DialogTurnResult:
        """Say `said`, then ask the waiting question again: the answer still goes to it."""
        await inner_dc.context.send_activity(MessageFactory.text(said))
        await inner_dc.reprompt_dialog()
        return DialogTurnResult(DialogTurnStatus.Waiting)
