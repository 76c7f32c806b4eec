"""Nudges in simulated time: real cases, swept hour by hour for weeks.

Each test runs the service on a FakeClock, steps `now` an hour at a time (bounded), runs the
commands a scenario schedules at their moments, and collects what `due_nudges` returns. Every
expected nudge must appear under exactly one key, with one send moment, to the right person; a
sweep must never return anything on a weekend or bank holiday, nor a nudge of another day.
Times in the tables are UTC: 09:00 local is 09:00Z in winter (GMT) and 08:00Z in summer (BST).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from escalation.calendar import calendar_for
from escalation.case import Case, CaseStatus
from escalation.commands import (
    ApproveOutcome,
    Command,
    ConfirmOutcome,
    Escalate,
    SetProtectiveDeadline,
)
from escalation.directory import Directory
from escalation.nudges import Nudge, NudgeKind, due_nudges, nudge_key, schedule
from escalation.policy import Nudges, PolicyPack
from escalation.service import EscalationService
from testkit.builders import discussion, redbridge_raise
from testkit.clocks import FakeClock

EW, DUE, OVER, MGR, REM = (
    NudgeKind.EARLY_WARNING,
    NudgeKind.DUE_TODAY,
    NudgeKind.OVERDUE,
    NudgeKind.OVERDUE_MANAGER,
    NudgeKind.OVERDUE_REMINDER,
)

Row = tuple[str, str, str, str, str]  # stage, clock, kind, send moment (UTC), recipient
MAX_HOURS = 24 * 60  # no simulation may run longer than sixty days


def rows(stage: str, clock: str, kind: NudgeKind, when: str, *people: str) -> set[Row]:
    return {(stage, clock, kind.value, when, person) for person in people}


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


class Run:
    """What a simulation saw: each key's nudge, the send moments it had, when first returned."""

    def __init__(self) -> None:
        self.nudges: dict[str, Nudge] = {}
        self.moments: dict[str, set[datetime]] = {}
        self.first_seen: dict[str, datetime] = {}

    def rows(self) -> set[Row]:
        return {
            (
                n.stage,
                n.clock,
                n.kind.value,
                n.send_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                n.recipient_id,
            )
            for n in self.nudges.values()
        }

    def of(self, kind: NudgeKind) -> list[Nudge]:
        return [n for n in self.nudges.values() if n.kind == kind]


async def simulate(
    service: EscalationService,
    clock: FakeClock,
    pack: PolicyPack,
    directory: Directory,
    case_id: str,
    *,
    until: str,
    actions: dict[str, list[Command]] | None = None,
) -> Run:
    """Sweep every hour from the clock's time to `until` (UTC), running `actions` on the way."""
    calendar = calendar_for(pack)
    scheduled = {utc(k): v for k, v in (actions or {}).items()}
    start, end = clock.now, utc(until)
    hours = [start.replace(minute=0, second=0) + timedelta(hours=h) for h in range(MAX_HOURS)]
    assert end <= hours[-1], "simulation longer than MAX_HOURS"
    moments = sorted({m for m in hours if start <= m <= end} | set(scheduled))
    run = Run()
    case: Case = await service.case(case_id)
    for now in moments:
        for command in scheduled.get(now, []):
            clock.set(now.isoformat())
            await service.execute(command)
            case = await service.case(case_id)
        found = due_nudges(case, pack, directory, calendar, now=now)
        again = due_nudges(case, pack, directory, calendar, now=now)
        assert again == found  # a sweep may run again: it returns the same nudges
        keys = [n.key for n in found]
        assert len(keys) == len(set(keys)), keys
        if found:
            assert calendar.is_working_day(calendar.local_date(now)), (now, keys)
        for nudge in found:
            assert nudge.send_at <= now
            assert nudge.day == calendar.local_date(now) == calendar.local_date(nudge.send_at)
            run.nudges.setdefault(nudge.key, nudge)
            run.moments.setdefault(nudge.key, set()).add(nudge.send_at)
            run.first_seen.setdefault(nudge.key, now)
    for key, seen in run.moments.items():
        assert len(seen) == 1, f"{key} was sent for several moments: {seen}"
        # Hourly sweeps find each nudge within the hour it falls due.
        assert run.first_seen[key] - run.nudges[key].send_at < timedelta(hours=1), key
    return run


# -- stage 1 and stage 2, left alone --------------------------------------------------------------


@pytest.mark.clause("RB-4.4")
async def test_stage_1_clocks_warn_fall_due_and_chase_owners_then_managers(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    # Raised Tuesday 1 December 2026 10:00: respond due Friday 4 Dec, resolve Tuesday 8 Dec.
    case_id = (await service.execute(redbridge_raise())).case.id
    run = await simulate(service, clock, redbridge, directory, case_id, until="2026-12-13T23:00:00")
    expected = (
        rows("1", "respond", EW, "2026-12-03 09:00", "noah")
        | rows("1", "respond", DUE, "2026-12-04 09:00", "noah")
        | rows("1", "respond", OVER, "2026-12-07 09:00", "noah")  # Friday 17:00 -> Monday
        | rows("1", "respond", MGR, "2026-12-08 09:00", "nadia")
        | rows("1", "respond", REM, "2026-12-09 09:00", "noah")
        | rows("1", "respond", REM, "2026-12-10 09:00", "noah")
        | rows("1", "respond", REM, "2026-12-11 09:00", "noah")
        | rows("1", "resolve", EW, "2026-12-07 09:00", "amara", "noah")
        | rows("1", "resolve", DUE, "2026-12-08 09:00", "amara", "noah")
        | rows("1", "resolve", OVER, "2026-12-09 09:00", "amara", "noah")
        | rows("1", "resolve", MGR, "2026-12-10 09:00", "lena", "nadia")
        | rows("1", "resolve", REM, "2026-12-11 09:00", "amara", "noah")
    )
    assert run.rows() == expected
    assert all(n.escalate_offered == (n.kind in (OVER, MGR, REM)) for n in run.nudges.values())
    assert all(n.clauses == ("RB-4.4",) for n in run.nudges.values() if n.clock == "respond")
    [due_today] = [n for n in run.of(DUE) if n.clock == "respond"]
    assert due_today.reason == (
        "'Receiving professional reviews the file and speaks to the raiser' is due today at 17:00."
    )
    [manager] = [n for n in run.of(MGR) if n.clock == "respond"]
    assert "line manager of Noah" in manager.reason


@pytest.mark.clause("RB-4.5")
async def test_stage_2_resolution_clock_chases_the_line_managers_and_theirs(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    clock.set("2026-12-02T14:00:00+00:00")
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    # Stage 2 resolve: 5 WD from Wednesday 2 December -> Wednesday 9 December 17:00.
    run = await simulate(service, clock, redbridge, directory, case_id, until="2026-12-15T23:00:00")
    expected = (
        rows("2", "resolve", EW, "2026-12-08 09:00", "lena", "nadia")
        | rows("2", "resolve", DUE, "2026-12-09 09:00", "lena", "nadia")
        | rows("2", "resolve", OVER, "2026-12-10 09:00", "lena", "nadia")
        # Lena's manager is Sam; Nadia has none in the directory, so only Sam hears.
        | rows("2", "resolve", MGR, "2026-12-11 09:00", "sam")
        | rows("2", "resolve", REM, "2026-12-14 09:00", "lena", "nadia")
        | rows("2", "resolve", REM, "2026-12-15 09:00", "lena", "nadia")
    )
    assert run.rows() == expected
    assert {n.clauses for n in run.nudges.values()} == {("RB-4.5", "RB-flow")}


# -- bank holidays and the clock change -----------------------------------------------------------


@pytest.mark.clause("RB-4.4")
async def test_christmas_and_new_year_are_quiet(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    # Raised Tuesday 22 December 2026. Not working: 25 Dec (Fri), 26-27, 28 Dec (Boxing Day
    # observed), 1 Jan 2027 (Fri), 2-3 Jan. respond: 3 WD -> Tue 29 Dec; resolve: 5 WD -> Thu 31.
    clock.set("2026-12-22T10:00:00+00:00")
    raised = await service.execute(redbridge_raise(disagreement_date=date(2026, 12, 22)))
    run = await simulate(
        service, clock, redbridge, directory, raised.case.id, until="2027-01-06T23:00:00"
    )
    expected = (
        rows("1", "respond", EW, "2026-12-24 09:00", "noah")
        | rows("1", "respond", DUE, "2026-12-29 09:00", "noah")
        | rows("1", "respond", OVER, "2026-12-30 09:00", "noah")
        | rows("1", "respond", MGR, "2026-12-31 09:00", "nadia")
        | rows("1", "respond", REM, "2027-01-04 09:00", "noah")
        | rows("1", "respond", REM, "2027-01-05 09:00", "noah")
        | rows("1", "respond", REM, "2027-01-06 09:00", "noah")
        | rows("1", "resolve", EW, "2026-12-30 09:00", "amara", "noah")
        | rows("1", "resolve", DUE, "2026-12-31 09:00", "amara", "noah")
        | rows("1", "resolve", OVER, "2027-01-04 09:00", "amara", "noah")  # not New Year's Day
        | rows("1", "resolve", MGR, "2027-01-05 09:00", "lena", "nadia")
        | rows("1", "resolve", REM, "2027-01-06 09:00", "amara", "noah")
    )
    assert run.rows() == expected
    quiet = {date(2026, 12, d) for d in (25, 26, 27, 28)} | {date(2027, 1, d) for d in (1, 2, 3)}
    assert not {n.day for n in run.nudges.values()} & quiet


@pytest.mark.clause("RB-4.4")
async def test_easter_and_the_march_clock_change(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    # Raised Monday 22 March 2027. Good Friday 26 Mar, Easter Monday 29 Mar; BST from Sunday 28
    # March. respond: 3 WD -> Thursday 25 Mar 17:00 GMT; resolve: 5 WD -> Wed 31 Mar 17:00 BST.
    clock.set("2027-03-22T10:00:00+00:00")
    raised = await service.execute(redbridge_raise(disagreement_date=date(2027, 3, 22)))
    run = await simulate(
        service, clock, redbridge, directory, raised.case.id, until="2027-04-02T23:00:00"
    )
    expected = (
        rows("1", "respond", EW, "2027-03-24 09:00", "noah")
        | rows("1", "respond", DUE, "2027-03-25 09:00", "noah")
        # Due Thursday 17:00; Friday and Monday are bank holidays: overdue on Tuesday, in BST.
        | rows("1", "respond", OVER, "2027-03-30 08:00", "noah")
        | rows("1", "respond", MGR, "2027-03-31 08:00", "nadia")
        | rows("1", "respond", REM, "2027-04-01 08:00", "noah")
        | rows("1", "respond", REM, "2027-04-02 08:00", "noah")
        | rows("1", "resolve", EW, "2027-03-30 08:00", "amara", "noah")
        | rows("1", "resolve", DUE, "2027-03-31 08:00", "amara", "noah")
        | rows("1", "resolve", OVER, "2027-04-01 08:00", "amara", "noah")
        | rows("1", "resolve", MGR, "2027-04-02 08:00", "lena", "nadia")
    )
    assert run.rows() == expected
    assert {n.send_at.strftime("%H:%M") for n in run.nudges.values()} == {"09:00"}  # local
    [due_today] = [n for n in run.of(DUE) if n.clock == "resolve" and n.recipient_id == "amara"]
    assert due_today.reason.endswith("is due today at 17:00.")  # 16:00Z, said in local time


# -- cancelled and re-timed -----------------------------------------------------------------------


@pytest.mark.clause("RB-4.4", "RB-4.5")
async def test_escalating_cancels_the_old_stage_nudges_and_starts_the_new_ones(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    escalate = Escalate(actor_id="amara", case_id=case_id, reason="No response in time")
    run = await simulate(
        service,
        clock,
        redbridge,
        directory,
        case_id,
        until="2026-12-13T23:00:00",
        actions={"2026-12-07T12:00:00": [escalate]},  # Monday, after the 09:00 nudges
    )
    expected = (
        rows("1", "respond", EW, "2026-12-03 09:00", "noah")
        | rows("1", "respond", DUE, "2026-12-04 09:00", "noah")
        | rows("1", "respond", OVER, "2026-12-07 09:00", "noah")
        | rows("1", "resolve", EW, "2026-12-07 09:00", "amara", "noah")
        # Stage 2 resolve: 5 WD from Monday 7 December -> Monday 14 December 17:00.
        | rows("2", "resolve", EW, "2026-12-11 09:00", "lena", "nadia")
    )
    assert run.rows() == expected


@pytest.mark.clause("RB-4.4")
async def test_a_resolved_case_gets_no_more_nudges(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    run = await simulate(
        service,
        clock,
        redbridge,
        directory,
        case_id,
        until="2026-12-18T23:00:00",
        actions={
            # Thursday: agreement, which starts the 2 WD confirm clock (due Monday 7 Dec).
            "2026-12-03T11:00:00": [
                discussion("amara", case_id, utc("2026-12-03T11:00:00"), "resolved")
            ],
            "2026-12-04T10:30:00": [
                ConfirmOutcome(actor_id="noah", case_id=case_id, outcome="Joint visit Friday"),
                ApproveOutcome(actor_id="amara", case_id=case_id),
            ],
        },
    )
    # Amara's record does not answer for Noah: his 'respond' clock runs until he confirms the
    # outcome on Friday at 10:30, so Friday's 'due today' still reaches him.
    expected = (
        rows("1", "respond", EW, "2026-12-03 09:00", "noah")
        | rows("1", "respond", DUE, "2026-12-04 09:00", "noah")
        | rows("1", "confirm", EW, "2026-12-04 09:00", "noah")
    )
    assert run.rows() == expected


@pytest.mark.clause("RB-4.5")
@pytest.mark.parametrize(
    ("protective_due", "expected"),
    [
        (  # Friday 4 December at noon instead of Wednesday 9 December at 17:00
            "2026-12-04T12:00:00",
            rows("2", "resolve", EW, "2026-12-03 09:00", "lena", "nadia")
            | rows("2", "resolve", DUE, "2026-12-04 09:00", "lena", "nadia")
            | rows("2", "resolve", OVER, "2026-12-07 09:00", "lena", "nadia")
            | rows("2", "resolve", MGR, "2026-12-08 09:00", "sam")
            | rows("2", "resolve", REM, "2026-12-09 09:00", "lena", "nadia"),
        ),
        (  # Friday at 09:00, the send time itself: due now; overdue only strictly after it
            "2026-12-04T09:00:00",
            rows("2", "resolve", EW, "2026-12-03 09:00", "lena", "nadia")
            | rows("2", "resolve", DUE, "2026-12-04 09:00", "lena", "nadia")
            | rows("2", "resolve", OVER, "2026-12-07 09:00", "lena", "nadia")
            | rows("2", "resolve", MGR, "2026-12-08 09:00", "sam")
            | rows("2", "resolve", REM, "2026-12-09 09:00", "lena", "nadia"),
        ),
        (  # Friday at 08:00, before the send time: no "due today", overdue at 09:00 that day
            "2026-12-04T08:00:00",
            rows("2", "resolve", EW, "2026-12-03 09:00", "lena", "nadia")
            | rows("2", "resolve", OVER, "2026-12-04 09:00", "lena", "nadia")
            | rows("2", "resolve", MGR, "2026-12-07 09:00", "sam")
            | rows("2", "resolve", REM, "2026-12-08 09:00", "lena", "nadia")
            | rows("2", "resolve", REM, "2026-12-09 09:00", "lena", "nadia"),
        ),
    ],
)
async def test_a_protective_deadline_re_times_the_nudges(
    service: EscalationService,
    clock: FakeClock,
    redbridge: PolicyPack,
    directory: Directory,
    protective_due: str,
    expected: set[Row],
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    clock.set("2026-12-02T14:00:00+00:00")
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    protect = SetProtectiveDeadline(
        actor_id="lena",
        case_id=case_id,
        clock_id="resolve",
        due=utc(protective_due),
        reason="Discharge from hospital on Friday",
    )
    run = await simulate(
        service,
        clock,
        redbridge,
        directory,
        case_id,
        until="2026-12-09T23:00:00",
        actions={"2026-12-02T15:00:00": [protect]},
    )
    assert run.rows() == expected
    assert all("Discharge from hospital on Friday" in n.reason for n in run.nudges.values())


# -- the pack's settings and the start of a clock -------------------------------------------------


@pytest.mark.clause("RB-4.4")
@pytest.mark.parametrize(
    ("working_days", "send_at", "early_warning"),
    [
        (0, time(9, 0), set()),  # switched off
        (1, time(9, 0), {"2026-12-03 09:00"}),
        (2, time(10, 30), {"2026-12-02 10:30"}),
        (3, time(9, 0), {"2026-12-01 10:00"}),  # the clock started at 10:00 that day
        (4, time(9, 0), set()),  # Monday 30 November: before the clock started
    ],
)
async def test_the_pack_sets_the_early_warning_and_the_send_time(
    service: EscalationService,
    clock: FakeClock,
    redbridge: PolicyPack,
    directory: Directory,
    working_days: int,
    send_at: time,
    early_warning: set[str],
) -> None:
    pack = redbridge.model_copy(
        update={"nudges": Nudges(early_warning_working_days=working_days, send_at=send_at)}
    )
    case_id = (await service.execute(redbridge_raise())).case.id  # respond due Fri 4 Dec 17:00
    run = await simulate(service, clock, pack, directory, case_id, until="2026-12-04T23:00:00")
    assert {
        when for (_, clk, kind, when, _) in run.rows() if clk == "respond" and kind == EW.value
    } == early_warning
    [due_today] = [n for n in run.of(DUE) if n.clock == "respond"]
    assert due_today.send_at.time() == send_at
    # The whole schedule, not only what sweeps after the start saw: never before the start day.
    case = await service.case(case_id)
    [respond] = [c for c in case.clocks if c.clock == "respond"]
    planned = schedule(respond, pack, calendar_for(pack), until=date(2026, 12, 4))
    assert {p.at.strftime("%Y-%m-%d %H:%M") for p in planned if p.kind == EW} == early_warning


@pytest.mark.clause("RB-4.1", "RB-4.4")
async def test_a_same_day_clock_gets_due_today_when_it_starts(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    # Immediate risk: the protective clocks fall due the same working day (17:00 Tuesday).
    clock.set("2026-12-01T14:00:00+00:00")
    raised = await service.execute(redbridge_raise(immediate_risk=True))
    run = await simulate(
        service, clock, redbridge, directory, raised.case.id, until="2026-12-04T23:00:00"
    )
    for clk in ("respond", "resolve"):
        owners = ("noah",) if clk == "respond" else ("amara", "noah")
        managers = ("nadia",) if clk == "respond" else ("lena", "nadia")
        expected = (
            rows("1", clk, DUE, "2026-12-01 14:00", *owners)
            | rows("1", clk, OVER, "2026-12-02 09:00", *owners)
            | rows("1", clk, MGR, "2026-12-03 09:00", *managers)
            | rows("1", clk, REM, "2026-12-04 09:00", *owners)
        )
        assert {r for r in run.rows() if r[1] == clk} == expected


# -- keys and notifications -----------------------------------------------------------------------


async def test_nudge_keys_name_case_clock_kind_day_and_person(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    now = utc("2026-12-03T09:30:00")
    [nudge] = due_nudges(case, redbridge, directory, calendar_for(redbridge), now=now)
    assert nudge.key == nudge_key(
        case.id, "1", "respond", "early_warning", date(2026, 12, 3), "noah"
    )
    assert nudge.key == f"{case.id}:nudge:1:respond:early_warning:2026-12-03:person:noah"
    assert len(
        {nudge_key(case.id, "1", "respond", k, date(2026, 12, 3), "noah") for k in NudgeKind}
    ) == len(NudgeKind)
    note = nudge.to_notification(case)
    assert (note.case_id, note.event_seq, note.kind, note.recipient.key, note.stage) == (
        case.id,
        case.version,
        "early_warning",
        "person:noah",
        "1",
    )
    assert note.action_required and note.clauses == ("RB-4.4",)
    assert note.details == {
        "clock": "respond",
        "day": "2026-12-03",
        "nudge": "early_warning",
        "key": nudge.key,
        "due": "2026-12-04T17:00:00+00:00",
        "escalate": "false",
    }
    # Before the send time, and on a weekend: nothing.
    calendar = calendar_for(redbridge)
    assert due_nudges(case, redbridge, directory, calendar, now=utc("2026-12-03T08:59:00")) == []
    assert due_nudges(case, redbridge, directory, calendar, now=utc("2026-12-05T09:30:00")) == []


async def test_only_an_open_case_and_its_current_stage_are_nudged(
    service: EscalationService, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    calendar = calendar_for(redbridge)
    now = utc("2026-12-04T10:00:00")  # respond's due_today, resolve still running
    assert {n.clock for n in due_nudges(case, redbridge, directory, calendar, now=now)} == {
        "respond"
    }
    # The same running clocks, as if the case were resolved, closed or at another stage.
    for changed in (
        replace(case, status=CaseStatus.RESOLVED),
        replace(case, status=CaseStatus.CLOSED),
        replace(case, stage="2"),
    ):
        assert due_nudges(changed, redbridge, directory, calendar, now=now) == []


@pytest.mark.parametrize(
    ("started", "due", "protective_due", "expected"),
    [
        (  # started after Tuesday's working day ended: Tuesday's early warning is dropped
            "2026-12-01T18:00:00",
            "2026-12-02T17:00:00",
            None,
            {
                ("due_today", "2026-12-02 09:00"),
                ("overdue", "2026-12-03 09:00"),
                ("overdue_manager", "2026-12-04 09:00"),
                ("overdue_reminder", "2026-12-07 09:00"),
                ("overdue_reminder", "2026-12-08 09:00"),
                ("overdue_reminder", "2026-12-09 09:00"),
            },
        ),
        (  # a protective deadline on a Saturday: no "due today"; overdue on Monday
            "2026-12-01T10:00:00",
            "2026-12-07T17:00:00",
            "2026-12-05T12:00:00",
            {
                ("early_warning", "2026-12-04 09:00"),
                ("overdue", "2026-12-07 09:00"),
                ("overdue_manager", "2026-12-08 09:00"),
                ("overdue_reminder", "2026-12-09 09:00"),
            },
        ),
    ],
)
async def test_the_schedule_of_unusual_clocks(
    service: EscalationService,
    redbridge: PolicyPack,
    started: str,
    due: str,
    protective_due: str | None,
    expected: set[tuple[str, str]],
) -> None:
    case = (await service.execute(redbridge_raise())).case
    [respond] = [c for c in case.clocks if c.clock == "respond"]
    unusual = replace(
        respond,
        started_at=utc(started),
        due=utc(due),
        protective_due=utc(protective_due) if protective_due else None,
    )
    planned = schedule(unusual, redbridge, calendar_for(redbridge), until=date(2026, 12, 9))
    assert {(p.kind.value, p.at.strftime("%Y-%m-%d %H:%M")) for p in planned} == expected


async def test_the_last_stage_offers_no_escalate_button(
    service: EscalationService, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    [respond] = [c for c in case.clocks if c.clock == "respond"]  # due Friday 4 December
    at_stage_4 = replace(case, stage="4", clocks=(replace(respond, stage="4", clock="recommend"),))
    calendar = calendar_for(redbridge)
    [overdue] = due_nudges(
        at_stage_4, redbridge, directory, calendar, now=utc("2026-12-07T09:00:00")
    )
    assert (overdue.kind, overdue.recipient_id, overdue.escalate_offered) == (
        OVER,
        "rb-chair",
        False,
    )
    [earlier] = [
        n
        for n in due_nudges(case, redbridge, directory, calendar, now=utc("2026-12-07T09:00:00"))
        if n.clock == "respond"
    ]
    assert (earlier.kind, earlier.recipient_id, earlier.escalate_offered) == (OVER, "noah", True)


async def test_a_nudges_outbox_key_is_its_own_not_the_cases_version(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    from escalation.calendar import calendar_for
    from escalation.nudges import due_nudges
    from testkit.builders import redbridge_raise

    opened = await service.execute(redbridge_raise())
    clock.set("2026-12-03T09:00:00+00:00")  # the day before 'respond' falls due: early warnings
    nudges = due_nudges(opened.case, redbridge, directory, calendar_for(redbridge), now=clock.now)
    assert nudges
    for nudge in nudges:
        notification = nudge.to_notification(opened.case)
        assert (
            notification.key == nudge.key
        )  # the same nudge keeps its key whatever the case's version
        assert ":nudge:" in notification.key


@pytest.mark.clause("RB-4.4")
async def test_an_overdue_clock_is_not_taken_to_a_manager_who_holds_a_board_role(
    service: EscalationService, redbridge: PolicyPack, directory: Directory
) -> None:
    """The board stays neutral: a line manager who is also the board's business manager is not
    chased as the agency's manager."""
    case = (await service.execute(redbridge_raise())).case
    calendar = calendar_for(redbridge)
    at = utc("2026-12-08T09:30:00")  # respond's overdue_manager day

    def told(people: Directory) -> set[tuple[str, str]]:
        return {
            (n.kind.value, n.recipient_id)
            for n in due_nudges(case, redbridge, people, calendar, now=at)
        }

    assert (MGR.value, "nadia") in told(directory)
    nadia = directory.person("nadia")
    assert nadia is not None
    neutral = replace(nadia, board_roles=frozenset({("redbridge", "business_manager")}))
    board_directory = Directory.of(
        [neutral if p.id == "nadia" else p for p in directory.people.values()]
    )
    assert "nadia" not in {who for _, who in told(board_directory)}
