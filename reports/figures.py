"""A board's figures for a period: pure aggregation of cases into plain numbers and tables.

Which cases: those of the pack's board raised on a day (board-local date) in [start, end]. For
them, everything the data holds is counted, even what happened after `end` (a case raised in
March and resolved in April counts as resolved in a report to the end of March).

No identifiers and no free text: the report holds counts, working-day statistics, the pack's
own labels (categories, stages, clocks) and agency names. Learning points and policy gaps are
counted, never quoted; the adult, the people and every summary stay out.

Definitions:

* Stage reached: the case entered the stage at least once. Stage ended at: the stage the case
  was at when it was resolved (resolved or closed), or is at now (still open).
* Working days at a stage: for each completed visit (left by escalation or by resolution), the
  working days from entering it to leaving it (`working_days_between`, the pack's calendar:
  the day of entry does not count, the day of leaving does; bank holidays do not count).
* Working days to resolve: for cases resolved, from raising to resolution (an outcome approved,
  the recommendations recorded, or the panel's decision), by the stage it ended at.
* Reached a senior stage: cases that entered any of the pack's senior stages (marked `senior`,
  else those that copy the business manager), each case counted once however many it reached.
* Clocks by agency: a clock is attributed to the agency of each side that owns it in the pack
  (the clock's `owner` selectors: "raiser" and "receiver" name their side; line managers and
  agency roles name the sides their selector covers; board roles go to the board itself, shown
  as "<board short name> (board)"). A clock that both sides own counts once for each agency.
  Only clocks met or missed are counted per agency; the per-stage table also shows those that
  ended with their stage and those still running.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from escalation.calendar import WorkingCalendar, calendar_for
from escalation.case import Case, CaseStatus, ClockState, ClockStatus
from escalation.commands import RESPONSE_LABELS
from escalation.policy import PolicyPack, Selector, Side

__all__ = [
    "AgencyClockRow",
    "AgencyPairRow",
    "BoardReport",
    "ClockRow",
    "CountRow",
    "MonthRow",
    "ResponseRow",
    "Spread",
    "StageRow",
    "board_report",
    "spread",
]

RESPONSES = tuple(RESPONSE_LABELS)


@dataclass(frozen=True)
class Spread:
    """Working days: how many values, their median, quartiles and range (None if no values)."""

    n: int
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    min: int | None = None
    max: int | None = None


def spread(values: Sequence[int]) -> Spread:
    if not values:
        return Spread(0)
    ordered = sorted(values)
    if len(ordered) == 1:
        q1 = q3 = float(ordered[0])
    else:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Spread(
        n=len(ordered),
        median=float(statistics.median(ordered)),
        q1=float(q1),
        q3=float(q3),
        min=ordered[0],
        max=ordered[-1],
    )


@dataclass(frozen=True)
class CountRow:
    label: str
    count: int


@dataclass(frozen=True)
class AgencyPairRow:
    agency_a: str  # the two agencies' names, in alphabetical order (the pair is unordered)
    agency_b: str
    count: int


@dataclass(frozen=True)
class StageRow:
    stage: str
    name: str
    track: str
    reached: int
    ended_resolved: int  # resolved or closed at this stage
    ended_open: int  # still open at this stage
    days_at_stage: Spread  # completed visits
    days_to_resolve: Spread  # raising to resolution, cases resolved at this stage


@dataclass(frozen=True)
class ClockRow:
    stage: str
    clock: str
    label: str
    met: int
    missed: int
    ended: int
    running: int


@dataclass(frozen=True)
class AgencyClockRow:
    agency: str
    met: int
    missed: int


@dataclass(frozen=True)
class MonthRow:
    month: str  # YYYY-MM
    raised: int
    resolved: int  # of the period's cases, resolved in this month


@dataclass(frozen=True)
class ResponseRow:
    response: str
    label: str
    count: int


@dataclass(frozen=True)
class BoardReport:
    board_id: str
    board_name: str
    start: date
    end: date
    raised: int
    open: int
    resolved: int  # resolved, not yet closed
    closed: int
    immediate_risk: int
    by_category: tuple[CountRow, ...]
    by_agency_pair: tuple[AgencyPairRow, ...]
    by_stage: tuple[StageRow, ...]
    days_to_resolve: Spread  # all resolved cases, raising to resolution
    clocks_by_stage: tuple[ClockRow, ...]
    clocks_by_agency: tuple[AgencyClockRow, ...]
    monthly: tuple[MonthRow, ...]
    policy_issue_referrals: int  # cases sent straight to the policy-issue stage
    recommendations_made: int  # cases with recommendations (the Chair's, or the pack's recommender)
    recommendations_total: int  # recommendations in all
    agency_responses: tuple[ResponseRow, ...]
    responses_awaited: int  # party agencies yet to respond to recommendations
    panels_convened: int
    panel_decisions: int
    learning_points: int
    cases_with_learning_points: int
    policy_gaps: int
    cases_with_policy_gaps: int
    debriefs_offered: int
    synthetic: bool  # every case counted is SYNTHETIC sample data
    notes: tuple[str, ...] = ()
    # The pack's own: its default track, its senior stages, and its words for them.
    default_track: str = "main"
    senior_stages: tuple[str, ...] = ()
    reached_senior: int = 0  # cases that reached any senior stage, each once
    stage_word: str = "stage"
    recommender: str = "the Chair"

    @property
    def senior_label(self) -> str:
        """'Reached stage 3 or 4', in the pack's word for a stage."""
        stages = list(self.senior_stages)
        if not stages:
            return f"Reached a senior {self.stage_word}"
        named = stages[0] if len(stages) == 1 else ", ".join(stages[:-1]) + " or " + stages[-1]
        return f"Reached {self.stage_word} {named}"


# -- helpers ------------------------------------------------------------------------------------


def resolved_at(case: Case) -> datetime | None:
    """When the case was resolved (None if it is open)."""
    if case.status == CaseStatus.OPEN:
        return None
    candidates: list[datetime] = []
    if case.outcome is not None and case.outcome.approved_at is not None:
        candidates.append(case.outcome.approved_at)
    if case.recommendations is not None:
        candidates.append(case.recommendations.at)
    if case.panel is not None and case.panel.decided_at is not None:
        candidates.append(case.panel.decided_at)
    return max(candidates) if candidates else None


def _owner_sides(selectors: Iterable[Selector]) -> set[str]:
    sides: set[str] = set()
    for selector in selectors:
        if selector.who == "board_role":
            sides.add("board")
        elif selector.who in ("raiser", "receiver"):
            sides.add(selector.who)
        elif selector.side == Side.BOTH:
            sides.update(("raiser", "receiver"))
        else:
            sides.add(selector.side.value)
    return sides or {"raiser", "receiver"}


class _Names:
    def __init__(self, pack: PolicyPack) -> None:
        self.pack = pack
        self.agency = {a.id: a.name for a in pack.agencies}
        self.board = f"{pack.board.short_name} (board)"
        self.owners: dict[tuple[str, str], set[str]] = {
            (stage.id, clock.id): _owner_sides(clock.owner)
            for stage in pack.stages
            for clock in stage.clocks
        }

    def agency_name(self, agency_id: str) -> str:
        return self.agency.get(agency_id, agency_id)

    def clock_agencies(self, case: Case, clock: ClockState) -> set[str]:
        sides = self.owners.get((clock.stage, clock.clock), {"raiser", "receiver"})
        names: set[str] = set()
        for side in sides:
            if side == "board":
                names.add(self.board)
            else:
                names.add(self.agency_name(case.party(side).agency_id))
        return names


def _months(start: date, end: date) -> list[str]:
    months: list[str] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


# -- the report ---------------------------------------------------------------------------------


def financial_year_start(day: date) -> date:
    """1 April of the financial year `day` falls in: boards report April to March."""
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def month_before(day: date) -> tuple[date, date]:
    """The first and last day of the calendar month before `day`."""
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def board_report(
    cases: Iterable[Case],
    pack: PolicyPack,
    *,
    start: date,
    end: date,
    calendar: WorkingCalendar | None = None,
) -> BoardReport:
    """The board's figures for cases raised from `start` to `end` (inclusive, board-local)."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    cal = calendar or calendar_for(pack)
    names = _Names(pack)
    chosen = [
        c
        for c in cases
        if c.board_id == pack.board.id and start <= cal.local_date(c.raised_at) <= end
    ]
    status = Counter(c.status for c in chosen)
    categories = Counter(c.category for c in chosen)
    pairs: Counter[tuple[str, str]] = Counter()
    reached: Counter[str] = Counter()
    ended_resolved: Counter[str] = Counter()
    ended_open: Counter[str] = Counter()
    at_stage: dict[str, list[int]] = {}
    to_resolve: dict[str, list[int]] = {}
    all_to_resolve: list[int] = []
    clock_rows: dict[tuple[str, str], Counter[ClockStatus]] = {}
    clock_labels: dict[tuple[str, str], str] = {}
    agency_clocks: dict[str, Counter[ClockStatus]] = {}
    month_raised: Counter[str] = Counter()
    month_resolved: Counter[str] = Counter()
    responses: Counter[str] = Counter()
    awaited = recommendations = recommendation_items = 0
    panels = decisions = policy_issue = 0
    learning = with_learning = gaps = with_gaps = debriefs = 0
    senior = {s.id for s in pack.senior_stages()}
    reached_senior = 0

    for case in chosen:
        a, b = sorted(
            (names.agency_name(case.raiser.agency_id), names.agency_name(case.receiver.agency_id))
        )
        pairs[(a, b)] += 1
        month_raised[f"{cal.local_date(case.raised_at):%Y-%m}"] += 1
        done = resolved_at(case)
        for stage_id in dict.fromkeys(v.stage for v in case.stages):
            reached[stage_id] += 1
        reached_senior += any(v.stage in senior for v in case.stages)
        for index, visit in enumerate(case.stages):
            left = case.stages[index + 1].entered_at if index + 1 < len(case.stages) else done
            if left is not None:
                days = cal.working_days_between(visit.entered_at, left)
                at_stage.setdefault(visit.stage, []).append(days)
        if any(v.policy_issue for v in case.stages):
            policy_issue += 1
        if done is None:
            ended_open[case.stage] += 1
        else:
            ended_resolved[case.stage] += 1
            days = cal.working_days_between(case.raised_at, done)
            to_resolve.setdefault(case.stage, []).append(days)
            all_to_resolve.append(days)
            month_resolved[f"{cal.local_date(done):%Y-%m}"] += 1
        for clock in case.clocks:
            if clock.never_started or clock.reminder_every is not None:
                continue  # called off before it started, or a reminder cadence: no deadline
            key = (clock.stage, clock.clock)
            clock_labels.setdefault(key, clock.label)
            clock_rows.setdefault(key, Counter())[clock.status] += 1
            if clock.status in (ClockStatus.MET, ClockStatus.MISSED):
                for agency in names.clock_agencies(case, clock):
                    agency_clocks.setdefault(agency, Counter())[clock.status] += 1
        if case.recommendations is not None:
            recommendations += 1
            recommendation_items += len(case.recommendations.items)
            answered = {r.agency_id for r in case.agency_responses}
            awaited += len(case.party_agencies - answered)
        for response in case.agency_responses:
            responses[response.response] += 1
        if case.panel is not None:
            panels += 1
            if case.panel.decision is not None:
                decisions += 1
        if case.closure is not None:
            learning += len(case.closure.learning_points)
            with_learning += bool(case.closure.learning_points)
            gaps += len(case.closure.policy_gaps)
            with_gaps += bool(case.closure.policy_gaps)
            debriefs += case.closure.debrief_offered

    by_category = [CountRow(c.label, categories.pop(c.id, 0)) for c in pack.categories]
    by_category += [CountRow(cid, n) for cid, n in sorted(categories.items())]  # retired ids
    stage_rows = tuple(
        StageRow(
            stage=s.id,
            name=s.short_name,
            track=s.track,
            reached=reached[s.id],
            ended_resolved=ended_resolved[s.id],
            ended_open=ended_open[s.id],
            days_at_stage=spread(at_stage.get(s.id, [])),
            days_to_resolve=spread(to_resolve.get(s.id, [])),
        )
        for s in pack.stages
    )

    clock_order = {
        (s.id, c.id): i for i, (s, c) in enumerate((s, c) for s in pack.stages for c in s.clocks)
    }

    def clock_sort(key: tuple[str, str]) -> tuple[int, str]:
        return (clock_order.get(key, len(clock_order)), f"{key[0]}/{key[1]}")

    clocks_by_stage = tuple(
        ClockRow(
            stage=stage,
            clock=clock,
            label=clock_labels[(stage, clock)],
            met=counts[ClockStatus.MET],
            missed=counts[ClockStatus.MISSED],
            ended=counts[ClockStatus.ENDED],
            running=counts[ClockStatus.RUNNING],
        )
        for (stage, clock), counts in sorted(clock_rows.items(), key=lambda kv: clock_sort(kv[0]))
    )
    clocks_by_agency = tuple(
        AgencyClockRow(agency, counts[ClockStatus.MET], counts[ClockStatus.MISSED])
        for agency, counts in sorted(
            agency_clocks.items(),
            key=lambda kv: (-(kv[1][ClockStatus.MET] + kv[1][ClockStatus.MISSED]), kv[0]),
        )
    )
    notes: list[str] = []
    synthetic = bool(chosen) and all(c.id.startswith("syn-") for c in chosen)
    if synthetic:
        notes.append("SYNTHETIC sample data: invented cases, not a record of real work.")
    return BoardReport(
        board_id=pack.board.id,
        board_name=pack.board.name,
        start=start,
        end=end,
        raised=len(chosen),
        open=status[CaseStatus.OPEN],
        resolved=status[CaseStatus.RESOLVED],
        closed=status[CaseStatus.CLOSED],
        immediate_risk=sum(c.immediate_risk for c in chosen),
        by_category=tuple(by_category),
        by_agency_pair=tuple(
            AgencyPairRow(a, b, n)
            for (a, b), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        by_stage=stage_rows,
        days_to_resolve=spread(all_to_resolve),
        clocks_by_stage=clocks_by_stage,
        clocks_by_agency=clocks_by_agency,
        monthly=tuple(MonthRow(m, month_raised[m], month_resolved[m]) for m in _months(start, end)),
        policy_issue_referrals=policy_issue,
        recommendations_made=recommendations,
        recommendations_total=recommendation_items,
        agency_responses=tuple(ResponseRow(r, RESPONSE_LABELS[r], responses[r]) for r in RESPONSES),
        responses_awaited=awaited,
        panels_convened=panels,
        panel_decisions=decisions,
        learning_points=learning,
        cases_with_learning_points=with_learning,
        policy_gaps=gaps,
        cases_with_policy_gaps=with_gaps,
        debriefs_offered=debriefs,
        synthetic=synthetic,
        notes=tuple(notes),
        default_track=pack.default_track,
        senior_stages=tuple(s.id for s in pack.senior_stages()),
        reached_senior=reached_senior,
        stage_word=pack.words.stage,
        recommender=pack.words.recommender,
    )
