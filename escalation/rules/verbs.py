"""Which rule each command runs (`_HANDLERS`, the one place a verb maps to its rule), and the
checks every command on an existing case passes first: a sane clock, an active actor, the
version the card shows. Windows that passed since the last change are settled before the rule
decides, and the clocks the change starts or calls off follow it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from escalation.case import Case, evolve
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CaseCommand,
    CloseCase,
    ConfirmOutcome,
    ConvenePanel,
    Escalate,
    RecordAgencyResponse,
    RecordDeliveryFailure,
    RecordDiscussion,
    RecordMilestone,
    RecordPanelDecision,
    RecordRecommendations,
    RecordRepresentation,
    SetProtectiveDeadline,
)
from escalation.errors import RefusalCode
from escalation.events import EventDraft, append
from escalation.rules.clocks import follow_on, settle
from escalation.rules.closing import close
from escalation.rules.context import SYSTEM, Context, refuse, require_active, require_version
from escalation.rules.deadlines import record_milestone, set_protective_deadline
from escalation.rules.delivery import record_delivery_failure
from escalation.rules.panel import convene_panel, record_panel_decision, record_representation
from escalation.rules.recommendations import record_agency_response, record_recommendations
from escalation.rules.records import (
    approve_outcome,
    approve_record,
    confirm_outcome,
    record_discussion,
)
from escalation.rules.stages import ask_safeguarding_lead, escalate


def decide(case: Case, command: CaseCommand, ctx: Context) -> list[EventDraft]:
    if ctx.now < (case.updated_at or case.raised_at):
        raise refuse(
            RefusalCode.CLOCK,
            "The time now is earlier than the case's last change: the server clock looks wrong, "
            "so nothing was changed.",
        )
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise TypeError(f"no rule for {type(command).__name__}")
    require_active(ctx, ctx.directory.person(command.actor_id))
    require_version(case, getattr(command, "expected_version", None))
    settled = settle(case, ctx)
    if settled:
        case = _as_if(case, settled, ctx)
    return follow_on(case, [*settled, *handler(case, command, ctx)], ctx)


def _as_if(case: Case, drafts: list[EventDraft], ctx: Context) -> Case:
    """The case as it would stand after `drafts` (for the rules to decide on; nothing is kept)."""
    events = append(case.id, [], drafts, at=ctx.now, author=SYSTEM)
    return evolve(case, [replace(e, seq=case.version + e.seq) for e in events])


_HANDLERS: dict[type[Any], Callable[[Case, Any, Context], list[EventDraft]]] = {
    RecordDiscussion: record_discussion,
    ApproveRecord: approve_record,
    ConfirmOutcome: confirm_outcome,
    ApproveOutcome: approve_outcome,
    Escalate: escalate,
    SetProtectiveDeadline: set_protective_deadline,
    AskSafeguardingLead: ask_safeguarding_lead,
    RecordMilestone: record_milestone,
    RecordRecommendations: record_recommendations,
    RecordAgencyResponse: record_agency_response,
    ConvenePanel: convene_panel,
    RecordRepresentation: record_representation,
    RecordPanelDecision: record_panel_decision,
    CloseCase: close,
    RecordDeliveryFailure: record_delivery_failure,
}
