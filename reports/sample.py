"""SYNTHETIC sample cases, made by driving real commands through `EscalationService`.

Every case is raised, discussed, escalated, resolved and closed by the same rules a live case
follows, so its hash chain, clocks and statuses are real. Only the people and the words are
invented, and they say so: person ids start ``syn-``, names start "Synthetic", case ids start
``syn-``, adult references are ``SYN-…`` and every free-text field starts "SYNTHETIC".

The mix (deterministic for a seed): categories and agency pairs weighted towards the council,
about 10% immediate risk, most cases resolved at stage 1 or 2, some escalated to 3 and 4, the
final stage's recommendations (with agency responses) or resolution panel, closures with
learning points and policy gaps from a fixed list of generic phrases, and some clocks missed
(late raising, slow responses, next-day referrals, late recommendations). Cases whose next
step would fall after ``until`` stay open where they are.

No notification leaves: the service is given a notifier that drops everything, and the
repository is wrapped so that no message reaches an outbox (seeding real storage must not
queue messages for invented people).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Final

from escalation.actors import Actor, resolve, stage_actors
from escalation.calendar import WorkingCalendar, calendar_for
from escalation.case import Case, CaseStatus
from escalation.commands import (
    AgencyResponse,
    ApproveOutcome,
    CloseCase,
    Command,
    ConfirmOutcome,
    ConvenePanel,
    Escalate,
    OtherParty,
    RaiseDisagreement,
    RecordAgencyResponse,
    RecordDiscussion,
    RecordPanelDecision,
    RecordRecommendations,
    RecordRepresentation,
)
from escalation.directory import Directory, Person, StaticDirectory
from escalation.events import Event
from escalation.notifications import Notification
from escalation.packs import PackRegistry
from escalation.policy import PolicyPack, Selector, Stage, StageOutcome
from escalation.ports import CaseRepository, StoredCase
from escalation.service import EscalationService

if TYPE_CHECKING:
    from storage.stores import Storage

__all__ = [
    "LEARNING_POINTS",
    "POLICY_GAPS",
    "SYNTHETIC",
    "SampleClock",
    "generate",
    "seed_storage",
    "synthetic_directory",
]

SYNTHETIC: Final = "SYNTHETIC"
ID_PREFIX: Final = "syn-"

# Generic phrases only: no names, places, dates or circumstances of a person.
LEARNING_POINTS: Final = (
    "Agree a named contact in each agency early",
    "Share assessments before the first discussion",
    "Record the basis of threshold decisions",
    "Use a joint meeting sooner when views differ",
    "Escalate within the policy timescales",
    "Involve the safeguarding lead when risk is rising",
    "Confirm agreed actions in writing the same day",
)
POLICY_GAPS: Final = (
    "Roles of agencies unclear in joint work",
    "No shared threshold guidance across agencies",
    "Information-sharing route not set out",
    "Hospital discharge not covered",
    "No timescale for confirming outcomes",
)
_RESPONSES: Final[tuple[AgencyResponse, ...]] = ("accepted", "partly_accepted", "not_accepted")
_SECTOR_WEIGHT: Final = {"council": 6, "health": 3, "police": 2, "housing": 2}


def _text(what: str) -> str:
    return f"{SYNTHETIC} sample {what}: invented, about no real person."


class SampleClock:
    """The service's clock for sample data: set by the generator, moving forward per case."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class _SilentNotifier:
    async def notify(self, notifications: Sequence[Notification]) -> None:
        return None


@dataclass
class _NoOutbox:
    """A repository that keeps the events and state but never queues a message."""

    inner: CaseRepository

    async def load(self, case_id: str) -> StoredCase | None:
        return await self.inner.load(case_id)

    async def save(
        self,
        case: Case,
        new_events: Sequence[Event],
        notifications: Sequence[Notification],
        *,
        expected_version: int,
        previous: Case | None = None,
    ) -> None:
        await self.inner.save(
            case, new_events, (), expected_version=expected_version, previous=previous
        )


# -- the synthetic directory --------------------------------------------------------------------


def synthetic_directory(packs: Iterable[PolicyPack]) -> Directory:
    """Invented people for every agency of every pack, holding every role a stage may need."""
    people: dict[str, Person] = {}

    def add(pid: str, name: str, agency: str, roles: Iterable[str], **kw: object) -> None:
        if pid not in people:
            people[pid] = Person(
                id=pid,
                name=name,
                agency_id=agency,
                roles=frozenset(roles),
                email=None,
                **kw,  # type: ignore[arg-type]
            )

    pack_list = list(packs)
    # Agencies sit on several boards (the police, for one): give their people every board's roles.
    agency_roles = {r.id for p in pack_list for r in p.roles if r.scope.value == "agency"}
    # What the packs say a newcomer asks to be and who manages people: the rest is held by each
    # agency's senior manager, but for a role the packs only ever name within some sectors
    # (a named health professional, say), which only those sectors' agencies have.
    newcomer = {p.joining.newcomer_role for p in pack_list} & agency_roles
    managing = {r for p in pack_list for r in p.joining.manager_roles} & agency_roles
    sectors = _role_sectors(pack_list)
    for pack in pack_list:
        for agency in pack.agencies:
            tag = agency.id
            manager = f"{ID_PREFIX}{tag}-lm"
            senior = f"{ID_PREFIX}{tag}-sm"
            for n in (1, 2, 3):
                add(
                    f"{ID_PREFIX}{tag}-pr{n}",
                    f"Synthetic Practitioner {n} ({tag})",
                    tag,
                    newcomer,
                    line_manager_id=manager,
                )
            add(
                manager,
                f"Synthetic Line Manager ({tag})",
                tag,
                managing,
                line_manager_id=senior,
            )
            senior_roles = {
                role
                for role in agency_roles - newcomer - managing
                if role not in sectors or agency.sector in sectors[role]
            }
            add(senior, f"Synthetic Senior Manager ({tag})", tag, senior_roles)
        host = pack.agencies[0].id
        for role in pack.roles:
            if role.scope.value == "board":
                add(
                    f"{ID_PREFIX}{pack.board.id}-{role.id}",
                    f"Synthetic {role.name} ({pack.board.short_name})",
                    host,
                    (),
                    board_roles=frozenset({(pack.board.id, role.id)}),
                )
    return Directory.of(people.values())


def _role_sectors(packs: Iterable[PolicyPack]) -> dict[str, set[str]]:
    """Roles the packs name only within some sectors, with those sectors."""
    narrowed: dict[str, set[str]] = {}
    anywhere: set[str] = set()
    for pack in packs:
        for selector in _selectors(pack):
            if selector.who != "agency_role":
                continue
            for role in selector.roles:
                if selector.sectors:
                    narrowed.setdefault(role, set()).update(selector.sectors)
                else:
                    anywhere.add(role)
    return {role: found for role, found in narrowed.items() if role not in anywhere}


def _selectors(pack: PolicyPack) -> Iterable[Selector]:
    for stage in pack.stages:
        yield from (*stage.actors, *stage.notify_on_entry, *stage.advisers)
        for clock in stage.clocks:
            yield from clock.owner
    yield from pack.immediate_risk.notify


# -- driving one case ---------------------------------------------------------------------------


class _Stop(Exception):
    """The case's next step falls after `until`: it stays as it is."""


@dataclass
class _Run:
    service: EscalationService
    clock: SampleClock
    pack: PolicyPack
    calendar: WorkingCalendar
    directory: Directory
    rng: random.Random
    until: datetime
    last: Case | None = None

    def later(self, working_days: int) -> None:
        """Move the clock on: within the day (0) or to a time on the nth working day after."""
        now = self.clock.now
        if working_days <= 0:
            moment = now + timedelta(minutes=self.rng.randint(15, 120))
        else:
            day = self.calendar.nth_working_day_after(self.calendar.local_date(now), working_days)
            moment = self.calendar.at(day, time(self.rng.randint(9, 15), self.rng.choice((0, 30))))
        moment = moment.astimezone(UTC)
        if moment > self.until:
            raise _Stop
        self.clock.now = moment

    async def do(self, command: Command) -> Case:
        self.last = (await self.service.execute(command)).case
        return self.last

    def actors(self, case: Case, side: str | None = None) -> list[Actor]:
        found = stage_actors(case, self.pack, self.directory, case.stage).actors
        chosen = [a for a in found if side is None or a.side == side]
        return sorted(chosen, key=lambda a: a.person_id)

    def pick(self, case: Case, *sides: str) -> str:
        for side in sides:
            chosen = self.actors(case, side)
            if chosen:
                return self.rng.choice(chosen).person_id
        return self.rng.choice(self.actors(case)).person_id

    def delay(self, immediate: bool, weights: Sequence[int]) -> int:
        if immediate:
            return 0 if self.rng.random() < 0.85 else 1
        return self.rng.choices(range(len(weights)), weights=weights)[0]


_RESOLVE_AT: Final = (0.65, 0.6, 0.5)  # chance a stage's discussion agrees: stage 1, 2, 3+


async def _drive(run: _Run, raised: RaiseDisagreement) -> Case:
    case = await run.do(raised)
    with contextlib.suppress(_Stop):  # the rest lies after `until`: it stays where it got to
        await _steps(run, case)
    assert run.last is not None
    return run.last


async def _steps(run: _Run, case: Case) -> None:
    rng = run.rng
    path = run.pack.stage_path(case.track)
    immediate = case.immediate_risk
    while True:
        stage = run.pack.stage(case.stage)
        index = [s.id for s in path].index(stage.id)
        if stage.outcome == StageOutcome.RECOMMENDATIONS:
            case = await _recommendations(run, case, stage)
            break
        if stage.outcome == StageOutcome.PANEL_DECISION:
            case = await _panel(run, case, stage)
            break
        # A discussion: a quick reply mostly, sometimes a slow one that misses its clock.
        run.later(run.delay(immediate, (2, 4, 3, 2, 1, 1)))
        resolved = rng.random() < _RESOLVE_AT[min(index, 2)] or stage.escalates_to is None
        recorder = run.pick(case, "receiver", "raiser")
        participants = tuple(sorted({run.pick(case, "raiser"), recorder}))
        case = await run.do(
            RecordDiscussion(
                actor_id=recorder,
                case_id=case.id,
                held_at=run.clock.now,
                participants=participants,
                summary=_text("discussion summary"),
                outcome="resolved" if resolved else "not_resolved",
                points_of_difference=_text("points of difference"),
                basis_of_decision=_text("basis of decision"),
                agreed_outcome=_text("agreed outcome") if resolved else "",
            )
        )
        if resolved:
            run.later(run.delay(immediate, (5, 4, 1, 1)))
            confirmer = run.pick(case, "receiver")
            case = await run.do(
                ConfirmOutcome(actor_id=confirmer, case_id=case.id, outcome=_text("outcome"))
            )
            run.later(0)
            approvers = [a.person_id for a in run.actors(case, "raiser")]
            if case.raiser.person_id is not None:
                approvers.append(case.raiser.person_id)
            approver = rng.choice(sorted(set(approvers) - {confirmer}))
            case = await run.do(ApproveOutcome(actor_id=approver, case_id=case.id))
            break
        # Not resolved: escalate the same day mostly; the next day misses the referral clock.
        run.later(0 if rng.random() < 0.85 else 1)
        policy_issue = (
            run.pack.policy_issue_stage is not None
            and index == 1
            and stage.escalates_to != run.pack.policy_issue_stage
            and rng.random() < 0.15
        )
        case = await run.do(
            Escalate(
                actor_id=run.pick(case, "raiser", "receiver"),
                case_id=case.id,
                reason=_text("reason for escalating"),
                aim=_text("aim"),
                evidence=_text("evidence"),
                evidence_source=_text("evidence source"),
                policy_issue=policy_issue,
            )
        )
    if case.status == CaseStatus.RESOLVED and rng.random() < 0.85:
        run.later(rng.randint(1, 6))
        late = len(case.stages) > 1
        learning = rng.sample(LEARNING_POINTS, rng.choices((0, 1, 2), weights=(3, 5, 2))[0])
        gaps = rng.sample(POLICY_GAPS, 1) if rng.random() < (0.45 if late else 0.12) else []
        case = await run.do(
            CloseCase(
                actor_id=case.raiser.person_id or run.pick(case),
                case_id=case.id,
                summary=_text("closing summary"),
                learning_points=tuple(learning),
                policy_gaps=tuple(gaps),
                debrief_offered=rng.random() < (0.8 if late else 0.5),
            )
        )


async def _recommendations(run: _Run, case: Case, stage: Stage) -> Case:
    rules = stage.recommendations
    assert rules is not None
    run.later(run.rng.choices(range(9), weights=(0, 1, 2, 3, 3, 3, 1, 1, 1))[0])
    chairs = sorted(resolve(rules.by, case, run.pack, run.directory).person_ids)
    items = tuple(_text(f"recommendation {n}") for n in range(1, run.rng.randint(1, 3) + 1))
    case = await run.do(
        RecordRecommendations(actor_id=chairs[0], case_id=case.id, recommendations=items)
    )
    for agency_id in (case.raiser.agency_id, case.receiver.agency_id):
        run.later(run.rng.randint(1, 5))
        response = run.rng.choices(_RESPONSES, weights=(6, 3, 1))[0]
        case = await run.do(
            RecordAgencyResponse(
                actor_id=f"{ID_PREFIX}{agency_id}-sm",
                case_id=case.id,
                agency_id=agency_id,
                response=response,
                detail="" if response == "accepted" else _text("response detail"),
            )
        )
    return case


async def _panel(run: _Run, case: Case, stage: Stage) -> Case:
    rules = stage.panel
    assert rules is not None
    run.later(run.rng.randint(1, 4))
    convenor = sorted(resolve(rules.convened_by, case, run.pack, run.directory).person_ids)[0]
    eligible = sorted(
        a.id for a in run.pack.agencies if a.board_member and a.id not in case.party_agencies
    )
    members = tuple(run.rng.sample(eligible, min(len(eligible), rules.min_agencies)))
    case = await run.do(ConvenePanel(actor_id=convenor, case_id=case.id, agency_ids=members))
    for party in case.parties:
        run.later(run.rng.randint(0, 2))
        case = await run.do(
            RecordRepresentation(
                actor_id=party.person_id or f"{ID_PREFIX}{party.agency_id}-sm",
                case_id=case.id,
                agency_id=party.agency_id,
                summary=_text("representation"),
            )
        )
    run.later(run.rng.randint(2, 8))
    return await run.do(
        RecordPanelDecision(actor_id=convenor, case_id=case.id, decision=_text("panel decision"))
    )


# -- the mix ------------------------------------------------------------------------------------


def _working_days(calendar: WorkingCalendar, start: date, end: date) -> list[date]:
    days: list[date] = []
    day = start
    while day <= end:
        if calendar.is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _raise_command(
    pack: PolicyPack, calendar: WorkingCalendar, rng: random.Random, raised_at: datetime, n: int
) -> RaiseDisagreement:
    agencies = [a for a in pack.agencies if a.board_member]
    weights = [_SECTOR_WEIGHT.get(str(a.sector), 1) for a in agencies]
    raiser_agency = rng.choices(agencies, weights=weights)[0]
    others = [a for a in agencies if a.id != raiser_agency.id]
    receiver_agency = rng.choices(
        others, weights=[_SECTOR_WEIGHT.get(str(a.sector), 1) for a in others]
    )[0]
    categories = pack.categories
    category_weights = [1 if c.id == "other" else 3 + (i % 3) for i, c in enumerate(categories)]
    category = rng.choices(categories, weights=category_weights)[0].id
    # The disagreement arose on the day or a few working days before (3+ misses a 2-day clock).
    day = calendar.local_date(raised_at)
    back = rng.choices(range(5), weights=(50, 30, 12, 5, 3))[0]
    for _ in range(back):
        day -= timedelta(days=1)
        while not calendar.is_working_day(day):
            day -= timedelta(days=1)
    immediate = rng.random() < 0.10
    start_stage: str | None = None
    if immediate and pack.immediate_risk.may_choose_start_stage and rng.random() < 0.3:
        path = pack.stage_path(pack.default_track)
        start_stage = path[min(2, len(path) - 1)].id
    return RaiseDisagreement(
        actor_id=f"{ID_PREFIX}{raiser_agency.id}-pr{rng.randint(1, 3)}",
        board_id=pack.board.id,
        other_party=OtherParty(
            agency_id=receiver_agency.id,
            person_id=f"{ID_PREFIX}{receiver_agency.id}-pr{rng.randint(1, 3)}",
        ),
        adult_reference=f"SYN-{n:06d}",
        category=category,
        disagreement_date=day,
        immediate_risk=immediate,
        issue=_text("issue"),
        risk_to_adult=_text("risk to the adult"),
        nature_of_disagreement=_text("nature of the disagreement"),
        aim=_text("aim"),
        evidence=_text("evidence"),
        start_stage=start_stage,
        start_reason=_text("reason to start later") if start_stage else None,
    )


async def generate(
    repository: CaseRepository,
    packs: PackRegistry | Sequence[PolicyPack],
    n: int,
    *,
    seed: int = 1,
    start: date = date(2025, 4, 1),
    days: int = 365,
    until: datetime | None = None,
) -> list[str]:
    """Raise and drive `n` SYNTHETIC cases, raised on working days in [start, start + days).

    Boards take turns in a seeded random order. Steps after `until` (default: 60 days after the
    last raising day) are not taken, so the latest cases are still open. Returns the case ids,
    in the order they were raised (which is not date order: each case runs start to finish).
    """
    registry = packs if isinstance(packs, PackRegistry) else PackRegistry(packs)
    pack_list = [registry.get(b) for b in registry.board_ids()]
    if not pack_list:
        raise ValueError("no policy packs to make sample cases for")
    directory = synthetic_directory(pack_list)
    clock = SampleClock(datetime.combine(start, time(9), tzinfo=UTC))
    counter = iter(range(1, 10_000_000))
    service = EscalationService(
        packs=registry,
        repository=_NoOutbox(repository),
        directory=StaticDirectory(directory),
        notifier=_SilentNotifier(),
        now=clock,
        new_case_id=lambda prefix, now: f"{ID_PREFIX}{prefix}-{now:%Y}-{next(counter):06d}",
    )
    last_day = start + timedelta(days=days - 1)
    stop = until or datetime.combine(last_day + timedelta(days=60), time(17), tzinfo=UTC)
    rng = random.Random(seed)
    case_ids: list[str] = []
    for number in range(1, n + 1):
        pack = rng.choice(pack_list)
        calendar = calendar_for(pack)
        working = _working_days(calendar, start, last_day)
        raise_day = rng.choice(working)
        raised_at = calendar.at(raise_day, time(rng.randint(9, 15), rng.choice((0, 20, 40))))
        clock.now = raised_at.astimezone(UTC)
        if clock.now > stop:
            continue
        run = _Run(service, clock, pack, calendar, directory, rng, stop)
        command = _raise_command(pack, calendar, rng, raised_at, number)
        case_ids.append((await _drive(run, command)).id)
    return case_ids


async def seed_storage(
    storage: Storage,
    packs: PackRegistry | Sequence[PolicyPack],
    n: int,
    seed: int = 1,
    *,
    start: date | None = None,
    days: int = 365,
) -> list[str]:
    """Write `n` SYNTHETIC cases into real storage (events, state, indexes; no messages).

    By default they are raised over the year up to today and no step is later than now.
    """
    now = datetime.now(UTC)
    first = start or (now.date() - timedelta(days=days))
    return await generate(storage.cases, packs, n, seed=seed, start=first, days=days, until=now)
