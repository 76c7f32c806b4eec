"""Discussion records and outcomes: recording a discussion, approving another's record,
confirming and approving the outcome."""

from __future__ import annotations

from escalation.access import APPROVE_OUTCOME, APPROVE_RECORD, CONFIRM_OUTCOME, RECORD
from escalation.calendar import start_of_day
from escalation.case import Case
from escalation.commands import ApproveOutcome, ApproveRecord, ConfirmOutcome, RecordDiscussion
from escalation.errors import RefusalCode
from escalation.events import EventDraft
from escalation.policy import RunsFrom, Until
from escalation.rules.clocks import start_clock, started, stop_when
from escalation.rules.context import Context, gate, refuse
from escalation.rules.text import check_text


def record_discussion(case: Case, command: RecordDiscussion, ctx: Context) -> list[EventDraft]:
    gate(case, ctx).check(RECORD, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    if command.held_at.tzinfo is None:
        raise refuse(RefusalCode.INVALID_INPUT, "The time of the discussion needs a time zone.")
    if command.held_at > ctx.now:
        raise refuse(RefusalCode.INVALID_INPUT, "The discussion cannot be in the future.")
    if command.held_at < start_of_day(ctx.calendar, case.disagreement_date):
        raise refuse(
            RefusalCode.INVALID_INPUT, "The discussion cannot be before the disagreement arose."
        )
    participants = tuple(p.strip() for p in command.participants if p.strip())
    if not participants:
        raise refuse(RefusalCode.INVALID_INPUT, "Name who took part in the discussion.")
    summary = check_text("summary", command.summary, required=True)
    points = check_text(
        "points_of_difference",
        command.points_of_difference,
        required="points_of_difference" in stage.record_requires,
    )
    basis = check_text(
        "basis_of_decision",
        command.basis_of_decision,
        required="basis_of_decision" in stage.record_requires,
    )
    agreed = check_text(
        "agreed_outcome", command.agreed_outcome, required=command.outcome == "resolved"
    )
    outstanding = check_text("outstanding_issues", command.outstanding_issues, required=False)
    if command.outcome not in ("resolved", "not_resolved", "continuing"):
        raise refuse(RefusalCode.INVALID_INPUT, f"Unknown outcome {command.outcome!r}.")
    method = check_text("method", command.method, required=True, limit=40)
    record_id = f"R{len(case.records) + 1}"
    drafts = [
        EventDraft(
            "DiscussionRecorded",
            {
                "record_id": record_id,
                "stage": stage.id,
                "held_at": command.held_at.isoformat(),
                "participants": list(participants),
                "method": method,
                "summary": summary,
                "points_of_difference": points,
                "outcome": command.outcome,
                "agreed_outcome": agreed,
                "outstanding_issues": outstanding,
                "basis_of_decision": basis,
            },
        )
    ]
    drafts += stop_when(
        case, ctx, stage.id, [Until.DISCUSSION_RECORDED], ctx.now, by=command.actor_id
    )
    starts = {
        "resolved": RunsFrom.RESOLUTION_REACHED,
        "not_resolved": RunsFrom.DISCUSSION_FAILED,
    }.get(command.outcome)
    for clock in stage.clocks:
        if clock.runs_from != starts:
            continue
        if starts == RunsFrom.DISCUSSION_FAILED and started(case, drafts, stage.id, clock.id):
            continue  # the first failed discussion starts it, once
        if case.running_clock(stage.id, clock.id) is None:
            drafts.append(start_clock(case.immediate_risk, stage, clock, ctx.now, ctx))
    return drafts


def approve_record(case: Case, command: ApproveRecord, ctx: Context) -> list[EventDraft]:
    gate(case, ctx).check(APPROVE_RECORD, command.actor_id, ctx.now, record_id=command.record_id)
    record = case.record(command.record_id)
    assert record is not None  # the check refuses a record the case does not have
    drafts = [EventDraft("RecordApproved", {"record_id": record.id, "stage": record.stage})]
    # An owner who approves another's record of a discussion has had that discussion.
    drafts += stop_when(
        case, ctx, record.stage, [Until.DISCUSSION_RECORDED], ctx.now, by=command.actor_id
    )
    return drafts


def confirm_outcome(case: Case, command: ConfirmOutcome, ctx: Context) -> list[EventDraft]:
    gate(case, ctx).check(CONFIRM_OUTCOME, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    outcome = check_text("outcome", command.outcome, required=True)
    outstanding = check_text("outstanding_issues", command.outstanding_issues, required=False)
    drafts = [
        EventDraft(
            "OutcomeConfirmed",
            {"stage": stage.id, "outcome": outcome, "outstanding_issues": outstanding},
        )
    ]
    # Confirming the agreed outcome in writing is also the owner's word that they had the
    # discussion.
    drafts += stop_when(
        case,
        ctx,
        stage.id,
        [Until.OUTCOME_CONFIRMED, Until.DISCUSSION_RECORDED],
        ctx.now,
        by=command.actor_id,
    )
    return drafts


def approve_outcome(case: Case, command: ApproveOutcome, ctx: Context) -> list[EventDraft]:
    gate(case, ctx).check(APPROVE_OUTCOME, command.actor_id, ctx.now)
    drafts = [EventDraft("OutcomeApproved", {"stage": case.stage})]
    drafts += stop_when(case, ctx, case.stage, [Until.STAGE_RESOLVED], ctx.now)
    return drafts
