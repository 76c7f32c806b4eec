"""Stages: entering one (its clocks and reminders), escalating to the next, and asking the
stage's safeguarding lead for advice."""

from __future__ import annotations

from datetime import datetime

from escalation.access import ASK_LEAD, ESCALATE, escalation_target
from escalation.actors import resolve
from escalation.calendar import start_of_day
from escalation.case import Case, ClockStatus
from escalation.commands import AskSafeguardingLead, Escalate
from escalation.events import EventDraft
from escalation.policy import RunsFrom, Stage, Until
from escalation.rules.clocks import clock_definition, end_stage_clocks, start_clock, start_reminders
from escalation.rules.context import Context, gate
from escalation.rules.text import check_text

# Clocks that do not start when the stage is entered: they wait for something at the stage.
_LATER = frozenset(
    {
        RunsFrom.RESOLUTION_REACHED,
        RunsFrom.DISCUSSION_FAILED,
        RunsFrom.CLOCK_MISSED,
        RunsFrom.CLOCK_MET,
    }
)


def enter_stage(
    case: Case,
    stage: Stage,
    ctx: Context,
    *,
    reason: str,
    trigger_at: datetime | None,
    policy_issue: bool = False,
    details: dict[str, str] | None = None,
) -> list[EventDraft]:
    now = ctx.now
    drafts = [
        EventDraft(
            "StageEntered",
            {
                "stage": stage.id,
                "name": stage.name,
                "reason": reason,
                "policy_issue": policy_issue,
                "details": details or {},
                "trigger_at": trigger_at.isoformat() if trigger_at else None,
                "copy_business_manager": stage.copy_business_manager,
                "clauses": stage.clauses,
            },
        )
    ]
    for clock in stage.clocks:
        if clock.runs_from in _LATER:
            continue  # starts when a discussion at this stage ends, or another clock's result
        if clock.runs_from == RunsFrom.ESCALATION_TRIGGERED:
            if trigger_at is None:
                continue  # the case started here: nothing was referred
            start = trigger_at
        elif clock.runs_from == RunsFrom.DISAGREEMENT_DATE:
            start = start_of_day(ctx.calendar, case.disagreement_date)
        elif clock.of_stage is not None:
            anchor = next((v for v in case.stages if v.stage == clock.of_stage), None)
            start = anchor.entered_at if anchor is not None else now
        else:
            start = now
        started = start_clock(case.immediate_risk, stage, clock, start, ctx)
        drafts.append(started)
        if clock.until in (Until.STAGE_ENTERED, Until.CASE_RAISED):
            # The thing this clock waits for is happening now: it stops as it starts.
            due = datetime.fromisoformat(str(started.data["due"]))
            status = ClockStatus.MET if now <= due else ClockStatus.MISSED
            drafts.append(
                EventDraft(
                    "ClockStopped",
                    {
                        "stage": stage.id,
                        "clock": clock.id,
                        "status": status.value,
                        "at": now.isoformat(),
                        "done": True,
                    },
                )
            )
    reminders = stage.reminders
    if reminders is None and not _runs_after_entry(drafts, stage.id):
        reminders = ctx.pack.reminders
    if reminders is not None:
        drafts.append(start_reminders(stage, reminders, now, ctx))
    return drafts


def _runs_after_entry(drafts: list[EventDraft], stage_id: str) -> bool:
    """Whether entering the stage left one of its clocks running."""
    started = {
        str(d.data["clock"])
        for d in drafts
        if d.type == "ClockStarted" and d.data["stage"] == stage_id
    }
    stopped = {
        str(d.data["clock"])
        for d in drafts
        if d.type == "ClockStopped" and d.data["stage"] == stage_id
    }
    return bool(started - stopped)


def _escalation_trigger(case: Case, ctx: Context) -> datetime:
    """When the current stage could not resolve it: a 'not resolved' record or a missed clock."""
    candidates = [ctx.now]
    if case.escalation_triggered_at is not None:
        candidates.append(case.escalation_triggered_at)
    for clock in case.clocks_of_stage(case.stage):
        definition = clock_definition(ctx.pack, clock)
        if (
            clock.status == ClockStatus.RUNNING
            and definition
            and definition.until == Until.STAGE_RESOLVED
        ):
            candidates.append(min(clock.effective_due, ctx.now))
    return min(candidates)


def escalate(case: Case, command: Escalate, ctx: Context) -> list[EventDraft]:
    gate(case, ctx).check(ESCALATE, command.actor_id, ctx.now, policy_issue=command.policy_issue)
    stage = ctx.pack.stage(case.stage)
    target = escalation_target(case, ctx.pack, policy_issue=command.policy_issue)
    reason = check_text("reason", command.reason, required=True)
    details = {"reason": reason}
    for name in ("aim", "evidence", "evidence_source"):
        value = check_text(name, getattr(command, name), required=name in target.entry_requires)
        if value:
            details[name] = value
    trigger = _escalation_trigger(case, ctx)
    drafts = end_stage_clocks(case, stage.id, ctx.now)
    drafts += enter_stage(
        case,
        target,
        ctx,
        reason=reason,
        trigger_at=trigger,
        policy_issue=command.policy_issue,
        details=details,
    )
    return drafts


def ask_safeguarding_lead(
    case: Case, command: AskSafeguardingLead, ctx: Context
) -> list[EventDraft]:
    gate(case, ctx).check(ASK_LEAD, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    advisers = resolve(stage.advisers, case, ctx.pack, ctx.directory)
    question = check_text("question", command.question, required=True)
    return [
        EventDraft(
            "AdviceRequested",
            {
                "stage": stage.id,
                "question": question,
                "advisers": sorted(advisers.person_ids),
                "clauses": stage.clauses,
            },
        )
    ]
