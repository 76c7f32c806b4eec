"""A stage's recommendations (the Chair's, at Redbridge) and each agency's response to them."""

from __future__ import annotations

from escalation.access import RECOMMEND, RESPOND
from escalation.case import Case
from escalation.commands import RecordAgencyResponse, RecordRecommendations
from escalation.errors import RefusalCode
from escalation.events import EventDraft
from escalation.policy import Until
from escalation.rules.clocks import stop_when
from escalation.rules.context import Context, gate, refuse
from escalation.rules.text import check_text


def record_recommendations(
    case: Case, command: RecordRecommendations, ctx: Context
) -> list[EventDraft]:
    gate(case, ctx).check(RECOMMEND, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    rules = stage.recommendations
    assert rules is not None  # the check refuses a stage without recommendations
    items = [check_text("recommendation", r, required=False) for r in command.recommendations]
    items = [i for i in items if i]
    if not items:
        raise refuse(RefusalCode.INVALID_INPUT, "Give at least one recommendation.")
    drafts = [
        EventDraft(
            "RecommendationsRecorded",
            {
                "stage": stage.id,
                "recommendations": items,
                "binding": rules.binding,
                "clauses": rules.clauses,
            },
        )
    ]
    drafts += stop_when(case, ctx, stage.id, [Until.STAGE_RESOLVED], ctx.now)
    return drafts


def record_agency_response(
    case: Case, command: RecordAgencyResponse, ctx: Context
) -> list[EventDraft]:
    gate(case, ctx).check(RESPOND, command.actor_id, ctx.now, agency_id=command.agency_id)
    if command.response not in ("accepted", "partly_accepted", "not_accepted"):
        raise refuse(RefusalCode.INVALID_INPUT, f"Unknown response {command.response!r}.")
    detail = check_text("detail", command.detail, required=command.response != "accepted")
    return [
        EventDraft(
            "AgencyResponseRecorded",
            {"agency_id": command.agency_id, "response": command.response, "detail": detail},
        )
    ]
