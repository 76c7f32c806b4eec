"""Every dialog answers "help" and "cancel" at any step."""

from __future__ import annotations

from botbuilder.core import MessageFactory
from botbuilder.dialogs import ComponentDialog, DialogContext, DialogTurnResult, DialogTurnStatus
from botbuilder.schema import ActivityTypes

CANCEL_WORDS = frozenset({"cancel", "stop", "quit"})
HELP_WORDS = frozenset({"help", "?"})


class CancelAndHelpDialog(ComponentDialog):  # type: ignore[misc]
    help_text = "Answer the question, or type 'cancel' to stop. Nothing is saved until you confirm."

    async def on_continue_dialog(self, inner_dc: DialogContext) -> DialogTurnResult:
        result = await self.interrupt(inner_dc)
        if result is not None:
            return result
        return await super().on_continue_dialog(inner_dc)

    async def interrupt(self, inner_dc: DialogContext) -> DialogTurnResult | None:
        activity = inner_dc.context.activity
        if activity.type != ActivityTypes.message or not activity.text:
            return None
        text = activity.text.strip().lower()
        if text in HELP_WORDS:
            await inner_dc.context.send_activity(MessageFactory.text(self.help_text))
            return DialogTurnResult(DialogTurnStatus.Waiting)
        if text in CANCEL_WORDS:
            await inner_dc.context.send_activity(
                MessageFactory.text("Cancelled. Nothing was saved.")
            )
            return await inner_dc.cancel_all_dialogs()
        return None
