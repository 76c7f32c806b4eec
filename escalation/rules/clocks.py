"""Clocks: starting and stopping them, the clocks that follow others, and windows that passed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from escalation.actors import party_ids, resolve
from escalation.calendar import deadline, earliest
from escalation.case import Case, ClockState, ClockStatus
from escalation.events import EventDraft
from escalation.policy import (
    REMINDER_CLOCK,
    Clock,
    PolicyPack,
    Reminders,
    RunsFrom,
    Stage,
    Timescale,
    Until,
)
from escalation.rules.context import Context


def clock_definition(pack: PolicyPack, clock: ClockState) -> Clock | None:
    try:
        return pack.stage(clock.stage).clock(clock.clock)
    except KeyError:
        return None


def start_clock(
    case_immediate_risk: bool,
    stage: Stage,
    clock: Clock,
    start: datetime,
    ctx: Context,
    *,
    follows: tuple[str, str] | None = None,
) -> EventDraft:
    due, timescale = earliest(ctx.calendar, clock.timescales, start)
    basis = _describe(timescale)
    clauses = list(clock.clauses)
    if case_immediate_risk and clock.protective:
        limit_scale = ctx.pack.immediate_risk.timescale
        limit = deadline(ctx.calendar, limit_scale, start)
        if limit < due:
            due = limit
            basis = f"immediate risk: {_describe(limit_scale)}"
            clauses += limit_scale.clauses
    return EventDraft(
        "ClockStarted",
        {
            "stage": stage.id,
            "clock": clock.id,
            "label": clock.label,
            "started_at": start.isoformat(),
            "due": due.isoformat(),
            "clauses": clauses,
            "protective": clock.protective,
            "local_default": clock.local_default,
            "basis": basis,
            **({"after": follows[0], "when": follows[1]} if follows else {}),
        },
    )


def _describe(timescale: Timescale) -> str:
    return timescale.describe


def stop_clock(case: Case, clock: ClockState, at: datetime, *, met: bool) -> EventDraft:
    """Stop a clock: met/ended when on time; missed when it had fallen due. A window that
    passed and handed on to the clock that follows it ended: nobody was late for it. `met`
    stops are marked `done` (what the clock waits for happened), which starts the clocks that
    follow it on being met."""
    if clock.reminder_every is not None:
        status = ClockStatus.ENDED  # a reminder cadence is nobody's deadline
    elif at > clock.effective_due and case.follower_of(clock) is not None:
        status = ClockStatus.ENDED
    elif at > clock.effective_due:
        status = ClockStatus.MISSED
    else:
        status = ClockStatus.MET if met else ClockStatus.ENDED
    data: dict[str, Any] = {
        "stage": clock.stage,
        "clock": clock.clock,
        "status": status.value,
        "at": at.isoformat(),
    }
    if met:
        data["done"] = True
    return EventDraft("ClockStopped", data)


# Clocks that wait for something a person does are met only when one of the clock's owners does
# it (or approves another's record of it); the others wait for an event the policy names.
_DONE_BY_OWNER = frozenset({Until.DISCUSSION_RECORDED, Until.OUTCOME_CONFIRMED})


def _clock_owners(case: Case, ctx: Context, definition: Clock, stage_id: str) -> frozenset[str]:
    selectors = definition.owner or ctx.pack.stage(stage_id).actors
    found = resolve(selectors, case, ctx.pack, ctx.directory)
    off_teams = any(
        u.side in ("raiser", "receiver") and case.party(u.side).person_id is None
        for u in found.unresolved
    )
    if off_teams:
        # A party who is not on Teams cannot act here: the professional who records the
        # conversations with them answers for their clock.
        return found.person_ids | party_ids(case)
    return found.person_ids


def stop_when(
    case: Case,
    ctx: Context,
    stage_id: str,
    until: Iterable[Until],
    at: datetime,
    *,
    by: str | None = None,
) -> list[EventDraft]:
    wanted = set(until)
    drafts = []
    for clock in case.clocks_of_stage(stage_id):
        definition = clock_definition(ctx.pack, clock)
        if clock.status != ClockStatus.RUNNING or definition is None:
            continue
        if clock.waiting(at):
            continue  # it follows a clock not missed yet: nothing done now counts for it
        if definition.until not in wanted:
            continue
        if definition.until in _DONE_BY_OWNER and by not in _clock_owners(
            case, ctx, definition, stage_id
        ):
            continue
        drafts.append(stop_clock(case, clock, at, met=True))
    return drafts


def end_stage_clocks(
    case: Case, stage_id: str, at: datetime, *, skip: Iterable[str] = ()
) -> list[EventDraft]:
    skipped = set(skip)
    return [
        stop_clock(case, clock, at, met=False)
        for clock in case.clocks_of_stage(stage_id)
        if clock.status == ClockStatus.RUNNING and clock.clock not in skipped
    ]


def started(case: Case, drafts: Iterable[EventDraft], stage_id: str, clock_id: str) -> bool:
    """Whether the clock has started at this stage, in the case or in the change being made."""
    if any(c.stage == stage_id and c.clock == clock_id for c in case.clocks):
        return True
    return any(
        d.type == "ClockStarted" and d.data["stage"] == stage_id and d.data["clock"] == clock_id
        for d in drafts
    )


def _met_later(drafts: Iterable[EventDraft], stage_id: str, clock_id: str) -> bool:
    return any(
        d.type == "ClockStopped"
        and d.data["stage"] == stage_id
        and d.data["clock"] == clock_id
        and d.data["status"] == ClockStatus.MET.value
        for d in drafts
    )


def follow_on(case: Case, drafts: list[EventDraft], ctx: Context) -> list[EventDraft]:
    """The clocks that the change's own clocks start or call off (the pack's `after`):

    * a clock started: the clocks that follow it on being missed start at its deadline (they
      wait until then, and are called off if it is met on time);
    * a clock whose wait is over (`done`): the clocks that follow it on being met start now;
      met on time, the ones that follow it on being missed are called off (stopped before they
      started). Met late, they run: the window had passed.

    Followers of followers are handled in turn, in the order the drafts come."""
    out = list(drafts)
    index = 0
    while index < len(out):
        draft = out[index]
        index += 1
        data = draft.data
        if draft.type not in ("ClockStarted", "ClockStopped"):
            continue
        try:
            stage = ctx.pack.stage(str(data["stage"]))
        except KeyError:
            continue
        clock_id = str(data["clock"])
        if draft.type == "ClockStarted":
            if _met_later(out[index:], stage.id, clock_id):
                continue  # met in this very change: the window never passes
            start = datetime.fromisoformat(str(data["due"]))
            for follower in stage.followers(clock_id, RunsFrom.CLOCK_MISSED):
                if not started(case, out, stage.id, follower.id):
                    out.append(
                        start_clock(
                            case.immediate_risk,
                            stage,
                            follower,
                            start,
                            ctx,
                            follows=(clock_id, "missed"),
                        )
                    )
            continue
        if not data.get("done"):
            continue
        at = datetime.fromisoformat(str(data["at"]))
        for follower in stage.followers(clock_id, RunsFrom.CLOCK_MET):
            if not started(case, out, stage.id, follower.id):
                out.append(
                    start_clock(
                        case.immediate_risk, stage, follower, at, ctx, follows=(clock_id, "met")
                    )
                )
        if data["status"] == ClockStatus.MET.value:
            for follower in stage.followers(clock_id, RunsFrom.CLOCK_MISSED):
                waiting = case.running_clock(stage.id, follower.id)
                if waiting is not None or started(case, out, stage.id, follower.id):
                    out.append(
                        EventDraft(
                            "ClockStopped",
                            {
                                "stage": stage.id,
                                "clock": follower.id,
                                "status": ClockStatus.ENDED.value,
                                "at": at.isoformat(),
                            },
                        )
                    )
    return out


def settle(case: Case, ctx: Context) -> list[EventDraft]:
    """Windows that passed since the last change: each is recorded as ended at its deadline,
    handed on to the clock that follows it (which has been running since)."""
    drafts: list[EventDraft] = []
    for clock in case.running_clocks():
        if case.lapsed(clock, ctx.now):
            follower = case.follower_of(clock)
            assert follower is not None  # lapsed() says there is one
            drafts.append(
                EventDraft(
                    "ClockStopped",
                    {
                        "stage": clock.stage,
                        "clock": clock.clock,
                        "status": ClockStatus.ENDED.value,
                        "at": clock.effective_due.isoformat(),
                        "handed_to": follower.clock,
                    },
                )
            )
    return drafts


def start_reminders(
    stage: Stage, reminders: Reminders, start: datetime, ctx: Context
) -> EventDraft:
    every = reminders.every_working_days
    days = f"{every} working day{'s' if every != 1 else ''}"
    return EventDraft(
        "ClockStarted",
        {
            "stage": stage.id,
            "clock": REMINDER_CLOCK,
            "label": f"Reminders while the case waits at {ctx.pack.words.stage} {stage.id}",
            "started_at": start.isoformat(),
            "due": ctx.calendar.within_working_days(start, every).isoformat(),
            "clauses": list(reminders.clauses),
            "protective": False,
            "local_default": reminders.local_default,
            "basis": f"a reminder every {days}",
            "reminder_every": every,
        },
    )
