"""The cards that replace a clicked card: what happened, or why nothing changed."""

from __future__ import annotations

from collections.abc import Sequence

from cards.case_card import case_card
from cards.elements import Json, card, heading, text
from cards.views import CaseView


def done_card(view: CaseView, message: str, *, user_ids: Sequence[str] = ()) -> Json:
    """The refreshed case card, with a line saying what just happened (`view` is after it)."""
    return case_card(view, user_ids=user_ids, notice=f"Done: {message}")


def refusal_card(view: CaseView | None, reason: str, *, user_ids: Sequence[str] = ()) -> Json:
    """Nothing changed, and why: for a stale, unauthorised or unknown action.

    With the case's current view, the card shows the case as it stands now (so a stale click
    can be retried on the latest version); without one (no such case), just the reason.
    """
    notice = f"Nothing changed: {reason}"
    if view is not None:
        return case_card(view, user_ids=user_ids, notice=notice)
    return card(
        [heading("Nothing changed"), text(notice)],
        fallback_text=notice,
        speak=notice,
    )
