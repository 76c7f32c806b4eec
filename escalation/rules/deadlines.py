"""A running clock's own verbs: setting an earlier protective deadline, recording a milestone."""

from __future__ import annotations

from escalation.access import MILESTONE, SET_DEADLINE
from escalation.case import Case, ClockStatus
from escalation.commands import RecordMilestone, SetProtectiveDeadline
from escalation.errors import RefusalCode
from escalation.events import EventDraft
from escalation.policy import RunsFrom
from escalation.rules.clocks import start_clock, stop_clock
from escalation.rules.context import Context, gate, refuse
from escalation.rules.text import check_text


def set_protective_deadline(
    case: Case, command: SetProtectiveDeadline, ctx: Context
) -> list[EventDraft]:
    gate(case, ctx).check(SET_DEADLINE, command.actor_id, ctx.now, clock_id=command.clock_id)
    stage = ctx.pack.stage(case.stage)
    clock = case.running_clock(stage.id, command.clock_id)
    definition = stage.clock(command.clock_id)
    assert clock is not None and definition is not None  # the check refuses any other
    if clock.waiting(ctx.now):
        raise refuse(
            RefusalCode.INVALID_STATE,
            f"'{definition.label}' has not started: it runs only if '{clock.follows}' is missed. "
            "Set the earlier deadline on that one.",
            *definition.clauses,
        )
    if command.due.tzinfo is None:
        raise refuse(RefusalCode.INVALID_INPUT, "The deadline needs a time zone.")
    if command.due <= ctx.now:
        raise refuse(RefusalCode.CLOCK, "A protective deadline must be in the future.")
    if command.due >= clock.effective_due:
        raise refuse(
            RefusalCode.INVALID_INPUT,
            "A protective deadline must be earlier than the current one "
            f"({clock.effective_due.astimezone(ctx.calendar.tz):%a %d %b %Y %H:%M}).",
            *definition.clauses,
        )
    reason = check_text("reason", command.reason, required=True)
    drafts = [
        EventDraft(
            "ProtectiveDeadlineSet",
            {
                "stage": stage.id,
                "clock": clock.clock,
                "due": command.due.isoformat(),
                "reason": reason,
                "clauses": definition.clauses,
            },
        )
    ]
    # What follows this clock on its being missed now waits for the earlier deadline.
    for follower in stage.followers(clock.clock, RunsFrom.CLOCK_MISSED):
        waiting = case.running_clock(stage.id, follower.id)
        if waiting is None or not waiting.waiting(ctx.now):
            continue
        drafts.append(
            EventDraft(
                "ClockStopped",
                {
                    "stage": stage.id,
                    "clock": follower.id,
                    "status": ClockStatus.ENDED.value,
                    "at": ctx.now.isoformat(),
                },
            )
        )
        drafts.append(
            start_clock(
                case.immediate_risk,
                stage,
                follower,
                command.due,
                ctx,
                follows=(clock.clock, "missed"),
            )
        )
    return drafts


def record_milestone(case: Case, command: RecordMilestone, ctx: Context) -> list[EventDraft]:
    gate(case, ctx).check(MILESTONE, command.actor_id, ctx.now, clock_id=command.clock_id)
    stage = ctx.pack.stage(case.stage)
    clock = case.running_clock(stage.id, command.clock_id)
    definition = stage.clock(command.clock_id)
    assert clock is not None and definition is not None and definition.milestone is not None
    note = check_text("note", command.note, required=False)
    return [
        EventDraft(
            "MilestoneRecorded",
            {
                "stage": stage.id,
                "clock": clock.clock,
                "label": definition.milestone.button,
                "note": note,
                "clauses": definition.clauses,
            },
        ),
        stop_clock(case, clock, ctx.now, met=True),
    ]
