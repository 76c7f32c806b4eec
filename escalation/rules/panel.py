"""A binding panel: convening it, each agency's representation, and its decision."""

from __future__ import annotations

from escalation.access import CONVENE_PANEL, DECIDE, REPRESENT
from escalation.case import Case
from escalation.commands import ConvenePanel, RecordPanelDecision, RecordRepresentation
from escalation.errors import RefusalCode
from escalation.events import EventDraft
from escalation.policy import Until
from escalation.rules.clocks import stop_when
from escalation.rules.context import Context, gate, refuse
from escalation.rules.text import check_text


def convene_panel(case: Case, command: ConvenePanel, ctx: Context) -> list[EventDraft]:
    gate(case, ctx).check(CONVENE_PANEL, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    rules = stage.panel
    assert rules is not None  # the check refuses a stage without a panel
    agency_ids = list(dict.fromkeys(a.strip() for a in command.agency_ids if a.strip()))
    for agency_id in agency_ids:
        agency = ctx.pack.agency(agency_id)
        if agency is None or not agency.board_member:
            raise refuse(
                RefusalCode.INVALID_INPUT,
                f"{agency_id} is not a member agency of {ctx.pack.board.short_name}.",
                *rules.clauses,
            )
        if agency_id in case.party_agencies:
            raise refuse(
                RefusalCode.INVALID_INPUT,
                f"{agency.name} is concerned in the disagreement and cannot sit on the panel.",
                *rules.clauses,
            )
    if len(agency_ids) < rules.min_agencies:
        raise refuse(
            RefusalCode.INVALID_INPUT,
            f"The panel needs at least {rules.min_agencies} member agencies not concerned in the "
            f"disagreement ({len(agency_ids)} given).",
            *rules.clauses,
        )
    return [
        EventDraft(
            "PanelConvened",
            {
                "stage": stage.id,
                "agency_ids": agency_ids,
                "binding": rules.binding,
                "clauses": rules.clauses,
            },
        )
    ]


def record_representation(
    case: Case, command: RecordRepresentation, ctx: Context
) -> list[EventDraft]:
    gate(case, ctx).check(REPRESENT, command.actor_id, ctx.now, agency_id=command.agency_id)
    summary = check_text("summary", command.summary, required=True)
    return [
        EventDraft(
            "RepresentationRecorded",
            {"stage": case.stage, "agency_id": command.agency_id, "summary": summary},
        )
    ]


def record_panel_decision(
    case: Case, command: RecordPanelDecision, ctx: Context
) -> list[EventDraft]:
    gate(case, ctx).check(DECIDE, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    rules = stage.panel
    assert rules is not None  # the check refuses a stage without a convened panel
    decision = check_text("decision", command.decision, required=True)
    drafts = [
        EventDraft(
            "PanelDecisionRecorded",
            {
                "stage": stage.id,
                "decision": decision,
                "binding": rules.binding,
                "clauses": rules.clauses,
            },
        )
    ]
    drafts += stop_when(case, ctx, stage.id, [Until.STAGE_RESOLVED], ctx.now)
    return drafts
