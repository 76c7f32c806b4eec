"""What the "My cases" tab makes of a case (tabs.my_cases) and its timeline (escalation.timeline):
each line at the viewer's level, deadlines in UK dates and working days, what waits on the
viewer, the filters; the board's copy names no one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalation.access import ViewLevel
from escalation.packs import PackRegistry
from escalation.service import EscalationService
from escalation.timeline import case_clocks, case_timeline, uk_time
from tabs.my_cases import case_detail, case_line, choose
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.people import make_directory
from testkit.scenarios import build_redbridge


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def packs() -> PackRegistry:
    from escalation.packs import default_policy_dir

    return PackRegistry.from_directory(default_policy_dir())


@pytest.fixture
def service(
    packs: PackRegistry, repository: InMemoryCaseRepository, clock: FakeClock
) -> EscalationService:
    from escalation.directory import StaticDirectory
    from testkit.fakes import RecordingNotifier

    return EscalationService(
        packs=packs,
        repository=repository,
        directory=StaticDirectory(make_directory()),
        notifier=RecordingNotifier(),
        now=clock,
    )


def test_uk_time_is_the_boards_local_time() -> None:
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    assert uk_time(datetime(2026, 7, 1, 16, 0, tzinfo=UTC), london) == "Wed 1 Jul 2026, 17:00"
    assert uk_time(datetime(2026, 12, 24, 17, 0, tzinfo=UTC), london) == "Thu 24 Dec 2026, 17:00"


async def test_each_case_line_is_at_the_viewers_level(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    packs: PackRegistry,
) -> None:
    await build_redbridge(service, clock)
    directory = make_directory()
    pack = packs.get("redbridge")
    now = clock.now
    for case in repository.states.values():
        if case.board_id != "redbridge":
            continue
        raiser = case.raiser.person_id
        assert raiser is not None
        full = case_line(case, pack, directory, raiser, now)
        assert full is not None and full.level == ViewLevel.FULL
        copy = case_line(case, pack, directory, "rb-chair", now)
        outsider = case_line(case, pack, directory, "hana", now)  # Harrow's: no view
        assert outsider is None
        if copy is not None and copy.level == ViewLevel.COPY:
            assert copy.waiting_on_me == ()  # a copy asks nothing of anyone


async def test_the_copys_timeline_names_no_one_and_quotes_nothing(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    packs: PackRegistry,
) -> None:
    await build_redbridge(service, clock)
    directory = make_directory()
    pack = packs.get("redbridge")
    names = {p.name for p in directory.people.values()}
    for case_id, case in repository.states.items():
        if case.board_id != "redbridge":
            continue
        stored = await repository.load(case_id)
        assert stored is not None
        events = stored.events
        full = case_timeline(case, events, pack, directory, ViewLevel.FULL)
        copy = case_timeline(case, events, pack, directory, ViewLevel.COPY)
        assert [e.what for e in full if e.kind == "ClockStopped"] == []
        assert len(full) == len(copy) == len(events)
        assert any(e.who in names for e in full)
        for entry in copy:
            assert not [
                n for n in names | {p.name for p in case.parties} if n in entry.who + entry.what
            ]
        typed = [v for v in case.details.values() if len(v) > 12]
        for entry in [*full, *copy]:
            assert not [t for t in typed if t in entry.what]
        assert case_timeline(case, events, pack, directory, ViewLevel.NONE) == []
        stopped = [c for c in case.clocks if c.status.value in ("met", "missed")]
        kinds = {e.kind for e in full}
        if stopped:
            assert kinds & {"clock-met", "clock-missed"}
        assert len(case_clocks(case, pack, clock.now)) <= len(case.clocks)


async def test_deadlines_waiting_and_the_filters(
    service: EscalationService,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    packs: PackRegistry,
) -> None:
    from testkit.builders import redbridge_raise

    clock.set("2026-12-01T10:00:00+00:00")  # a Tuesday
    raised = (await service.execute(redbridge_raise())).case
    directory = make_directory()
    pack = packs.get("redbridge")
    raiser = raised.raiser.person_id
    assert raiser is not None
    line = case_line(raised, pack, directory, raiser, clock.now)
    assert line is not None and line.next_due is not None
    assert not line.overdue and line.next_due.working_days >= 0
    assert "working day" in line.next_due.describe or "due today" in line.next_due.describe
    # Weeks later, every running clock is overdue, counted in working days since it fell due.
    later = clock.now + timedelta(days=21)
    late = case_line(raised, pack, directory, raiser, later)
    assert late is not None and late.overdue
    assert "overdue since" in late.overdue[0] and "working days ago" in late.overdue[0]
    assert choose([late], show="overdue") == [late]
    assert choose([late], show="closed") == []
    assert choose([late], stage="2") == [] and choose([late], stage="1") == [late]
    mine = choose([late], show="waiting")
    assert mine == ([late] if late.waiting_on_me else [])
    stored = await repository.load(raised.id)
    assert stored is not None
    detail = case_detail(raised, stored.events, pack, directory, raiser, later)
    assert detail is not None and detail.clocks and detail.timeline[0].kind == "CaseRaised"
    assert case_detail(raised, [], pack, directory, "hana", later) is None


async def test_the_timeline_speaks_in_the_packs_own_words(
    service: EscalationService, repository: InMemoryCaseRepository, packs: PackRegistry
) -> None:
    """A children's partnership's case says 'child' and 'step' where an adults' board says
    'adult' and 'stage'."""
    from testkit.builders import redbridge_raise

    case_id = (await service.execute(redbridge_raise(immediate_risk=True))).case.id
    stored = await repository.load(case_id)
    assert stored is not None
    pack = packs.get("redbridge")
    children = pack.model_copy(
        update={"words": pack.words.model_copy(update={"person": "child", "stage": "step"})}
    )
    case = repository.states[case_id]
    for words, (person, stage) in (
        (pack, ("adult", "stage 1 (")),
        (children, ("child", "step 1 (")),
    ):
        text = " ".join(
            e.what
            for e in case_timeline(case, stored.events, words, make_directory(), ViewLevel.FULL)
        )
        assert f"The {person} was said to be at immediate risk" in text
        assert stage in text
