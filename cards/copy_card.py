"""The read-only copy for a board's business-manager channel (stages 3-4, the panel, closure).

It carries what the board needs to follow the case (RB-4.6, RB-4.7, HW-4.4) and no more: no
names of the adult (only the agency's case reference), no typed issue, no actions and no refresh.
"""

from __future__ import annotations

from cards.case_card import clock_blocks, risk_block
from cards.elements import Json, card, facts, heading, labelled, sentence, text
from cards.views import CaseView


def business_manager_copy_card(view: CaseView, reason: str) -> Json:
    body: list[Json] = [
        risk_block(view),
        text(f"Copy for the {view.board_short_name} Business Manager: {reason}", weight="bolder"),
        heading(f"Case {view.case_id}"),
        facts(
            [
                ("Board", view.board_name),
                ("Stage", f"{view.stage.id}: {view.stage.name}"),
                ("Status", view.status.capitalize()),
                ("Category", view.category),
                ("Immediate risk", "Yes" if view.immediate_risk else "No"),
                ("Agencies", "; ".join(view.agencies)),
            ]
        ),
        labelled("Agency case reference", view.adult_reference),
    ]
    body += clock_blocks(view)
    body.append(
        text("For information: the parties act on the case in their own cards.", isSubtle=True)
    )
    urgent = "Immediate risk. " if view.immediate_risk else ""
    summary = (
        f"Case {view.case_id} ({view.board_short_name}) is at stage {view.stage.id}: "
        f"{view.stage.name}. {urgent}Risk to the adult: {sentence(view.risk_to_adult or 'not recorded')}"
    )
    return card(
        body, fallback_text=f"Copy for the Business Manager: {reason}. {summary}", speak=summary
    )
