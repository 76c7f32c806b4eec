"""The policy's rules: what each command may do to a case, and the events it causes.

`decide` is pure: given the case, the pack, the calendar, the directory and the time, it either
refuses (changing nothing) or returns the events the command causes. It never sends or stores.
Who may see the case and who may act on it is asked of `escalation.access`, as the cards ask it,
so a button is offered exactly when the command would pass those checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from escalation.access import (
    APPROVE_OUTCOME,
    APPROVE_RECORD,
    ASK_LEAD,
    CLOSE,
    CONFIRM_OUTCOME,
    CONVENE_PANEL,
    DECIDE,
    ESCALATE,
    MILESTONE,
    RECOMMEND,
    RECORD,
    REPRESENT,
    RESPOND,
    SET_DEADLINE,
    CaseAccess,
    case_access,
    escalation_target,
    require_open,
)
from escalation.actors import holds_board_role, party_ids, resolve
from escalation.calendar import WorkingCalendar
from escalation.case import Case, CaseStatus, ClockState, ClockStatus, evolve, fold
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CaseCommand,
    CloseCase,
    ConfirmOutcome,
    ConvenePanel,
    Escalate,
    RaiseDisagreement,
    RecordAgencyResponse,
    RecordDeliveryFailure,
    RecordDiscussion,
    RecordMilestone,
    RecordPanelDecision,
    RecordRecommendations,
    RecordRepresentation,
    SetProtectiveDeadline,
)
from escalation.directory import Directory, Person
from escalation.errors import RefusalCode, Refused
from escalation.events import EventDraft, append
from escalation.joining import AgencyRoles, not_active
from escalation.policy import (
    REMINDER_CLOCK,
    Clock,
    PolicyPack,
    Reminders,
    RunsFrom,
    Stage,
    Timescale,
    Until,
    Wording,
)

MAX_TEXT = 4000
MAX_REFERENCE = 64


@dataclass(frozen=True)
class Context:
    pack: PolicyPack
    calendar: WorkingCalendar
    directory: Directory
    now: datetime


# The calendars made for the packs seen last, by the pack's identity (the pack is kept with its
# calendar, so its id cannot be reused meanwhile): a calendar loads its country's holidays,
# which costs more than a whole card action's other work, and every case view asks for one.
_CALENDARS: dict[int, tuple[PolicyPack, WorkingCalendar]] = {}
_CALENDARS_KEPT = 64


def calendar_for(pack: PolicyPack) -> WorkingCalendar:
    """The pack's working calendar (one per pack, shared: a calendar only caches holidays)."""
    known = _CALENDARS.get(id(pack))
    if known is not None and known[0] is pack:
        return known[1]
    calendar = _make_calendar(pack)
    if len(_CALENDARS) >= _CALENDARS_KEPT:
        _CALENDARS.clear()
    _CALENDARS[id(pack)] = (pack, calendar)
    return calendar


def _make_calendar(pack: PolicyPack) -> WorkingCalendar:
    settings = pack.calendar
    return WorkingCalendar(
        timezone=settings.timezone,
        country=settings.country,
        subdivision=settings.subdivision,
        end_of_day=settings.end_of_working_day,
        immediately=timedelta(minutes=settings.immediately_within_minutes),
        local_holidays={h.date: h.name for h in settings.local_holidays},
        not_holidays=settings.not_holidays,
    )


def deadline(calendar: WorkingCalendar, timescale: Timescale, start: datetime) -> datetime:
    """When a timescale that starts at `start` falls due."""
    if timescale.immediately:
        return calendar.immediately(start)
    if timescale.same_working_day:
        return calendar.same_working_day(start)
    if timescale.hours is not None:
        return calendar.within_hours(start, timescale.hours)
    assert timescale.working_days is not None
    return calendar.within_working_days(start, timescale.working_days)


def earliest(
    calendar: WorkingCalendar, timescales: Iterable[Timescale], start: datetime
) -> tuple[datetime, Timescale]:
    """The deadline that applies where a policy states a timescale more than once: the earliest
    of them, worked out from `start` (hours and working days compare only from a moment), and
    the statement it comes from. A tie goes to the statement listed first."""
    best: tuple[datetime, Timescale] | None = None
    for timescale in timescales:
        due = deadline(calendar, timescale, start)
        if best is None or due < best[0]:
            best = (due, timescale)
    if best is None:
        raise ValueError("a clock needs at least one timescale")
    return best


def start_of_day(calendar: WorkingCalendar, day: date) -> datetime:
    return calendar.at(day, time(0, 0))


# -- small checks ---------------------------------------------------------------------------------


def _refuse(code: RefusalCode, reason: str, *clauses: str) -> Refused:
    return Refused(code, reason, clauses=tuple(clauses))


def _text(name: str, value: str, *, required: bool, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _refuse(RefusalCode.INVALID_INPUT, f"{_label(name)} is required.")
    if len(value) > limit:
        raise _refuse(
            RefusalCode.INVALID_INPUT,
            f"{_label(name)} is too long ({len(value)} characters; at most {limit}).",
        )
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise _refuse(RefusalCode.INVALID_INPUT, f"{_label(name)} contains control characters.")
    return value


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def check_text(name: str, value: str, *, required: bool, limit: int = MAX_TEXT) -> str:
    """A free-text answer as the rules accept it (stripped), or `Refused` with the reason.

    Public so that the raise dialog can check each answer as it is given, with these same rules.
    """
    return _text(name, value, required=required, limit=limit)


def check_reference(value: str, person: str = Wording().person) -> str:
    """The case reference at the raiser's agency of the person at risk (`person`, the pack's
    word for them): never their name (data
    minimisation), so it must hold a digit, as agency case references do."""
    reference = _text(f"{person}'s case reference", value, required=True, limit=MAX_REFERENCE)
    if not any(ch in "0123456789" for ch in reference):
        raise _refuse(
            RefusalCode.INVALID_INPUT,
            f"Give your agency's case reference for the {person} (for example ASC-104233), not "
            f"the {person}'s name: a case reference has at least one digit.",
        )
    return reference


def _person(ctx: Context, person_id: str) -> Person:
    person = ctx.directory.person(person_id)
    if person is None:
        raise _refuse(
            RefusalCode.NOT_PERMITTED,
            "You are not in this board's directory yet: set up your profile (agency and role) "
            "first.",
        )
    _require_active(ctx, person)
    return person


def _require_active(ctx: Context, person: Person | None) -> None:
    """A pending or declined entry holds no authority: refused, naming who must approve it."""
    if person is None or person.active:
        return
    agency = ctx.pack.agency(person.agency_id)
    raise not_active(
        ctx.directory,
        person,
        agency_name=agency.name if agency is not None else person.agency_id,
        contacts=[
            holder
            for role in ctx.pack.joining.contact_roles
            for holder in ctx.directory.board_holders(ctx.pack.board.id, role)
        ],
        roles=AgencyRoles.of([ctx.pack]),
    )


def _gate(case: Case, ctx: Context) -> CaseAccess:
    """Need to know for this case: the view, the state and who may act (escalation.access)."""
    return case_access(case, ctx.pack, ctx.directory)


def _version(case: Case, expected: int | None) -> None:
    if expected is not None and expected != case.version:
        raise _refuse(
            RefusalCode.STALE,
            f"Case {case.id} has changed since you saw it (version {expected}, now "
            f"{case.version}). Look at the latest case card and try again.",
        )


# -- clocks ---------------------------------------------------------------------------------------


def _clock_def(pack: PolicyPack, clock: ClockState) -> Clock | None:
    try:
        return pack.stage(clock.stage).clock(clock.clock)
    except KeyError:
        return None


def _start_clock(
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


def _stop_clock(case: Case, clock: ClockState, at: datetime, *, met: bool) -> EventDraft:
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


def _stop_when(
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
        definition = _clock_def(ctx.pack, clock)
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
        drafts.append(_stop_clock(case, clock, at, met=True))
    return drafts


def _end_stage_clocks(
    case: Case, stage_id: str, at: datetime, *, skip: Iterable[str] = ()
) -> list[EventDraft]:
    skipped = set(skip)
    return [
        _stop_clock(case, clock, at, met=False)
        for clock in case.clocks_of_stage(stage_id)
        if clock.status == ClockStatus.RUNNING and clock.clock not in skipped
    ]


# Clocks that do not start when the stage is entered: they wait for something at the stage.
_LATER = frozenset(
    {
        RunsFrom.RESOLUTION_REACHED,
        RunsFrom.DISCUSSION_FAILED,
        RunsFrom.CLOCK_MISSED,
        RunsFrom.CLOCK_MET,
    }
)


def _started(case: Case, drafts: Iterable[EventDraft], stage_id: str, clock_id: str) -> bool:
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


def _follow_on(case: Case, drafts: list[EventDraft], ctx: Context) -> list[EventDraft]:
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
                if not _started(case, out, stage.id, follower.id):
                    out.append(
                        _start_clock(
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
            if not _started(case, out, stage.id, follower.id):
                out.append(
                    _start_clock(
                        case.immediate_risk, stage, follower, at, ctx, follows=(clock_id, "met")
                    )
                )
        if data["status"] == ClockStatus.MET.value:
            for follower in stage.followers(clock_id, RunsFrom.CLOCK_MISSED):
                waiting = case.running_clock(stage.id, follower.id)
                if waiting is not None or _started(case, out, stage.id, follower.id):
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


def _settle(case: Case, ctx: Context) -> list[EventDraft]:
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


def _enter_stage(
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
        started = _start_clock(case.immediate_risk, stage, clock, start, ctx)
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
        drafts.append(_start_reminders(stage, reminders, now, ctx))
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


def _start_reminders(
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


# -- raising a case -------------------------------------------------------------------------------


def decide_raise(command: RaiseDisagreement, ctx: Context, case_id: str) -> list[EventDraft]:
    pack = ctx.pack
    raiser = _person(ctx, command.actor_id)
    other = command.other_party
    other_agency = pack.agency(other.agency_id)
    if other_agency is None:
        raise _refuse(
            RefusalCode.INVALID_INPUT,
            f"Agency {other.agency_id!r} is not one of {pack.board.short_name}'s agencies.",
        )
    if pack.agency(raiser.agency_id) is None:
        raise _refuse(
            RefusalCode.NOT_PERMITTED,
            f"Your agency ({raiser.agency_id}) is not one of {pack.board.short_name}'s agencies.",
        )
    if holds_board_role(raiser, pack.board.id):
        raise _refuse(
            RefusalCode.NOT_PERMITTED,
            f"You hold a role on {pack.board.short_name}, which stays neutral in the "
            "disagreements it oversees: you cannot raise one with it. A colleague at your agency "
            "who is not on the board can.",
        )
    receiver_person: Person | None = None
    if other.person_id is not None:
        receiver_person = ctx.directory.person(other.person_id)
        if receiver_person is None:
            raise _refuse(
                RefusalCode.INVALID_INPUT, "The other professional is not in the directory."
            )
        if not receiver_person.active:  # a request to join is not yet someone to name
            raise _refuse(
                RefusalCode.INVALID_INPUT,
                f"{receiver_person.name} cannot be named yet: their entry at "
                f"{other_agency.name} waits for approval. Name another professional there.",
            )
        if receiver_person.agency_id != other.agency_id:
            raise _refuse(
                RefusalCode.INVALID_INPUT,
                f"{receiver_person.name} works for {receiver_person.agency_id}, not {other.agency_id}.",
            )
        if receiver_person.id == raiser.id:
            raise _refuse(
                RefusalCode.INVALID_INPUT, "You cannot raise a disagreement with yourself."
            )
        if holds_board_role(receiver_person, pack.board.id):
            raise _refuse(
                RefusalCode.INVALID_INPUT,
                f"{receiver_person.name} holds a role on {pack.board.short_name}, which stays "
                "neutral in the disagreements it oversees: name another professional at "
                f"{other_agency.name}.",
            )
    elif not (other.name or "").strip():
        raise _refuse(RefusalCode.INVALID_INPUT, "Name the other professional.")

    if (
        pack.own_manager is not None
        and other.person_id is not None
        and (other.person_id == raiser.line_manager_id)
    ):
        own = pack.own_manager
        if own.blocks_case:
            signpost = pack.signpost(own.signpost)
            text = signpost.text if signpost else ""
            raise Refused(
                RefusalCode.OWN_MANAGER,
                f"This is a disagreement with your own manager. {text}".strip(),
                clauses=tuple(own.clauses),
                signpost=own.signpost,
            )

    today = ctx.calendar.local_date(ctx.now)
    if command.disagreement_date > today:
        raise _refuse(
            RefusalCode.INVALID_INPUT,
            f"The date of the disagreement ({command.disagreement_date:%d %B %Y}) is in the future.",
        )
    reference = check_reference(command.adult_reference, pack.words.person)
    initials = (command.adult_initials or "").strip() or None
    if initials is not None and not (initials.isalpha() and len(initials) <= 4):
        raise _refuse(RefusalCode.INVALID_INPUT, "Initials are up to four letters.")
    if pack.category(command.category) is None:
        known = ", ".join(c.id for c in pack.categories)
        raise _refuse(
            RefusalCode.INVALID_INPUT, f"Unknown category {command.category!r} ({known})."
        )

    required = set(pack.immediate_risk.requires if command.immediate_risk else pack.raise_requires)
    details = {
        name: _text(name, getattr(command, name), required=name in required)
        for name in ("issue", "risk_to_adult", "nature_of_disagreement", "aim", "evidence")
    }

    track_id = command.track or pack.default_track
    try:
        track_path = pack.stage_path(track_id)
    except KeyError:
        raise _refuse(
            RefusalCode.INVALID_INPUT, f"This board's policy has no track {track_id!r}."
        ) from None
    start = track_path[0]
    start_reason = "raised"
    if command.start_stage is not None and command.start_stage != start.id:
        rule = pack.immediate_risk
        if not (command.immediate_risk and rule.may_choose_start_stage):
            raise _refuse(
                RefusalCode.NOT_PERMITTED,
                f"A case starts at the first {pack.words.stage} unless {pack.words.the_person} is "
                "at immediate risk and the board's policy lets you choose where it starts.",
                *rule.clauses,
            )
        chosen = next((s for s in track_path if s.id == command.start_stage), None)
        if chosen is None:
            raise _refuse(
                RefusalCode.INVALID_INPUT,
                f"No {pack.words.stage} {command.start_stage!r} on this track.",
            )
        start = chosen
        start_reason = _text(
            "reason for the starting stage", command.start_reason or "", required=True
        )

    if command.resource_implications and pack.resource_implications is None:
        raise _refuse(
            RefusalCode.INVALID_INPUT, "This board's policy has no route for resource implications."
        )
    conference: dict[str, Any] | None = None
    if command.case_conference is not None:
        rule_cc = pack.case_conference
        if rule_cc is None:
            raise _refuse(
                RefusalCode.INVALID_INPUT, "This board's policy has no case-conference route."
            )
        cc = command.case_conference
        meeting = _text("meeting", cc.meeting, required="meeting" in rule_cc.requires, limit=200)
        if cc.meeting_date > today:
            raise _refuse(RefusalCode.INVALID_INPUT, "The meeting date is in the future.")
        if "dissent_minuted" in rule_cc.requires and not cc.dissent_minuted:
            raise _refuse(
                RefusalCode.INVALID_INPUT,
                "Ask the Chair of the meeting to note your dissent in the minutes first.",
                *rule_cc.clauses,
            )
        conference = {
            "meeting": meeting,
            "meeting_date": cc.meeting_date.isoformat(),
            "dissent_minuted": cc.dissent_minuted,
            "raised_with_chair": cc.raised_with_chair,
            "decision_stands": rule_cc.decision_stands,
        }

    receiver_name = receiver_person.name if receiver_person else (other.name or "").strip()
    raised = EventDraft(
        "CaseRaised",
        {
            "board_id": pack.board.id,
            "track": track_id,
            "raiser": {
                "side": "raiser",
                "agency_id": raiser.agency_id,
                "person_id": raiser.id,
                "name": raiser.name,
                "email": raiser.email,
            },
            "receiver": {
                "side": "receiver",
                "agency_id": other.agency_id,
                "person_id": receiver_person.id if receiver_person else None,
                "name": receiver_name,
                "email": receiver_person.email if receiver_person else other.email,
            },
            "adult_reference": reference,
            "adult_initials": initials,
            "category": command.category,
            "disagreement_date": command.disagreement_date.isoformat(),
            "immediate_risk": command.immediate_risk,
            "details": details,
            "child_concern": command.child_concern,
            "resource_implications": command.resource_implications,
            "case_conference": conference,
            "clauses": pack.raise_clauses,
        },
    )
    # Fold the opening event so that the stage's rules see the case as it now stands.
    case = fold(append(case_id, [], [raised], at=ctx.now, author=raiser.id))
    drafts = [raised]
    if command.child_concern and pack.child_concern is not None:
        drafts.append(
            EventDraft(
                "SignpostShown",
                {"signpost": pack.child_concern.signpost, "clauses": pack.child_concern.clauses},
            )
        )
    drafts += _enter_stage(case, start, ctx, reason=start_reason, trigger_at=None)
    return _follow_on(case, drafts, ctx)


# -- acting on a case -----------------------------------------------------------------------------


def decide(case: Case, command: CaseCommand, ctx: Context) -> list[EventDraft]:
    if ctx.now < (case.updated_at or case.raised_at):
        raise _refuse(
            RefusalCode.CLOCK,
            "The time now is earlier than the case's last change: the server clock looks wrong, "
            "so nothing was changed.",
        )
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise TypeError(f"no rule for {type(command).__name__}")
    _require_active(ctx, ctx.directory.person(command.actor_id))
    _version(case, getattr(command, "expected_version", None))
    settled = _settle(case, ctx)
    if settled:
        case = _as_if(case, settled, ctx)
    return _follow_on(case, [*settled, *handler(case, command, ctx)], ctx)


def _as_if(case: Case, drafts: list[EventDraft], ctx: Context) -> Case:
    """The case as it would stand after `drafts` (for the rules to decide on; nothing is kept)."""
    events = append(case.id, [], drafts, at=ctx.now, author=SYSTEM)
    return evolve(case, [replace(e, seq=case.version + e.seq) for e in events])


def _record_discussion(case: Case, command: RecordDiscussion, ctx: Context) -> list[EventDraft]:
    _gate(case, ctx).check(RECORD, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    if command.held_at.tzinfo is None:
        raise _refuse(RefusalCode.INVALID_INPUT, "The time of the discussion needs a time zone.")
    if command.held_at > ctx.now:
        raise _refuse(RefusalCode.INVALID_INPUT, "The discussion cannot be in the future.")
    if command.held_at < start_of_day(ctx.calendar, case.disagreement_date):
        raise _refuse(
            RefusalCode.INVALID_INPUT, "The discussion cannot be before the disagreement arose."
        )
    participants = tuple(p.strip() for p in command.participants if p.strip())
    if not participants:
        raise _refuse(RefusalCode.INVALID_INPUT, "Name who took part in the discussion.")
    summary = _text("summary", command.summary, required=True)
    points = _text(
        "points_of_difference",
        command.points_of_difference,
        required="points_of_difference" in stage.record_requires,
    )
    basis = _text(
        "basis_of_decision",
        command.basis_of_decision,
        required="basis_of_decision" in stage.record_requires,
    )
    agreed = _text("agreed_outcome", command.agreed_outcome, required=command.outcome == "resolved")
    outstanding = _text("outstanding_issues", command.outstanding_issues, required=False)
    if command.outcome not in ("resolved", "not_resolved", "continuing"):
        raise _refuse(RefusalCode.INVALID_INPUT, f"Unknown outcome {command.outcome!r}.")
    method = _text("method", command.method, required=True, limit=40)
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
    drafts += _stop_when(
        case, ctx, stage.id, [Until.DISCUSSION_RECORDED], ctx.now, by=command.actor_id
    )
    starts = {
        "resolved": RunsFrom.RESOLUTION_REACHED,
        "not_resolved": RunsFrom.DISCUSSION_FAILED,
    }.get(command.outcome)
    for clock in stage.clocks:
        if clock.runs_from != starts:
            continue
        if starts == RunsFrom.DISCUSSION_FAILED and _started(case, drafts, stage.id, clock.id):
            continue  # the first failed discussion starts it, once
        if case.running_clock(stage.id, clock.id) is None:
            drafts.append(_start_clock(case.immediate_risk, stage, clock, ctx.now, ctx))
    return drafts


def _approve_record(case: Case, command: ApproveRecord, ctx: Context) -> list[EventDraft]:
    _gate(case, ctx).check(APPROVE_RECORD, command.actor_id, ctx.now, record_id=command.record_id)
    record = case.record(command.record_id)
    assert record is not None  # the check refuses a record the case does not have
    drafts = [EventDraft("RecordApproved", {"record_id": record.id, "stage": record.stage})]
    # An owner who approves another's record of a discussion has had that discussion.
    drafts += _stop_when(
        case, ctx, record.stage, [Until.DISCUSSION_RECORDED], ctx.now, by=command.actor_id
    )
    return drafts


def _confirm_outcome(case: Case, command: ConfirmOutcome, ctx: Context) -> list[EventDraft]:
    _gate(case, ctx).check(CONFIRM_OUTCOME, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    outcome = _text("outcome", command.outcome, required=True)
    outstanding = _text("outstanding_issues", command.outstanding_issues, required=False)
    drafts = [
        EventDraft(
            "OutcomeConfirmed",
            {"stage": stage.id, "outcome": outcome, "outstanding_issues": outstanding},
        )
    ]
    # Confirming the agreed outcome in writing is also the owner's word that they had the
    # discussion.
    drafts += _stop_when(
        case,
        ctx,
        stage.id,
        [Until.OUTCOME_CONFIRMED, Until.DISCUSSION_RECORDED],
        ctx.now,
        by=command.actor_id,
    )
    return drafts


def _approve_outcome(case: Case, command: ApproveOutcome, ctx: Context) -> list[EventDraft]:
    _gate(case, ctx).check(APPROVE_OUTCOME, command.actor_id, ctx.now)
    drafts = [EventDraft("OutcomeApproved", {"stage": case.stage})]
    drafts += _stop_when(case, ctx, case.stage, [Until.STAGE_RESOLVED], ctx.now)
    return drafts


def _escalation_trigger(case: Case, ctx: Context) -> datetime:
    """When the current stage could not resolve it: a 'not resolved' record or a missed clock."""
    candidates = [ctx.now]
    if case.escalation_triggered_at is not None:
        candidates.append(case.escalation_triggered_at)
    for clock in case.clocks_of_stage(case.stage):
        definition = _clock_def(ctx.pack, clock)
        if (
            clock.status == ClockStatus.RUNNING
            and definition
            and definition.until == Until.STAGE_RESOLVED
        ):
            candidates.append(min(clock.effective_due, ctx.now))
    return min(candidates)


def _escalate(case: Case, command: Escalate, ctx: Context) -> list[EventDraft]:
    _gate(case, ctx).check(ESCALATE, command.actor_id, ctx.now, policy_issue=command.policy_issue)
    stage = ctx.pack.stage(case.stage)
    target = escalation_target(case, ctx.pack, policy_issue=command.policy_issue)
    reason = _text("reason", command.reason, required=True)
    details = {"reason": reason}
    for name in ("aim", "evidence", "evidence_source"):
        value = _text(name, getattr(command, name), required=name in target.entry_requires)
        if value:
            details[name] = value
    trigger = _escalation_trigger(case, ctx)
    drafts = _end_stage_clocks(case, stage.id, ctx.now)
    drafts += _enter_stage(
        case,
        target,
        ctx,
        reason=reason,
        trigger_at=trigger,
        policy_issue=command.policy_issue,
        details=details,
    )
    return drafts


def _set_protective_deadline(
    case: Case, command: SetProtectiveDeadline, ctx: Context
) -> list[EventDraft]:
    _gate(case, ctx).check(SET_DEADLINE, command.actor_id, ctx.now, clock_id=command.clock_id)
    stage = ctx.pack.stage(case.stage)
    clock = case.running_clock(stage.id, command.clock_id)
    definition = stage.clock(command.clock_id)
    assert clock is not None and definition is not None  # the check refuses any other
    if clock.waiting(ctx.now):
        raise _refuse(
            RefusalCode.INVALID_STATE,
            f"'{definition.label}' has not started: it runs only if '{clock.follows}' is missed. "
            "Set the earlier deadline on that one.",
            *definition.clauses,
        )
    if command.due.tzinfo is None:
        raise _refuse(RefusalCode.INVALID_INPUT, "The deadline needs a time zone.")
    if command.due <= ctx.now:
        raise _refuse(RefusalCode.CLOCK, "A protective deadline must be in the future.")
    if command.due >= clock.effective_due:
        raise _refuse(
            RefusalCode.INVALID_INPUT,
            "A protective deadline must be earlier than the current one "
            f"({clock.effective_due.astimezone(ctx.calendar.tz):%a %d %b %Y %H:%M}).",
            *definition.clauses,
        )
    reason = _text("reason", command.reason, required=True)
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
            _start_clock(
                case.immediate_risk,
                stage,
                follower,
                command.due,
                ctx,
                follows=(clock.clock, "missed"),
            )
        )
    return drafts


def _ask_safeguarding_lead(
    case: Case, command: AskSafeguardingLead, ctx: Context
) -> list[EventDraft]:
    _gate(case, ctx).check(ASK_LEAD, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    advisers = resolve(stage.advisers, case, ctx.pack, ctx.directory)
    question = _text("question", command.question, required=True)
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


def _record_milestone(case: Case, command: RecordMilestone, ctx: Context) -> list[EventDraft]:
    _gate(case, ctx).check(MILESTONE, command.actor_id, ctx.now, clock_id=command.clock_id)
    stage = ctx.pack.stage(case.stage)
    clock = case.running_clock(stage.id, command.clock_id)
    definition = stage.clock(command.clock_id)
    assert clock is not None and definition is not None and definition.milestone is not None
    note = _text("note", command.note, required=False)
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
        _stop_clock(case, clock, ctx.now, met=True),
    ]


def _record_recommendations(
    case: Case, command: RecordRecommendations, ctx: Context
) -> list[EventDraft]:
    _gate(case, ctx).check(RECOMMEND, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    rules = stage.recommendations
    assert rules is not None  # the check refuses a stage without recommendations
    items = [_text("recommendation", r, required=False) for r in command.recommendations]
    items = [i for i in items if i]
    if not items:
        raise _refuse(RefusalCode.INVALID_INPUT, "Give at least one recommendation.")
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
    drafts += _stop_when(case, ctx, stage.id, [Until.STAGE_RESOLVED], ctx.now)
    return drafts


def _record_agency_response(
    case: Case, command: RecordAgencyResponse, ctx: Context
) -> list[EventDraft]:
    _gate(case, ctx).check(RESPOND, command.actor_id, ctx.now, agency_id=command.agency_id)
    if command.response not in ("accepted", "partly_accepted", "not_accepted"):
        raise _refuse(RefusalCode.INVALID_INPUT, f"Unknown response {command.response!r}.")
    detail = _text("detail", command.detail, required=command.response != "accepted")
    return [
        EventDraft(
            "AgencyResponseRecorded",
            {"agency_id": command.agency_id, "response": command.response, "detail": detail},
        )
    ]


def _convene_panel(case: Case, command: ConvenePanel, ctx: Context) -> list[EventDraft]:
    _gate(case, ctx).check(CONVENE_PANEL, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    rules = stage.panel
    assert rules is not None  # the check refuses a stage without a panel
    agency_ids = list(dict.fromkeys(a.strip() for a in command.agency_ids if a.strip()))
    for agency_id in agency_ids:
        agency = ctx.pack.agency(agency_id)
        if agency is None or not agency.board_member:
            raise _refuse(
                RefusalCode.INVALID_INPUT,
                f"{agency_id} is not a member agency of {ctx.pack.board.short_name}.",
                *rules.clauses,
            )
        if agency_id in case.party_agencies:
            raise _refuse(
                RefusalCode.INVALID_INPUT,
                f"{agency.name} is concerned in the disagreement and cannot sit on the panel.",
                *rules.clauses,
            )
    if len(agency_ids) < rules.min_agencies:
        raise _refuse(
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


def _record_representation(
    case: Case, command: RecordRepresentation, ctx: Context
) -> list[EventDraft]:
    _gate(case, ctx).check(REPRESENT, command.actor_id, ctx.now, agency_id=command.agency_id)
    summary = _text("summary", command.summary, required=True)
    return [
        EventDraft(
            "RepresentationRecorded",
            {"stage": case.stage, "agency_id": command.agency_id, "summary": summary},
        )
    ]


def _record_panel_decision(
    case: Case, command: RecordPanelDecision, ctx: Context
) -> list[EventDraft]:
    _gate(case, ctx).check(DECIDE, command.actor_id, ctx.now)
    stage = ctx.pack.stage(case.stage)
    rules = stage.panel
    assert rules is not None  # the check refuses a stage without a convened panel
    decision = _text("decision", command.decision, required=True)
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
    drafts += _stop_when(case, ctx, stage.id, [Until.STAGE_RESOLVED], ctx.now)
    return drafts


def _close(case: Case, command: CloseCase, ctx: Context) -> list[EventDraft]:
    _gate(case, ctx).check(CLOSE, command.actor_id, ctx.now)
    rules = ctx.pack.closure
    summary = _text("summary", command.summary, required=True)
    learning = [_text("learning point", p, required=False) for p in command.learning_points]
    gaps = [_text("policy gap", g, required=False) for g in command.policy_gaps]
    drafts = _end_stage_clocks(case, case.stage, ctx.now)
    drafts.append(
        EventDraft(
            "CaseClosed",
            {
                "summary": summary,
                "learning_points": [p for p in learning if p] if rules.learning_points else [],
                "policy_gaps": [g for g in gaps if g] if rules.policy_gaps else [],
                "debrief_offered": command.debrief_offered if rules.debrief_offered else False,
                "learning_route": rules.learning_route,
                "copy_business_manager": rules.copy_business_manager == "always"
                or (
                    rules.copy_business_manager == "if_copied_before"
                    and case.copied_to_business_manager
                ),
                "clauses": rules.clauses,
            },
        )
    )
    return drafts


SYSTEM = "system"


def _record_delivery_failure(
    case: Case, command: RecordDeliveryFailure, ctx: Context
) -> list[EventDraft]:
    if command.actor_id != SYSTEM:
        raise _refuse(RefusalCode.NOT_PERMITTED, "Only the bot records a failed delivery.")
    if case.status == CaseStatus.CLOSED:
        require_open(case)
    if any(f.recipient_id == command.recipient_id for f in case.delivery_failures):
        # Told once is enough: a second failure for the same person must not start a loop.
        raise _refuse(
            RefusalCode.INVALID_STATE, "This person's failed delivery is already recorded."
        )
    return [
        EventDraft(
            "DeliveryFailed",
            {
                "recipient_id": command.recipient_id,
                "kind": command.kind,
                "error": command.error[:500],
            },
        )
    ]


_HANDLERS: dict[type[Any], Callable[[Case, Any, Context], list[EventDraft]]] = {
    RecordDiscussion: _record_discussion,
    ApproveRecord: _approve_record,
    ConfirmOutcome: _confirm_outcome,
    ApproveOutcome: _approve_outcome,
    Escalate: _escalate,
    SetProtectiveDeadline: _set_protective_deadline,
    AskSafeguardingLead: _ask_safeguarding_lead,
    RecordMilestone: _record_milestone,
    RecordRecommendations: _record_recommendations,
    RecordAgencyResponse: _record_agency_response,
    ConvenePanel: _convene_panel,
    RecordRepresentation: _record_representation,
    RecordPanelDecision: _record_panel_decision,
    CloseCase: _close,
    RecordDeliveryFailure: _record_delivery_failure,
}
