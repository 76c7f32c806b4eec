"""The SYNTHETIC sample data: real commands through the service, a realistic mix, repeatable."""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest

from escalation.case import Case, CaseStatus, ClockStatus
from escalation.events import verify_chain
from escalation.packs import PackRegistry
from reports.figures import board_report
from reports.render import to_markdown
from reports.sample import LEARNING_POINTS, POLICY_GAPS, generate, synthetic_directory
from testkit.fakes import InMemoryCaseRepository

N = 600


def _generate(
    packs: PackRegistry,
    n: int,
    seed: int,
    *,
    start: date = date(2025, 4, 1),
    days: int = 365,
    until: datetime | None = None,
) -> InMemoryCaseRepository:
    repository = InMemoryCaseRepository()
    made = generate(repository, packs, n, seed=seed, start=start, days=days, until=until)
    # A thread of its own: asyncio.run here would replace pytest-asyncio's loop, leaving it open.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, made).result()
    return repository


@pytest.fixture(scope="module")
def sample(packs: PackRegistry) -> InMemoryCaseRepository:
    return _generate(packs, N, seed=11)


@pytest.fixture(scope="module")
def cases(sample: InMemoryCaseRepository) -> list[Case]:
    return list(sample.states.values())


def test_the_same_seed_gives_the_same_cases_and_another_seed_does_not(
    packs: PackRegistry,
) -> None:
    def fingerprint(repo: InMemoryCaseRepository) -> list[tuple[str, str]]:
        return [(case_id, events[-1].hash) for case_id, events in repo.events.items()]

    first = fingerprint(_generate(packs, 80, seed=5))
    assert first == fingerprint(_generate(packs, 80, seed=5))
    assert first != fingerprint(_generate(packs, 80, seed=6))


def test_every_case_is_marked_synthetic_and_its_history_verifies(
    sample: InMemoryCaseRepository, cases: list[Case]
) -> None:
    assert len(cases) == N
    for case_id, events in sample.events.items():
        assert case_id.startswith("syn-")
        assert verify_chain(case_id, events) == []
    for case in cases:
        assert case.adult_reference.startswith("SYN-")
        assert all(v.startswith("SYNTHETIC") for v in case.details.values())
        for party in case.parties:
            assert party.person_id is not None and party.person_id.startswith("syn-")
            assert party.name.startswith("Synthetic")
        if case.closure is not None:
            assert set(case.closure.learning_points) <= set(LEARNING_POINTS)
            assert set(case.closure.policy_gaps) <= set(POLICY_GAPS)
    assert sample.outbox == {}  # nothing was queued for the invented people


def test_the_directory_is_synthetic(packs: PackRegistry) -> None:
    people = synthetic_directory(packs).people.values()
    assert all(p.id.startswith("syn-") and p.name.startswith("Synthetic") for p in people)
    assert all(p.email is None for p in people)


def test_the_mix_is_realistic(cases: list[Case]) -> None:
    n = len(cases)
    boards = Counter(c.board_id for c in cases)
    assert boards["redbridge"] > 0.35 * n and boards["harrow"] > 0.35 * n
    assert 0.05 <= sum(c.immediate_risk for c in cases) / n <= 0.16
    main = [c for c in cases if c.track == "main"]
    resolved_at_1 = sum(1 for c in main if c.stage == "1" and c.status != CaseStatus.OPEN)
    assert resolved_at_1 / n >= 0.45  # most end at stage 1...
    at_1_or_2 = sum(1 for c in main if c.stage in ("1", "2"))
    assert at_1_or_2 / n >= 0.7  # ...or 2
    reached_3 = sum(c.reached("3") for c in cases) / n
    reached_4 = sum(c.reached("4") for c in cases) / n
    assert 0.05 <= reached_3 <= 0.35 and 0.02 <= reached_4 <= 0.2
    categories = Counter((c.board_id, c.category) for c in cases)
    assert len(categories) >= 11  # every category of both boards turns up
    assert len({frozenset(c.party_agencies) for c in cases}) >= 30
    clocks = Counter(k.status for c in cases for k in c.clocks)
    missed = clocks[ClockStatus.MISSED] / (clocks[ClockStatus.MET] + clocks[ClockStatus.MISSED])
    assert 0.03 <= missed <= 0.3
    redbridge_4 = [c for c in cases if c.board_id == "redbridge" and c.reached("4")]
    assert redbridge_4 and all(c.recommendations for c in redbridge_4)
    assert Counter(r.response for c in redbridge_4 for r in c.agency_responses).keys() == {
        "accepted",
        "partly_accepted",
        "not_accepted",
    }
    harrow_4 = [c for c in cases if c.board_id == "harrow" and c.reached("4")]
    assert harrow_4 and all(c.panel and c.panel.decision for c in harrow_4)
    closed = [c.closure for c in cases if c.closure is not None]
    assert 0.7 <= len(closed) / n <= 0.95
    assert sum(bool(closure.learning_points) for closure in closed) / len(closed) >= 0.5
    assert any(closure.policy_gaps for closure in closed)
    assert any(closure.debrief_offered for closure in closed)


def test_steps_after_until_are_not_taken(packs: PackRegistry) -> None:
    until = datetime(2025, 5, 1, 17, tzinfo=UTC)
    repo = _generate(packs, 60, seed=2, start=date(2025, 4, 1), days=30, until=until)
    cases = list(repo.states.values())
    assert all(e.at <= until for events in repo.events.values() for e in events)
    assert any(c.status == CaseStatus.OPEN for c in cases)


def test_a_sample_report_says_it_is_synthetic(cases: list[Case], packs: PackRegistry) -> None:
    report = board_report(cases, packs.get("harrow"), start=date(2025, 4, 1), end=date(2026, 3, 31))
    assert report.synthetic and report.raised > 200
    assert "SYNTHETIC sample data" in to_markdown(report)
