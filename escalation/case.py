"""A disagreement case: the state that its event history adds up to.

The state is never stored on its own as the truth: it is the fold of the case's events, so the
history explains every value. Storage keeps a copy of the folded state only to answer queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from escalation.events import Event


class CaseStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ClockStatus(StrEnum):
    RUNNING = "running"
    MET = "met"  # what it asked for happened before it fell due
    MISSED = "missed"  # it happened late, or the stage ended after the clock fell due
    ENDED = "ended"  # the stage moved on before it fell due


@dataclass(frozen=True)
class Party:
    side: str  # "raiser" or "receiver"
    agency_id: str
    person_id: str | None
    name: str
    email: str | None = None

    @property
    def reachable(self) -> bool:
        return self.person_id is not None


@dataclass(frozen=True)
class ClockState:
    stage: str
    clock: str
    label: str
    started_at: datetime
    due: datetime  # the deadline by policy (shortest timescale, immediate-risk limit applied)
    clauses: tuple[str, ...]
    protective: bool
    local_default: bool
    basis: str
    status: ClockStatus = ClockStatus.RUNNING
    # A reminder cadence, not a deadline: every N working days while the case waits at a stage
    # with no clock of its own (`due` is the first reminder). It ends with the stage, never late.
    reminder_every: int | None = None
    stopped_at: datetime | None = None
    protective_due: datetime | None = None
    protective_reason: str | None = None
    # A clock started by another's result (the pack's `after`): that clock, and "missed" or
    # "met". A clock that follows another on being missed starts at that clock's deadline.
    follows: str | None = None
    follows_when: str | None = None

    def waiting(self, now: datetime) -> bool:
        """Running, but not started yet: it follows a clock that has not been missed yet."""
        return self.status == ClockStatus.RUNNING and now < self.started_at

    @property
    def never_started(self) -> bool:
        """Stopped before it started: the clock it followed was met, or was given an earlier
        deadline (and this one was started again from it)."""
        return self.stopped_at is not None and self.stopped_at < self.started_at

    @property
    def effective_due(self) -> datetime:
        if self.protective_due is not None and self.protective_due < self.due:
            return self.protective_due
        return self.due

    def is_overdue(self, now: datetime) -> bool:
        return self.status == ClockStatus.RUNNING and now > self.effective_due


@dataclass(frozen=True)
class Approval:
    by: str
    at: datetime


@dataclass(frozen=True)
class DiscussionRecord:
    id: str
    stage: str
    author: str
    recorded_at: datetime
    held_at: datetime
    participants: tuple[str, ...]
    method: str
    summary: str
    points_of_difference: str
    outcome: str
    agreed_outcome: str
    outstanding_issues: str
    basis_of_decision: str
    approvals: tuple[Approval, ...] = ()

    @property
    def approved(self) -> bool:
        return bool(self.approvals)


@dataclass(frozen=True)
class StageVisit:
    stage: str
    entered_at: datetime
    entered_by: str
    reason: str
    policy_issue: bool = False
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfirmedOutcome:
    stage: str
    by: str
    at: datetime
    outcome: str
    outstanding_issues: str
    approved_by: str | None = None
    approved_at: datetime | None = None


@dataclass(frozen=True)
class AgencyResponseRecord:
    agency_id: str
    by: str
    at: datetime
    response: str
    detail: str


@dataclass(frozen=True)
class Representation:
    agency_id: str
    by: str
    at: datetime
    summary: str


@dataclass(frozen=True)
class Panel:
    convened_by: str
    convened_at: datetime
    agency_ids: tuple[str, ...]
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    binding: bool = True


@dataclass(frozen=True)
class Recommendations:
    by: str
    at: datetime
    items: tuple[str, ...]
    binding: bool


@dataclass(frozen=True)
class Closure:
    by: str
    at: datetime
    summary: str
    learning_points: tuple[str, ...]
    policy_gaps: tuple[str, ...]
    debrief_offered: bool


@dataclass(frozen=True)
class AdviceRequest:
    stage: str
    by: str
    at: datetime
    question: str
    advisers: tuple[str, ...]


@dataclass(frozen=True)
class MilestoneRecord:
    stage: str
    clock: str
    label: str  # what was done, in the pack's words (the button)
    by: str
    at: datetime
    note: str


@dataclass(frozen=True)
class DeliveryFailure:
    recipient_id: str
    kind: str
    error: str
    at: datetime


@dataclass(frozen=True)
class Case:
    id: str
    board_id: str
    track: str
    raised_at: datetime
    raised_by: str
    raiser: Party
    receiver: Party
    adult_reference: str
    adult_initials: str | None
    category: str
    disagreement_date: date
    immediate_risk: bool
    details: Mapping[str, str]  # issue, risk_to_adult, nature_of_disagreement, aim, evidence
    child_concern: bool
    resource_implications: bool
    case_conference: Mapping[str, Any] | None
    version: int = 0
    status: CaseStatus = CaseStatus.OPEN
    stage: str = ""
    stages: tuple[StageVisit, ...] = ()
    clocks: tuple[ClockState, ...] = ()
    records: tuple[DiscussionRecord, ...] = ()
    outcome: ConfirmedOutcome | None = None
    escalation_triggered_at: datetime | None = None
    signposts_shown: tuple[str, ...] = ()
    advice_requests: tuple[AdviceRequest, ...] = ()
    recommendations: Recommendations | None = None
    agency_responses: tuple[AgencyResponseRecord, ...] = ()
    panel: Panel | None = None
    representations: tuple[Representation, ...] = ()
    closure: Closure | None = None
    updated_at: datetime | None = None
    copied_to_business_manager: bool = False
    delivery_failures: tuple[DeliveryFailure, ...] = ()
    milestones: tuple[MilestoneRecord, ...] = ()

    # -- views ----------------------------------------------------------------------------------

    @property
    def parties(self) -> tuple[Party, Party]:
        return (self.raiser, self.receiver)

    @property
    def party_agencies(self) -> frozenset[str]:
        return frozenset({self.raiser.agency_id, self.receiver.agency_id})

    def party(self, side: str) -> Party:
        return self.raiser if side == "raiser" else self.receiver

    def clocks_of_stage(self, stage: str) -> list[ClockState]:
        return [c for c in self.clocks if c.stage == stage]

    def running_clocks(self) -> list[ClockState]:
        return [c for c in self.clocks if c.status == ClockStatus.RUNNING]

    def running_clock(self, stage: str, clock_id: str) -> ClockState | None:
        return next(
            (
                c
                for c in self.clocks
                if c.stage == stage and c.clock == clock_id and c.status == ClockStatus.RUNNING
            ),
            None,
        )

    def next_due(self) -> ClockState | None:
        running = [c for c in self.running_clocks() if c.reminder_every is None]
        return min(running, key=lambda c: c.effective_due) if running else None

    def follower_of(self, clock: ClockState) -> ClockState | None:
        """The clock that takes over when `clock`, a window, passes without what it waits for:
        the running clock that follows it on being missed."""
        return next(
            (
                c
                for c in self.clocks
                if c.stage == clock.stage
                and c.follows == clock.clock
                and c.follows_when == "missed"
                and c.status == ClockStatus.RUNNING
            ),
            None,
        )

    def lapsed(self, clock: ClockState, now: datetime) -> bool:
        """A window that has passed and handed on to the clock that follows it: it is no longer
        a deadline anyone is late for (the next change to the case records it as ended)."""
        return (
            clock.status == ClockStatus.RUNNING
            and now > clock.effective_due
            and self.follower_of(clock) is not None
        )

    def record(self, record_id: str) -> DiscussionRecord | None:
        return next((r for r in self.records if r.id == record_id), None)

    def records_at(self, stage: str) -> list[DiscussionRecord]:
        return [r for r in self.records if r.stage == stage]

    def reached(self, stage: str) -> bool:
        return any(v.stage == stage for v in self.stages)


# -- folding events into state --------------------------------------------------------------------


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _party(data: Mapping[str, Any]) -> Party:
    return Party(
        side=str(data["side"]),
        agency_id=str(data["agency_id"]),
        person_id=data.get("person_id"),
        name=str(data["name"]),
        email=data.get("email"),
    )


def _replace_clock(case: Case, updated: ClockState) -> tuple[ClockState, ...]:
    return tuple(
        updated
        if (c.stage, c.clock, c.started_at) == (updated.stage, updated.clock, updated.started_at)
        else c
        for c in case.clocks
    )


def _replace_record(case: Case, updated: DiscussionRecord) -> tuple[DiscussionRecord, ...]:
    return tuple(updated if r.id == updated.id else r for r in case.records)


def _case_raised(event: Event) -> Case:
    d = event.data
    return Case(
        id=event.case_id,
        board_id=str(d["board_id"]),
        track=str(d["track"]),
        raised_at=event.at,
        raised_by=event.author,
        raiser=_party(d["raiser"]),
        receiver=_party(d["receiver"]),
        adult_reference=str(d["adult_reference"]),
        adult_initials=d.get("adult_initials"),
        category=str(d["category"]),
        disagreement_date=date.fromisoformat(str(d["disagreement_date"])),
        immediate_risk=bool(d["immediate_risk"]),
        details={k: str(v) for k, v in dict(d["details"]).items()},
        child_concern=bool(d.get("child_concern", False)),
        resource_implications=bool(d.get("resource_implications", False)),
        case_conference=d.get("case_conference"),
    )


def _changes(case: Case, event: Event) -> dict[str, Any]:
    """What `event` changes in `case`: fields for the one `replace` that also sets its version."""
    d = event.data
    kind = event.type
    if kind == "SignpostShown":
        return dict(signposts_shown=(*case.signposts_shown, str(d["signpost"])))
    if kind == "StageEntered":
        visit = StageVisit(
            stage=str(d["stage"]),
            entered_at=event.at,
            entered_by=event.author,
            reason=str(d.get("reason", "")),
            policy_issue=bool(d.get("policy_issue", False)),
            details={k: str(v) for k, v in dict(d.get("details") or {}).items()},
        )
        return dict(
            stage=visit.stage,
            stages=(*case.stages, visit),
            outcome=None,
            escalation_triggered_at=None,
            copied_to_business_manager=case.copied_to_business_manager
            or bool(d.get("copy_business_manager", False)),
        )
    if kind == "ClockStarted":
        clock = ClockState(
            stage=str(d["stage"]),
            clock=str(d["clock"]),
            label=str(d["label"]),
            started_at=_dt(d["started_at"]),
            due=_dt(d["due"]),
            clauses=tuple(d["clauses"]),
            protective=bool(d["protective"]),
            local_default=bool(d.get("local_default", False)),
            basis=str(d.get("basis", "")),
            follows=d.get("after"),
            follows_when=d.get("when"),
            reminder_every=d.get("reminder_every"),
        )
        return dict(clocks=(*case.clocks, clock))
    if kind == "ClockStopped":
        running = case.running_clock(str(d["stage"]), str(d["clock"]))
        if running is None:
            return {}
        stopped = replace(running, status=ClockStatus(d["status"]), stopped_at=_dt(d["at"]))
        return dict(clocks=_replace_clock(case, stopped))
    if kind == "ProtectiveDeadlineSet":
        running = case.running_clock(str(d["stage"]), str(d["clock"]))
        if running is None:
            return {}
        shortened = replace(
            running, protective_due=_dt(d["due"]), protective_reason=str(d["reason"])
        )
        return dict(clocks=_replace_clock(case, shortened))
    if kind == "DiscussionRecorded":
        record = DiscussionRecord(
            id=str(d["record_id"]),
            stage=str(d["stage"]),
            author=event.author,
            recorded_at=event.at,
            held_at=_dt(d["held_at"]),
            participants=tuple(d["participants"]),
            method=str(d["method"]),
            summary=str(d["summary"]),
            points_of_difference=str(d.get("points_of_difference", "")),
            outcome=str(d["outcome"]),
            agreed_outcome=str(d.get("agreed_outcome", "")),
            outstanding_issues=str(d.get("outstanding_issues", "")),
            basis_of_decision=str(d.get("basis_of_decision", "")),
        )
        triggered = case.escalation_triggered_at
        if record.outcome == "not_resolved" and triggered is None:
            triggered = event.at
        return dict(records=(*case.records, record), escalation_triggered_at=triggered)
    if kind == "RecordApproved":
        found = case.record(str(d["record_id"]))
        if found is None:
            return {}
        approved = replace(found, approvals=(*found.approvals, Approval(event.author, event.at)))
        return dict(records=_replace_record(case, approved))
    if kind == "OutcomeConfirmed":
        outcome = ConfirmedOutcome(
            stage=str(d["stage"]),
            by=event.author,
            at=event.at,
            outcome=str(d["outcome"]),
            outstanding_issues=str(d.get("outstanding_issues", "")),
        )
        return dict(outcome=outcome)
    if kind == "OutcomeApproved":
        if case.outcome is None:
            raise ValueError(f"case {case.id}: OutcomeApproved without OutcomeConfirmed")
        approved_outcome = replace(case.outcome, approved_by=event.author, approved_at=event.at)
        return dict(outcome=approved_outcome, status=CaseStatus.RESOLVED)
    if kind == "AdviceRequested":
        request = AdviceRequest(
            stage=str(d["stage"]),
            by=event.author,
            at=event.at,
            question=str(d["question"]),
            advisers=tuple(d["advisers"]),
        )
        return dict(advice_requests=(*case.advice_requests, request))
    if kind == "RecommendationsRecorded":
        recs = Recommendations(
            by=event.author,
            at=event.at,
            items=tuple(d["recommendations"]),
            binding=bool(d.get("binding", False)),
        )
        return dict(recommendations=recs, status=CaseStatus.RESOLVED)
    if kind == "AgencyResponseRecorded":
        response = AgencyResponseRecord(
            agency_id=str(d["agency_id"]),
            by=event.author,
            at=event.at,
            response=str(d["response"]),
            detail=str(d.get("detail", "")),
        )
        return dict(agency_responses=(*case.agency_responses, response))
    if kind == "PanelConvened":
        panel = Panel(
            convened_by=event.author,
            convened_at=event.at,
            agency_ids=tuple(d["agency_ids"]),
            binding=bool(d.get("binding", True)),
        )
        return dict(panel=panel)
    if kind == "RepresentationRecorded":
        rep = Representation(
            agency_id=str(d["agency_id"]), by=event.author, at=event.at, summary=str(d["summary"])
        )
        return dict(representations=(*case.representations, rep))
    if kind == "PanelDecisionRecorded":
        if case.panel is None:
            raise ValueError(f"case {case.id}: PanelDecisionRecorded without PanelConvened")
        decided = replace(
            case.panel, decision=str(d["decision"]), decided_by=event.author, decided_at=event.at
        )
        return dict(panel=decided, status=CaseStatus.RESOLVED)
    if kind == "CaseClosed":
        closure = Closure(
            by=event.author,
            at=event.at,
            summary=str(d["summary"]),
            learning_points=tuple(d.get("learning_points", ())),
            policy_gaps=tuple(d.get("policy_gaps", ())),
            debrief_offered=bool(d.get("debrief_offered", False)),
        )
        return dict(closure=closure, status=CaseStatus.CLOSED)
    if kind == "MilestoneRecorded":
        milestone = MilestoneRecord(
            stage=str(d["stage"]),
            clock=str(d["clock"]),
            label=str(d["label"]),
            by=event.author,
            at=event.at,
            note=str(d.get("note", "")),
        )
        return dict(milestones=(*case.milestones, milestone))
    if kind == "DeliveryFailed":
        failure = DeliveryFailure(
            recipient_id=str(d["recipient_id"]),
            kind=str(d["kind"]),
            error=str(d["error"]),
            at=event.at,
        )
        return dict(delivery_failures=(*case.delivery_failures, failure))
    raise ValueError(f"unknown event type {kind!r} in case {case.id}")


def fold(events: Iterable[Event]) -> Case:
    """The state a case's history adds up to."""
    case: Case | None = None
    for event in events:
        if case is None:
            if event.type != "CaseRaised":
                raise ValueError(f"case {event.case_id} does not start with CaseRaised")
            case = _advanced(_case_raised(event), {}, event)
        else:
            case = _advanced(case, _changes(case, event), event)
    if case is None:
        raise ValueError("a case needs at least one event")
    return case


def evolve(case: Case, events: Sequence[Event]) -> Case:
    for event in events:
        case = _advanced(case, _changes(case, event), event)
    return case


_CASE_FIELDS: Final = frozenset(f.name for f in fields(Case))


def _advanced(case: Case, changes: dict[str, Any], event: Event) -> Case:
    """``replace(case, **changes, version=event.seq, updated_at=event.at)``, without building
    every field again through ``__init__``: a case folds once per event on every turn that
    reads it, and Case has no ``__post_init__`` for that to skip."""
    if not changes.keys() <= _CASE_FIELDS:  # as replace() refuses a field Case does not have
        raise TypeError(f"Case has no field {sorted(changes.keys() - _CASE_FIELDS)[0]!r}")
    advanced = object.__new__(Case)
    state = advanced.__dict__
    state.update(case.__dict__)
    state.update(changes)
    state["version"] = event.seq
    state["updated_at"] = event.at
    return advanced
