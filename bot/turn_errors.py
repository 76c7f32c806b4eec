"""What a person is told when their turn fails: whether what they did was saved first.

A turn can fail after its change was saved (the reply to Teams, say): "Nothing was changed" would
then be untrue, so the code that saves a change says so on the turn (`note_saved`), in words
the person can act on, and the apology repeats them.
"""

from __future__ import annotations

from botbuilder.core import TurnContext

SAVED = "escalation.saved"
NOTHING_CHANGED = "Sorry, something went wrong on my side. Nothing was changed."


def note_saved(context: TurnContext, what: str) -> None:
    """Say on the turn what it has saved, as a sentence: 'Case RB-2026-ABCDEF is open.'"""
    context.turn_state[SAVED] = what


def turn_error_message(context: TurnContext) -> str:
    saved = context.turn_state.get(SAVED)
    if isinstance(saved, str) and saved:
        return f"Sorry, something went wrong on my side, but this was saved first: {saved}"
    return NOTHING_CHANGED
