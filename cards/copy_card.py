"""The read-only copy for a board's business-manager channel (the stages that copy it, the panel, closure).

It carries what the board needs to follow the case (RB-4.6, RB-4.7, HW-4.4) and no more: no
names of the adult (only the agency's case reference), no typed issue, no actions and no refresh.
"""

from __future__ import annotations

from dataclasses import replace

from cards.case_card import clock_blocks, copy_summary_blocks, headline, risk_block
from cards.elements import Json, card, sentence, text
from cards.views import CaseView, ViewLevel


def business_manager_copy_card(view: CaseView, reason: str) -> Json:
    """The channel's copy. It reads the facts a board role's copy view holds, whatever view it
    is given, so a full view passed by mistake still shows no typed issue and no names."""
    body: list[Json] = [
        risk_block(view),
        text(f"Copy for the {view.board_short_name} Business Manager: {reason}", weight="bolder"),
        *copy_summary_blocks(view),
    ]
    body += clock_blocks(view)
    body.append(
        text("For information: the parties act on the case in their own cards.", isSubtle=True)
    )
    # What it is, from the facts of a copy: a full view passed by mistake names nobody here.
    copy = _as_copy(view)
    why = f"Copy for the {view.board_short_name} Business Manager: {sentence(reason)}"
    urgent = "Immediate risk of significant harm. " if view.immediate_risk else ""
    risk = f"Risk to {view.words.the_person}: {sentence(view.risk_to_adult or 'not recorded')}"
    spoken = f"{urgent}{headline(copy, shout=False, say_copy=False)} {why} {risk}"
    return card(body, fallback_text=f"{headline(copy, say_copy=False)} {why}", speak=spoken)


def _as_copy(view: CaseView) -> CaseView:
    if view.copy:
        return view
    nxt = view.next_due
    unnamed = None if nxt is None else replace(nxt, owners=(), owned_by_viewer=False)
    return replace(view, level=ViewLevel.COPY, next_due=unnamed)
