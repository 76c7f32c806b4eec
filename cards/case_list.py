"""The `cases` answer: a person's open cases as a Markdown list that reads on a phone in Teams.

Each line tells one case from another and says what it needs: the case id, the adult's case
reference at the agency, the other agency (from the viewer's side), the stage and its name in the
pack, the next deadline (with the working days left, or OVERDUE since when), immediate risk, and
what waits on this person. Built from the views `cards.views.case_view` gives, so it shows no
more than the card would: the board's copy names nobody, and no typed text is shown but the
adult's case reference, which the copy shows too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cards.case_card import waiting_on_viewer
from cards.elements import and_list
from cards.views import CaseView, ClockView

NO_CASES = "You have no open cases."


def _code(typed: str) -> str:
    """Typed text as a Markdown code span: shown as typed, never read as formatting."""
    flat = " ".join(typed.replace("`", "'").split())
    return f"`{flat}`" if flat else "none given"


def _deadline(clock: ClockView) -> str:
    if clock.overdue:
        return f"**OVERDUE** since {clock.due}"
    left = clock.working_days_left
    if left is None:
        return f"next due {clock.due}"
    if left == 0:
        return f"next due today, {clock.due}"
    return f"next due {clock.due}, {left} working day{'' if left == 1 else 's'} left"


def case_line(view: CaseView) -> str:
    """One case, as a Markdown list item."""
    risk = "**IMMEDIATE RISK** " if view.immediate_risk else ""
    if view.other_agency is not None:
        agency = f"with {view.other_agency}"
    else:
        agency = f"between {and_list(list(view.party_agencies))}"
    line = (
        f"- {risk}**{view.case_id}**, {view.words.person}'s ref {_code(view.adult_reference)}, "
        f"{agency}: {view.words.stage} {view.stage.id} ({view.stage.short})"
    )
    if view.status == "resolved":
        line += ", resolved: to be closed"
    elif view.next_due is not None:
        line += f"; {_deadline(view.next_due)}"
    else:
        line += "; nothing due at this stage"
    line += "."
    waits = waiting_on_viewer(view) if view.full else []
    if waits:
        line += f" Waiting on you: {'; '.join(waits)}."
    if view.copy:
        line += f" ({view.board_short_name} copy, for information.)"
    return line


def _order(view: CaseView) -> tuple[bool, datetime | None, str]:
    due = view.next_due.due_at if view.next_due is not None else None
    return (due is None, due, view.case_id)


def case_list_text(views: Sequence[CaseView]) -> str:
    """The person's open cases, the next to fall due first."""
    if not views:
        return NO_CASES
    ordered = sorted(views, key=_order)
    head = f"You have {len(ordered)} open case(s):"
    return "\n".join([head, *(case_line(v) for v in ordered)])
