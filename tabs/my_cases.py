"""What the "My cases" tab shows one person: a line for each case they may see, and one case.

Which cases: every case of a board this app runs that the core's need-to-know rule gives the
person a view of (`escalation.access`: the full view, or a board role's copy), whatever index
row pointed at it. What each line says is built from the same `cards.views.case_view` the case
card is, so the tab shows no more than the card would: the copy names agencies, never people,
and no typed text is shown but the adult's case reference at the agency (which the copy shows
too) and, in the full view, the issue.

Dates are UK style in the board's time zone; deadlines count England and Wales working days
with the pack's calendar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cards.views import CaseView, case_view
from escalation.access import APPROVE_OUTCOME, CLOSE, CONFIRM_OUTCOME, ViewLevel, access_for
from escalation.actors import Resolution, resolve, stage_actors
from escalation.calendar import calendar_for
from escalation.case import Case, CaseStatus, ClockState, ClockStatus
from escalation.directory import Directory
from escalation.events import Event
from escalation.policy import PolicyPack
from escalation.timeline import ClockLine, TimelineEntry, case_clocks, case_timeline, uk_time

__all__ = [
    "FILTERS",
    "SORTS",
    "CaseDetail",
    "CaseLine",
    "Deadline",
    "case_detail",
    "case_line",
    "choose",
]


@dataclass(frozen=True)
class Deadline:
    label: str
    due_at: datetime  # aware, the board's zone
    due: str  # "Wed 2 Dec 2026, 17:00"
    working_days: int  # left (not yet due), or since it fell due (overdue)
    overdue: bool

    @property
    def describe(self) -> str:
        days = f"{self.working_days} working day{'' if self.working_days == 1 else 's'}"
        if self.overdue:
            since = "earlier today" if self.working_days == 0 else f"{days} ago"
            return f"{self.label}: overdue since {self.due} ({since})"
        if self.working_days == 0:
            return f"{self.label}: due today, {self.due}"
        return f"{self.label}: due {self.due} ({days} left)"


@dataclass(frozen=True)
class CaseLine:
    case_id: str
    board_id: str
    board_short_name: str
    level: ViewLevel  # full, or copy (a board role's)
    adult_reference: str
    agencies: str  # the other agency from the viewer's side, or both parties' agencies
    stage_id: str
    stage_name: str
    status: str  # open, resolved, closed
    immediate_risk: bool
    raised_at: datetime
    raised: str  # in words
    next_due: Deadline | None
    overdue: tuple[str, ...]  # every overdue deadline, in words
    waiting_on_me: tuple[str, ...]  # what the viewer must do, in words (full view only)

    @property
    def closed(self) -> bool:
        return self.status == CaseStatus.CLOSED.value


@dataclass(frozen=True)
class CaseDetail:
    line: CaseLine
    view: CaseView
    timeline: tuple[TimelineEntry, ...]
    clocks: tuple[ClockLine, ...]


def _owners(case: Case, pack: PolicyPack, directory: Directory, clock: ClockState) -> Resolution:
    """Who must act for a clock, as the reminders go: its owners, or the stage's actors."""
    definition = pack.stage(clock.stage).clock(clock.clock)
    if definition is None or not definition.owner:
        return stage_actors(case, pack, directory, clock.stage)
    return resolve(definition.owner, case, pack, directory)


def _live(case: Case, clock: ClockState, now: datetime) -> bool:
    """A deadline someone can be late for now: running, started, and not a window that passed
    and handed on to the clock that follows it."""
    return (
        clock.status == ClockStatus.RUNNING
        and not clock.waiting(now)
        and not case.lapsed(clock, now)
    )


def _deadline(clock: ClockState, pack: PolicyPack, now: datetime) -> Deadline:
    calendar = calendar_for(pack)
    due = clock.effective_due
    late = clock.is_overdue(now)
    days = (
        calendar.working_days_between(due, now) if late else calendar.working_days_between(now, due)
    )
    return Deadline(clock.label, due.astimezone(calendar.tz), uk_time(due, calendar.tz), days, late)


def _agencies(case: Case, pack: PolicyPack, directory: Directory, viewer_id: str) -> str:
    def name(agency_id: str) -> str:
        found = pack.agency(agency_id)
        return found.name if found is not None else agency_id

    sides = list(dict.fromkeys(p.agency_id for p in case.parties))
    viewer = directory.person(viewer_id)
    board_role = viewer is not None and any(b == pack.board.id for b, _ in viewer.board_roles)
    if viewer is not None and not board_role and viewer.agency_id in sides and len(sides) > 1:
        return " and ".join(name(a) for a in sides if a != viewer.agency_id)
    return " and ".join(name(a) for a in sides)


def _waiting(
    case: Case,
    pack: PolicyPack,
    directory: Directory,
    view: CaseView,
    viewer_id: str,
    now: datetime,
) -> tuple[str, ...]:
    """What the case waits on the viewer for: their deadlines at this stage, and the approvals,
    confirmation, response or closing only they (among others) can give now."""
    if not view.full or case.status == CaseStatus.CLOSED:
        return ()
    items: list[str] = []
    for clock in case.clocks_of_stage(case.stage):
        if (
            _live(case, clock, now)
            and viewer_id in _owners(case, pack, directory, clock).person_ids
        ):
            items.append(_deadline(clock, pack, now).describe)
    items += [
        f"approve the record of discussion {r.id}"
        for r in view.records_awaiting_approval
        if r.approvable
    ]
    if view.may(CONFIRM_OUTCOME):
        items.append("confirm the agreed outcome in writing")
    if view.outcome_awaiting_approval and view.may(APPROVE_OUTCOME):
        items.append("approve the agreed outcome")
    if view.respond_agency is not None:
        items.append(f"respond to the recommendations for {view.respond_agency.name}")
    if view.may(CLOSE):
        items.append("close the case")
    return tuple(items)


def _line(
    case: Case,
    pack: PolicyPack,
    directory: Directory,
    view: CaseView,
    viewer_id: str,
    now: datetime,
) -> CaseLine:
    tz = calendar_for(pack).tz
    live = [c for c in case.clocks_of_stage(case.stage) if _live(case, c, now)]
    nearest = min(live, key=lambda c: c.effective_due) if live else None
    overdue = tuple(_deadline(c, pack, now).describe for c in live if c.is_overdue(now))
    return CaseLine(
        case_id=case.id,
        board_id=pack.board.id,
        board_short_name=pack.board.short_name,
        level=view.level,
        adult_reference=case.adult_reference,
        agencies=_agencies(case, pack, directory, viewer_id),
        stage_id=view.stage.id,
        stage_name=view.stage.name,
        status=view.status,
        immediate_risk=case.immediate_risk,
        raised_at=case.raised_at.astimezone(tz),
        raised=uk_time(case.raised_at, tz),
        next_due=_deadline(nearest, pack, now) if nearest is not None else None,
        overdue=overdue,
        waiting_on_me=_waiting(case, pack, directory, view, viewer_id, now),
    )


def case_line(
    case: Case, pack: PolicyPack, directory: Directory, viewer_id: str, now: datetime
) -> CaseLine | None:
    """The case's line for the viewer, or None when the core gives them no view of it."""
    view = case_view(case, pack, directory, now=now, viewer_id=viewer_id)
    if view.level == ViewLevel.NONE:
        return None
    return _line(case, pack, directory, view, viewer_id, now)


def case_detail(
    case: Case,
    events: Sequence[Event],
    pack: PolicyPack,
    directory: Directory,
    viewer_id: str,
    now: datetime,
) -> CaseDetail | None:
    """One case as the viewer may see it, with its timeline; None without a view."""
    access = access_for(case, pack, directory, viewer_id, now)
    if not access.sees:
        return None
    view = case_view(case, pack, directory, now=now, viewer_id=viewer_id)
    return CaseDetail(
        line=_line(case, pack, directory, view, viewer_id, now),
        view=view,
        timeline=tuple(case_timeline(case, events, pack, directory, access.level)),
        clocks=tuple(case_clocks(case, pack, now)),
    )


# -- choosing and ordering -------------------------------------------------------------------------

FILTERS: dict[str, tuple[str, Callable[[CaseLine], bool]]] = {
    "all": ("All my cases", lambda line: True),
    "open": ("Open", lambda line: not line.closed),
    "waiting": ("Waiting on me", lambda line: bool(line.waiting_on_me)),
    "overdue": ("Overdue", lambda line: bool(line.overdue)),
    "closed": ("Closed", lambda line: line.closed),
}


def _by_due(line: CaseLine) -> tuple[int, float, str]:
    if line.closed:
        return (2, 0.0, line.case_id)
    if line.next_due is None:
        return (1, -line.raised_at.timestamp(), line.case_id)
    return (0, line.next_due.due_at.timestamp(), line.case_id)


def _stage_key(line: CaseLine) -> tuple[str, str, str]:
    return (line.stage_id.zfill(4), line.board_id, line.case_id)


SORTS: dict[str, tuple[str, Callable[[CaseLine], tuple[object, ...]]]] = {
    "due": ("Next deadline first", _by_due),
    "recent": (
        "Most recently raised first",
        lambda line: (-line.raised_at.timestamp(), line.case_id),
    ),
    "stage": ("Stage", _stage_key),
    "case": ("Case id", lambda line: (line.case_id,)),
}


def choose(
    lines: Iterable[CaseLine], *, show: str = "all", stage: str = "", sort: str = "due"
) -> list[CaseLine]:
    """The lines a filter, a stage and an order pick (unknown values: all, any, due)."""
    keep = FILTERS.get(show, FILTERS["all"])[1]
    order = SORTS.get(sort, SORTS["due"])[1]
    picked = [line for line in lines if keep(line) and (not stage or line.stage_id == stage)]
    return sorted(picked, key=order)
