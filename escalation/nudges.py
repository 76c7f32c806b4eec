"""Nudges: the reminders the scheduler sends while a clock runs, by the pack's rules.

Pure functions of a case's state, its pack, the directory and a moment. Nothing is stored: a sweep
asks `due_nudges(case, ..., now=...)` what it must send at `now`, as often as it likes, and the
idempotency key of each nudge (case, stage, clock, kind, day, recipient) stops a second send.
Because the schedule is recomputed from the current state on every sweep, a case that moves on
(its old stage's clocks stop), is resolved or closed (no nudges at all), or gets a protective
deadline (`effective_due` changes) has its pending nudges cancelled or re-timed with no
bookkeeping.

For each running clock of the case's current stage, with D the local day of `effective_due`:

* early_warning: on the working day `pack.nudges.early_warning_working_days` before D, at
  `pack.nudges.send_at` (none when the setting is 0, or when that day is before the clock started);
* due_today: on D at `send_at`, when D is a working day and that moment is not after the deadline;
* overdue: at the first working-day `send_at` moment strictly after the deadline, to the owners;
* overdue_manager: at `send_at` on the next working day, to the owners' line managers;
* overdue_reminder: at `send_at` on each working day after that, to the owners, while it runs.

Rules decided here where the requirement is silent:

* A scheduled moment earlier than the clock's start, on the start's own day, moves to the start
  moment (a same-day clock started at 14:00 gets its due_today at 14:00); if the start is at or
  after the end of that working day the nudge is dropped (the next one covers it).
* A due_today whose moment is after the deadline (a protective deadline at 08:00, say) is
  dropped: the overdue message follows at the next send moment.
* A sweep sends only the nudges of its own local day: nothing is returned on a weekend or bank
  holiday, and a nudge not sent on its day is not sent later (the next day's nudge supersedes
  it), so nobody is told "due today" about yesterday.
* Owners are the clock's `owner` selectors (the stage's actors when a clock names none); people
  the directory cannot resolve are skipped (the event notifications already asked the raiser to
  contact them by hand). Managers are deduplicated; owners without a line manager are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from escalation.actors import Resolution, clock_owners, line_manager, resolve
from escalation.calendar import WorkingCalendar
from escalation.case import Case, CaseStatus, ClockState, ClockStatus
from escalation.directory import Directory
from escalation.notifications import Notification, Recipient
from escalation.policy import PolicyPack, Wording

__all__ = [
    "OVERDUE_KINDS",
    "Nudge",
    "NudgeKind",
    "PlannedNudge",
    "due_nudges",
    "nudge_key",
    "schedule",
]

_ONE_DAY = timedelta(days=1)
# Bounds the backwards search for working days; the longest run of non-working days in England
# and Wales is four (Christmas falling on a Friday), so a year is far beyond any real gap.
_MAX_DAYS_BACK = 366


class NudgeKind(StrEnum):
    EARLY_WARNING = "early_warning"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    OVERDUE_MANAGER = "overdue_manager"
    OVERDUE_REMINDER = "overdue_reminder"
    STAGE_REMINDER = "stage_reminder"  # a stage with no clock of its own: the case still waits


OVERDUE_KINDS = frozenset(
    {NudgeKind.OVERDUE, NudgeKind.OVERDUE_MANAGER, NudgeKind.OVERDUE_REMINDER}
)


def nudge_key(case_id: str, stage: str, clock: str, kind: str, day: date, recipient_id: str) -> str:
    """Idempotency key: one nudge per case, clock, kind, local day and person."""
    return f"{case_id}:nudge:{stage}:{clock}:{kind}:{day.isoformat()}:person:{recipient_id}"


@dataclass(frozen=True)
class Nudge:
    case_id: str
    stage: str
    clock: str
    clock_label: str
    kind: NudgeKind
    day: date  # the local day of send_at
    send_at: datetime  # aware, in the pack's time zone
    due: datetime  # the clock's effective deadline when the nudge was computed
    recipient_id: str
    reason: str
    action_required: bool
    escalate_offered: bool
    clauses: tuple[str, ...]

    @property
    def key(self) -> str:
        return nudge_key(
            self.case_id, self.stage, self.clock, self.kind, self.day, self.recipient_id
        )

    def to_notification(self, case: Case) -> Notification:
        """The nudge as an outbox item; its idempotency key travels in details["key"]."""
        return Notification(
            case_id=self.case_id,
            event_seq=case.version,
            kind=self.kind.value,
            recipient=Recipient.person(self.recipient_id),
            reason=self.reason,
            stage=self.stage,
            clauses=self.clauses,
            action_required=self.action_required,
            key_override=self.key,
            details={
                "clock": self.clock,
                "day": self.day.isoformat(),
                "nudge": self.kind.value,
                "key": self.key,
                "due": self.due.isoformat(),
                "escalate": "true" if self.escalate_offered else "false",
            },
        )


@dataclass(frozen=True)
class PlannedNudge:
    """One kind of nudge for one clock at one moment, before its recipients are resolved."""

    kind: NudgeKind
    at: datetime


# -- calendar helpers -----------------------------------------------------------------------------


def _previous_working_day(calendar: WorkingCalendar, day: date) -> date:
    candidate = day
    for _ in range(_MAX_DAYS_BACK):
        candidate -= _ONE_DAY
        if calendar.is_working_day(candidate):
            return candidate
    raise ValueError(f"no working day in the year before {day.isoformat()}")


def _working_days_before(calendar: WorkingCalendar, day: date, n: int) -> date:
    result = day
    for _ in range(n):
        result = _previous_working_day(calendar, result)
    return result


def _first_send_after(calendar: WorkingCalendar, moment: datetime, send_at: time) -> datetime:
    """The first working-day `send_at` moment strictly after `moment`."""
    day = calendar.local_date(moment)
    if calendar.is_working_day(day) and calendar.at(day, send_at) > moment:
        return calendar.at(day, send_at)
    return calendar.at(calendar.next_working_day(day), send_at)


def _not_before_start(
    calendar: WorkingCalendar, day: date, moment: datetime, clock: ClockState
) -> datetime | None:
    """`moment` on `day`, moved to the clock's start if it started later that day; else None."""
    start_day = calendar.local_date(clock.started_at)
    if day < start_day:
        return None
    if day == start_day and clock.started_at > moment:
        if clock.started_at >= calendar.end_of(day):
            return None  # started after the working day ended: the next nudge covers it
        return clock.started_at
    return moment


# -- the schedule ---------------------------------------------------------------------------------


def schedule(
    clock: ClockState,
    pack: PolicyPack,
    calendar: WorkingCalendar,
    *,
    until: date,
    since: date | None = None,
) -> list[PlannedNudge]:
    """The nudge moments of a running clock whose local day is in [`since`, `until`]."""
    settings = pack.nudges
    due = clock.effective_due
    due_day = calendar.local_date(due)
    planned: list[PlannedNudge] = []

    if settings.early_warning_working_days > 0:
        day = _working_days_before(calendar, due_day, settings.early_warning_working_days)
        moment = _not_before_start(calendar, day, calendar.at(day, settings.send_at), clock)
        if moment is not None and moment < due:
            planned.append(PlannedNudge(NudgeKind.EARLY_WARNING, moment))

    if calendar.is_working_day(due_day):
        moment = _not_before_start(calendar, due_day, calendar.at(due_day, settings.send_at), clock)
        if moment is not None and moment <= due:
            planned.append(PlannedNudge(NudgeKind.DUE_TODAY, moment))

    overdue = _first_send_after(calendar, max(due, clock.started_at), settings.send_at)
    overdue_day = calendar.local_date(overdue)
    planned.append(PlannedNudge(NudgeKind.OVERDUE, overdue))
    manager_day = calendar.next_working_day(overdue_day)
    planned.append(
        PlannedNudge(NudgeKind.OVERDUE_MANAGER, calendar.at(manager_day, settings.send_at))
    )
    day = calendar.next_working_day(manager_day)
    if since is not None and day < since:
        # Skip straight to the window rather than walk a long-overdue clock's every day.
        day = since if calendar.is_working_day(since) else calendar.next_working_day(since)
    while day <= until:
        planned.append(PlannedNudge(NudgeKind.OVERDUE_REMINDER, calendar.at(day, settings.send_at)))
        day = calendar.next_working_day(day)
    return [
        p
        for p in planned
        if calendar.local_date(p.at) <= until
        and (since is None or calendar.local_date(p.at) >= since)
    ]


# -- recipients and words -------------------------------------------------------------------------


def _owners(clock: ClockState, case: Case, pack: PolicyPack, directory: Directory) -> Resolution:
    return clock_owners(case, pack, directory, clock.stage, clock.clock)


def _when(calendar: WorkingCalendar, moment: datetime) -> str:
    local = moment.astimezone(calendar.tz)
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"


def _reason(
    kind: NudgeKind,
    clock: ClockState,
    calendar: WorkingCalendar,
    managed: str = "",
    *,
    person: str = Wording().the_person,
) -> str:
    label = f"'{clock.label}'"
    due = clock.effective_due
    time_only = f"{due.astimezone(calendar.tz):%H:%M}"
    if kind == NudgeKind.EARLY_WARNING:
        text = f"{label} is due on {_when(calendar, due)}."
    elif kind == NudgeKind.DUE_TODAY:
        text = f"{label} is due today at {time_only}."
    elif kind == NudgeKind.OVERDUE:
        text = f"{label} was due on {_when(calendar, due)} and is overdue."
    elif kind == NudgeKind.OVERDUE_MANAGER:
        text = (
            f"{label} was due on {_when(calendar, due)} and is still overdue; you are told as "
            f"the line manager of {managed}."
        )
    else:
        text = f"{label} is still overdue: it was due on {_when(calendar, due)}."
    if clock.protective_due is not None and clock.protective_due == due:
        text += f" An earlier deadline was set to protect {person}: {clock.protective_reason}."
    return text


def _nudges_for(
    case: Case,
    clock: ClockState,
    planned: PlannedNudge,
    pack: PolicyPack,
    directory: Directory,
    calendar: WorkingCalendar,
) -> list[Nudge]:
    owners = _owners(clock, case, pack, directory)
    person = pack.words.the_person
    recipients: list[tuple[str, str]] = []  # (person id, reason)
    if planned.kind == NudgeKind.OVERDUE_MANAGER:
        managed: dict[str, list[str]] = {}
        for actor in owners.actors:
            manager = line_manager(directory, actor.person_id, case.board_id)
            if manager is not None:
                owner = directory.person(actor.person_id)
                managed.setdefault(manager.id, []).append(
                    owner.name if owner is not None else actor.person_id
                )
        recipients = [
            (
                manager_id,
                _reason(planned.kind, clock, calendar, " and ".join(names), person=person),
            )
            for manager_id, names in managed.items()
        ]
    else:
        text = _reason(planned.kind, clock, calendar, person=person)
        recipients = [(actor.person_id, text) for actor in owners.actors]
    escalates = pack.stage(clock.stage).escalates_to is not None
    return [
        Nudge(
            case_id=case.id,
            stage=clock.stage,
            clock=clock.clock,
            clock_label=clock.label,
            kind=planned.kind,
            day=calendar.local_date(planned.at),
            send_at=planned.at.astimezone(calendar.tz),
            due=clock.effective_due,
            recipient_id=person_id,
            reason=reason,
            action_required=True,
            escalate_offered=escalates and planned.kind in OVERDUE_KINDS,
            clauses=clock.clauses,
        )
        for person_id, reason in recipients
    ]


# -- reminders at a stage with no clock of its own --------------------------------------------


def _stage_reminders(
    case: Case,
    clock: ClockState,
    pack: PolicyPack,
    directory: Directory,
    calendar: WorkingCalendar,
    now: datetime,
) -> list[Nudge]:
    """Every `reminder_every` working days after the case reached the stage, at the pack's
    send time, to the people the reminders name (the stage's actors by default)."""
    every = clock.reminder_every or 0
    today = calendar.local_date(now)
    waited = calendar.working_days_between(clock.started_at, now)
    moment = calendar.at(today, pack.nudges.send_at)
    if every < 1 or waited < every or waited % every or moment > now:
        return []
    try:
        stage = pack.stage(clock.stage)
    except KeyError:
        return []
    rule = stage.reminders or pack.reminders
    selectors = rule.to if rule is not None and rule.to else stage.actors
    words = pack.words
    days = f"{waited} working day{'s' if waited != 1 else ''}"
    reason = (
        f"The case has waited at {words.stage} {stage.id} ({stage.name}) for {days}; its policy "
        f"sets no deadline there. Record where it stands, resolve it or escalate it."
    )
    return [
        Nudge(
            case_id=case.id,
            stage=clock.stage,
            clock=clock.clock,
            clock_label=clock.label,
            kind=NudgeKind.STAGE_REMINDER,
            day=today,
            send_at=moment.astimezone(calendar.tz),
            due=clock.effective_due,
            recipient_id=actor.person_id,
            reason=reason,
            action_required=True,
            escalate_offered=stage.escalates_to is not None,
            clauses=clock.clauses,
        )
        for actor in resolve(selectors, case, pack, directory).actors
    ]


# -- the sweep ------------------------------------------------------------------------------------


def due_nudges(
    case: Case,
    pack: PolicyPack,
    directory: Directory,
    calendar: WorkingCalendar,
    *,
    now: datetime,
) -> list[Nudge]:
    """What a sweep at `now` must send for this case: today's nudges whose moment has come.

    Calling it again the same day returns the same nudges (their keys make a second send a
    no-op). Nothing is returned on a weekend or bank holiday, or for a case that is not open.
    """
    today = calendar.local_date(now)
    if case.status != CaseStatus.OPEN or not calendar.is_working_day(today):
        return []
    result: list[Nudge] = []
    for clock in case.clocks_of_stage(case.stage):
        if clock.status != ClockStatus.RUNNING or case.lapsed(clock, now):
            continue  # a window that passed hands on: the clock that follows it is nudged
        if clock.reminder_every is not None:
            result.extend(_stage_reminders(case, clock, pack, directory, calendar, now))
            continue
        for planned in schedule(clock, pack, calendar, since=today, until=today):
            if planned.at <= now:  # the schedule holds only today's moments
                result.extend(_nudges_for(case, clock, planned, pack, directory, calendar))
    return result
