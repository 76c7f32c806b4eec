"""What one person sees of a case: the facts a card shows and the buttons it may offer them.

`case_view` reads the case, the pack and the directory once and returns plain, frozen values, so
the card builders are simple functions of a view. Times are in the board's local time zone.

What the viewer may see (the full case, the board's copy, or nothing) and which verbs they may
use are asked of `escalation.access`, the same checks the rules run: a button is offered exactly
when the command would pass them. A view at copy level leaves out the typed issue, the parties'
names and every record's text; a view at no level holds nothing but the case id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo

# The verbs (the `verb` of each card action) are the core's; they are named here too because
# the card builders and the bot's card actions import them from the view.
from escalation.access import (
    APPROVE_OUTCOME,
    APPROVE_RECORD,
    ASK_LEAD,
    CASE_VERBS,
    CLOSE,
    CONFIRM_OUTCOME,
    CONVENE_PANEL,
    DECIDE,
    ESCALATE,
    MILESTONE,
    RECOMMEND,
    RECORD,
    REFRESH,
    REPRESENT,
    RESPOND,
    SET_DEADLINE,
    Access,
    ViewLevel,
    access_for,
)
from escalation.actors import clock_owners, holds_board_role, person_name
from escalation.calendar import WorkingCalendar, calendar_for
from escalation.case import Case, CaseStatus, ClockState, ClockStatus
from escalation.commands import RESPONSE_LABELS
from escalation.directory import Directory
from escalation.policy import PolicyPack, Stage, Wording

__all__ = [
    "APPROVE_OUTCOME",
    "APPROVE_RECORD",
    "ASK_LEAD",
    "CASE_VERBS",
    "CLOSE",
    "CONFIRM_OUTCOME",
    "CONVENE_PANEL",
    "DECIDE",
    "ESCALATE",
    "MILESTONE",
    "RECOMMEND",
    "RECORD",
    "REFRESH",
    "REPRESENT",
    "RESPOND",
    "SET_DEADLINE",
    "CaseView",
    "ViewLevel",
    "case_view",
]

OUTCOME_LABELS = {
    "resolved": "resolved",
    "not_resolved": "not resolved",
    "continuing": "continuing",
}

# What closing a case may record beyond its summary, where the pack enables it (HW-learn).
CLOSURE_FIELDS: tuple[str, ...] = ("learning_points", "policy_gaps", "debrief_offered")

# A pack's words where it gives none of its own (`PolicyPack.words`).
BOARD_WORDS = Wording()

# A clock's status on a card beyond the core's: one that follows another and has not started,
# and a window that passed and handed on to the clock that follows it.
WAITING = "waiting"
HANDED_ON = "handed_on"

ENTRY_LABELS = {
    "aim": "What you aim to achieve",
    "evidence": "The evidence for your view",
    "evidence_source": "Where the evidence comes from",
}


# -- the view ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyView:
    side: str  # "raiser" or "receiver"
    name: str
    agency_name: str
    on_teams: bool

    @property
    def role(self) -> str:
        return "Raised by" if self.side == "raiser" else "Other professional"

    @property
    def describe(self) -> str:
        reach = "" if self.on_teams else " (not on Teams)"
        return f"{self.name}, {self.agency_name}{reach}"


@dataclass(frozen=True)
class ClockView:
    stage: str
    clock: str  # the clock's id in the pack
    label: str
    due_at: datetime  # effective deadline, in local time
    due: str  # e.g. "Fri 04 Dec 17:00"
    status: str  # running, met, missed, ended
    overdue: bool
    protective: bool  # a person may set an earlier, protective deadline
    protective_reason: str | None  # set when an earlier protective deadline applies
    local_default: bool  # a review date set by the board, not by the policy text
    shortenable: bool  # running, protective and not yet due: an earlier deadline can be set
    after: str | None = None  # waiting: the clock it follows; handed on: the one that follows
    # Who must act for it while it runs: the viewer, and the others by name (with what names
    # nobody the bot can reach); the full view only: the board's copy names nobody.
    owned_by_viewer: bool = False
    owners: tuple[str, ...] = ()  # the owners other than the viewer
    working_days_left: int | None = None  # working days after today, while running and not late

    @property
    def running(self) -> bool:
        return self.status == ClockStatus.RUNNING.value

    @property
    def describe(self) -> str:
        """The clock as a fact, in words (never colour alone)."""
        if self.status == WAITING:
            text = f"only if '{self.after}' is not met in time: then due {self.due}"
        elif self.status == HANDED_ON:
            text = f"passed; '{self.after}' follows"
        elif self.status == ClockStatus.RUNNING.value:
            text = f"due {self.due}"
            if self.overdue:
                text += " — overdue"
            if self.protective_reason is not None:
                text += " (an earlier deadline was set to protect them)"
        elif self.status == ClockStatus.MET.value:
            text = f"met (was due {self.due})"
        elif self.status == ClockStatus.MISSED.value:
            text = f"missed (was due {self.due})"
        else:
            text = "ended (the case moved on)"
        if self.local_default:
            text += " — board's review date"
        return text


@dataclass(frozen=True)
class RecordView:
    id: str
    stage: str
    author_name: str
    held: str  # local time
    outcome: str  # in words
    approvable: bool  # the viewer may approve it


@dataclass(frozen=True)
class StageRef:
    id: str
    name: str
    short_name: str = ""

    @property
    def short(self) -> str:
        return self.short_name or self.name


@dataclass(frozen=True)
class AgencyChoice:
    id: str
    name: str


@dataclass(frozen=True)
class AgencyResponseView:
    agency: str  # the agency's name
    response: str | None  # in words; None while the agency has not responded
    detail: str  # as typed

    @property
    def describe(self) -> str:
        if self.response is None:
            return "not responded yet"
        return f"{self.response}: {self.detail}" if self.detail else self.response


@dataclass(frozen=True)
class RecommendationsView:
    items: tuple[str, ...]  # as typed by the Chair
    binding: bool
    made: str  # local time
    responses: tuple[AgencyResponseView, ...]  # one per party agency, in the parties' order


@dataclass(frozen=True)
class RepresentationView:
    agency: str
    by: str
    at: str  # local time
    summary: str  # as typed


@dataclass(frozen=True)
class PanelView:
    agencies: tuple[str, ...]  # the names of the member agencies that sit on it
    convened: str  # local time
    representations: tuple[RepresentationView, ...]
    decision: str | None  # as typed; None until the panel decides
    binding: bool


@dataclass(frozen=True)
class MilestoneChoice:
    """A milestone the viewer may record now: its clock, the pack's button and the deadline."""

    clock: str
    button: str
    label: str
    due: str


@dataclass(frozen=True)
class CaseView:
    case_id: str
    level: ViewLevel  # full, copy (a board role before the board is handed the case) or none
    version: int
    board_id: str
    board_name: str
    board_short_name: str
    stage: StageRef
    status: str  # open, resolved, closed
    immediate_risk: bool
    risk_to_adult: str
    issue: str
    category: str  # the category's label
    parties: tuple[PartyView, ...]  # the full view only: the copy names agencies, not people
    party_agencies: tuple[str, ...]  # the names of the parties' agencies
    adult_reference: str  # the agency's case reference; never the adult's name or initials
    clocks: tuple[ClockView, ...]  # every clock of the current stage
    next_due: ClockView | None
    records_awaiting_approval: tuple[RecordView, ...]
    outcome_awaiting_approval: bool
    viewer_id: str | None
    verbs: frozenset[str]  # what the viewer may do now
    # What the forms need.
    today: date  # local date
    now_time: str  # local "HH:MM"
    timezone: str
    escalates_to: StageRef | None
    escalation_inputs: tuple[str, ...]  # the next stage's entry requirements (HW-4.2)
    policy_issue_stage: StageRef | None  # a direct route for a significant policy issue
    record_requires: tuple[str, ...]  # e.g. points_of_difference (HW-4.1)
    advisers: str  # who "ask the safeguarding lead" reaches, by role
    panel_candidates: tuple[AgencyChoice, ...]  # member agencies not concerned in the case
    panel_min_agencies: int
    stage_guidance: str | None
    # The end of a case: recommendations and responses, the panel, closing it.
    recommendations: RecommendationsView | None
    panel: PanelView | None
    represent_agencies: tuple[AgencyChoice, ...]  # the party agencies the viewer may speak for
    respond_agency: AgencyChoice | None  # the viewer's agency, while it may still respond
    closure_fields: tuple[str, ...]  # of CLOSURE_FIELDS, those the pack enables
    learning_route: str | None  # where wider learning and policy gaps go (HW-learn)
    milestone_choices: tuple[MilestoneChoice, ...] = ()  # what the viewer may record now
    words: Wording = BOARD_WORDS  # the board's: who is at risk, its stages, who recommends
    milestones_done: tuple[str, ...] = ()  # at this stage, in words, oldest first
    reminders: str | None = None  # a stage without a clock of its own: its reminder cadence
    # The other party's agency, from the viewer's side; None when the viewer is on neither side
    # (a board role, a panel member): then both `party_agencies` are the case's.
    other_agency: str | None = None

    def may(self, verb: str) -> bool:
        return verb in self.verbs

    @property
    def protective_clocks(self) -> tuple[ClockView, ...]:
        """Running clocks, not yet due, that a person may shorten to protect the adult."""
        return tuple(c for c in self.clocks if c.shortenable)

    @property
    def agencies(self) -> tuple[str, ...]:
        return self.party_agencies

    @property
    def full(self) -> bool:
        return self.level == ViewLevel.FULL

    @property
    def copy(self) -> bool:
        return self.level == ViewLevel.COPY


# -- building it ------------------------------------------------------------------------------------


def format_local(moment: datetime, tz: tzinfo, *, now: datetime) -> str:
    """'Fri 04 Dec 17:00' in the board's zone; the year is added when it is not this year's."""
    local = moment.astimezone(tz)
    if local.year != now.astimezone(tz).year:
        return f"{local:%a %d %b %Y %H:%M}"
    return f"{local:%a %d %b %H:%M}"


def _owners(
    case: Case, pack: PolicyPack, directory: Directory, clock: ClockState, viewer_id: str | None
) -> tuple[bool, tuple[str, ...]]:
    """Who must act for a running clock: whether the viewer does, and the others' names (with
    what names nobody the bot can reach)."""
    if clock.status != ClockStatus.RUNNING:
        return False, ()
    try:
        found = clock_owners(case, pack, directory, clock.stage, clock.clock)
    except KeyError:  # a stage a later pack dropped
        return False, ()
    names = [
        person_name(directory, case, a.person_id) for a in found.actors if a.person_id != viewer_id
    ]
    names += [u.describe for u in found.unresolved]
    return viewer_id in found.person_ids, tuple(dict.fromkeys(names))


def _clock_view(
    clock: ClockState,
    tz: tzinfo,
    now: datetime,
    calendar: WorkingCalendar,
    owners: tuple[bool, tuple[str, ...]] = (False, ()),
) -> ClockView:
    effective = clock.effective_due
    shortened = clock.protective_due is not None and clock.protective_due < clock.due
    late = clock.is_overdue(now)
    running = clock.status == ClockStatus.RUNNING
    mine, others = owners
    return ClockView(
        stage=clock.stage,
        clock=clock.clock,
        label=clock.label,
        due_at=effective.astimezone(tz),
        due=format_local(effective, tz, now=now),
        status=clock.status.value,
        overdue=late,
        protective=clock.protective,
        protective_reason=clock.protective_reason if shortened else None,
        local_default=clock.local_default,
        shortenable=(running and clock.protective and effective > now),
        owned_by_viewer=mine,
        owners=others,
        working_days_left=(
            calendar.working_days_between(now, effective) if running and not late else None
        ),
    )


def _agency_choice(pack: PolicyPack, agency_id: str) -> AgencyChoice:
    agency = pack.agency(agency_id)
    return AgencyChoice(agency_id, agency.name if agency else agency_id)


def _recommendations_view(
    case: Case, pack: PolicyPack, tz: tzinfo, now: datetime
) -> RecommendationsView | None:
    recs = case.recommendations
    if recs is None:
        return None
    responses = []
    for agency_id in dict.fromkeys(p.agency_id for p in case.parties):
        given = next((r for r in case.agency_responses if r.agency_id == agency_id), None)
        responses.append(
            AgencyResponseView(
                agency=_agency_choice(pack, agency_id).name,
                response=(RESPONSE_LABELS.get(given.response, given.response) if given else None),
                detail=given.detail.strip() if given else "",
            )
        )
    return RecommendationsView(
        items=recs.items,
        binding=recs.binding,
        made=format_local(recs.at, tz, now=now),
        responses=tuple(responses),
    )


def _panel_view(
    case: Case, pack: PolicyPack, directory: Directory, tz: tzinfo, now: datetime
) -> PanelView | None:
    panel = case.panel
    if panel is None:
        return None
    return PanelView(
        agencies=tuple(_agency_choice(pack, a).name for a in panel.agency_ids),
        convened=format_local(panel.convened_at, tz, now=now),
        representations=tuple(
            RepresentationView(
                agency=_agency_choice(pack, r.agency_id).name,
                by=person_name(directory, case, r.by),
                at=format_local(r.at, tz, now=now),
                summary=r.summary,
            )
            for r in case.representations
        ),
        decision=panel.decision,
        binding=panel.binding,
    )


def _policy_issue_stage(case: Case, pack: PolicyPack, stage: Stage) -> StageRef | None:
    target_id = pack.policy_issue_stage
    if target_id is None or target_id == stage.escalates_to:
        return None
    path = [s.id for s in pack.stage_path(case.track)]
    if target_id not in path or case.stage not in path:
        return None
    if path.index(target_id) <= path.index(case.stage):
        return None
    target = pack.stage(target_id)
    return StageRef(target.id, target.name, target.short_name)


def _unseen(case_id: str, viewer_id: str | None, tz: tzinfo, now: datetime) -> CaseView:
    """A view that holds nothing of the case: for someone who may not see it."""
    local_now = now.astimezone(tz)
    return CaseView(
        case_id=case_id,
        level=ViewLevel.NONE,
        version=0,
        board_id="",
        board_name="",
        board_short_name="",
        stage=StageRef("", ""),
        status="",
        immediate_risk=False,
        risk_to_adult="",
        issue="",
        category="",
        parties=(),
        party_agencies=(),
        adult_reference="",
        clocks=(),
        next_due=None,
        records_awaiting_approval=(),
        outcome_awaiting_approval=False,
        viewer_id=viewer_id,
        verbs=frozenset(),
        today=local_now.date(),
        now_time=f"{local_now:%H:%M}",
        timezone=str(tz),
        escalates_to=None,
        escalation_inputs=(),
        policy_issue_stage=None,
        record_requires=(),
        advisers="",
        panel_candidates=(),
        panel_min_agencies=0,
        stage_guidance=None,
        recommendations=None,
        panel=None,
        represent_agencies=(),
        respond_agency=None,
        closure_fields=(),
        learning_route=None,
    )


def _records(
    case: Case, directory: Directory, access: Access, tz: tzinfo, now: datetime
) -> tuple[RecordView, ...]:
    return tuple(
        RecordView(
            id=record.id,
            stage=record.stage,
            author_name=person_name(directory, case, record.author),
            held=format_local(record.held_at, tz, now=now),
            outcome=OUTCOME_LABELS.get(record.outcome, record.outcome),
            approvable=record.id in access.approvable_records,
        )
        for record in case.records
        if not record.approved
    )


def _advisers(pack: PolicyPack, stage: Stage) -> str:
    if not stage.advisers:
        return ""
    roles = [
        role.name
        for sel in stage.advisers
        for role_id in sel.roles
        if (role := pack.role(role_id)) is not None
    ]
    return " or ".join(dict.fromkeys(roles)) or "the safeguarding lead"


def case_view(
    case: Case,
    pack: PolicyPack,
    directory: Directory,
    *,
    now: datetime,
    viewer_id: str | None,
) -> CaseView:
    """The case as `viewer_id` may see and act on it at `now` (timezone-aware).

    `viewer_id` None is the board's business-manager channel, which gets the board's copy.
    """
    if now.tzinfo is None:
        raise ValueError("case_view needs a timezone-aware `now`")
    calendar = calendar_for(pack)
    tz = calendar.tz
    if viewer_id is None:
        access = Access(case.id, None, ViewLevel.COPY, frozenset())
    else:
        access = access_for(case, pack, directory, viewer_id, now)
    if not access.sees:
        return _unseen(case.id, viewer_id, tz, now)
    full = access.full  # else the board's copy: no typed issue, no names, no record's text
    stage = pack.stage(case.stage)

    clocks = tuple(
        _clock_view(
            c,
            tz,
            now,
            calendar,
            _owners(case, pack, directory, c, viewer_id) if full else (False, ()),
        )
        for c in case.clocks_of_stage(stage.id)
    )
    clocks = _chained(case, stage.id, clocks, now)
    running = [c for c in clocks if c.running]
    next_due = min(running, key=lambda c: c.due_at) if running else None

    escalates_to: StageRef | None = None
    escalation_inputs: tuple[str, ...] = ()
    if stage.escalates_to is not None:
        target = pack.stage(stage.escalates_to)
        escalates_to = StageRef(target.id, target.name, target.short_name)
        escalation_inputs = tuple(n for n in target.entry_requires if n != "reason")

    panel_candidates: tuple[AgencyChoice, ...] = ()
    panel_min = 0
    if stage.panel is not None:
        panel_min = stage.panel.min_agencies
        panel_candidates = tuple(
            AgencyChoice(a.id, a.name)
            for a in pack.agencies
            if a.board_member and a.id not in case.party_agencies
        )

    outcome = case.outcome
    category = pack.category(case.category)
    local_now = now.astimezone(tz)
    agency_names = tuple(
        dict.fromkeys(_agency_choice(pack, p.agency_id).name for p in case.parties)
    )
    return CaseView(
        case_id=case.id,
        level=access.level,
        version=case.version,
        board_id=pack.board.id,
        board_name=pack.board.name,
        board_short_name=pack.board.short_name,
        stage=StageRef(stage.id, stage.name, stage.short_name),
        status=case.status.value,
        immediate_risk=case.immediate_risk,
        risk_to_adult=case.details.get("risk_to_adult", "").strip(),
        issue=case.details.get("issue", "").strip() if full else "",
        category=category.label if category else case.category,
        parties=tuple(
            PartyView(
                side=p.side,
                name=p.name,
                agency_name=_agency_choice(pack, p.agency_id).name,
                on_teams=p.reachable,
            )
            for p in case.parties
        )
        if full
        else (),
        party_agencies=agency_names,
        adult_reference=case.adult_reference,
        clocks=clocks,
        next_due=next_due,
        records_awaiting_approval=_records(case, directory, access, tz, now) if full else (),
        outcome_awaiting_approval=(
            outcome is not None
            and outcome.stage == case.stage
            and outcome.approved_by is None
            and case.status == CaseStatus.OPEN
        ),
        viewer_id=viewer_id,
        verbs=access.verbs,
        today=local_now.date(),
        now_time=f"{local_now:%H:%M}",
        timezone=str(tz),
        escalates_to=escalates_to,
        escalation_inputs=escalation_inputs,
        policy_issue_stage=_policy_issue_stage(case, pack, stage),
        record_requires=tuple(stage.record_requires),
        advisers=_advisers(pack, stage),
        panel_candidates=panel_candidates,
        panel_min_agencies=panel_min,
        stage_guidance=stage.guidance,
        recommendations=_recommendations_view(case, pack, tz, now) if full else None,
        panel=_panel_view(case, pack, directory, tz, now) if full else None,
        represent_agencies=tuple(_agency_choice(pack, a) for a in access.represent_agencies),
        respond_agency=(
            _agency_choice(pack, access.respond_agency) if access.respond_agency else None
        ),
        closure_fields=tuple(f for f in CLOSURE_FIELDS if getattr(pack.closure, f)),
        learning_route=pack.closure.learning_route,
        milestone_choices=_milestone_choices(case, pack, access, tz, now),
        words=pack.words,
        milestones_done=tuple(
            f"{m.label}: {format_local(m.at, tz, now=now)}"
            + (f", by {person_name(directory, case, m.by)}" if full else "")
            for m in case.milestones
            if m.stage == case.stage
        ),
        reminders=next(
            (
                f"No deadline here: a reminder every {c.reminder_every} working "
                f"day{'s' if c.reminder_every != 1 else ''} while the case waits."
                for c in case.clocks_of_stage(stage.id)
                if c.reminder_every is not None and c.status == ClockStatus.RUNNING
            ),
            None,
        ),
        other_agency=_other_agency(case, pack, directory, viewer_id),
    )


def _other_agency(
    case: Case, pack: PolicyPack, directory: Directory, viewer_id: str | None
) -> str | None:
    """The party agency across from the viewer's; None for someone on neither side."""
    viewer = directory.person(viewer_id)
    if viewer is None or holds_board_role(viewer, pack.board.id):
        return None  # the board stays neutral, whatever agency the directory places them in
    sides = {p.agency_id for p in case.parties}
    if viewer.agency_id not in sides or len(sides) < 2:
        return None
    other = next(p.agency_id for p in case.parties if p.agency_id != viewer.agency_id)
    return _agency_choice(pack, other).name


def _chained(
    case: Case, stage_id: str, clocks: tuple[ClockView, ...], now: datetime
) -> tuple[ClockView, ...]:
    """Clocks that follow others (the pack's `after`), as they stand now: one waiting for the
    clock it follows to be missed, and a window that passed and handed on, are neither running
    nor late; one called off before it started is left out."""
    shown: list[ClockView] = []
    states = case.clocks_of_stage(stage_id)
    for view, state in zip(clocks, states, strict=True):
        if state.never_started or state.reminder_every is not None:
            continue  # called off before it started, or a reminder cadence (no deadline)
        if state.waiting(now):
            followed = next((c for c in states if c.clock == state.follows), None)
            label = followed.label if followed is not None else state.follows
            view = replace(view, status=WAITING, after=label, overdue=False, shortenable=False)
        elif case.lapsed(state, now):
            follower = case.follower_of(state)
            label = follower.label if follower is not None else None
            view = replace(view, status=HANDED_ON, after=label, overdue=False, shortenable=False)
        shown.append(view)
    return tuple(shown)


def _milestone_choices(
    case: Case, pack: PolicyPack, access: Access, tz: tzinfo, now: datetime
) -> tuple[MilestoneChoice, ...]:
    choices: list[MilestoneChoice] = []
    stage = pack.stage(case.stage)
    for clock_id in access.milestones:
        definition = stage.clock(clock_id)
        running = case.running_clock(stage.id, clock_id)
        if definition is None or definition.milestone is None or running is None:
            continue
        choices.append(
            MilestoneChoice(
                clock=clock_id,
                button=definition.milestone.button,
                label=definition.label,
                due=format_local(running.effective_due, tz, now=now),
            )
        )
    return tuple(choices)
