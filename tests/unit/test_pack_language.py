"""What packs can say: hours and "immediately", clocks that follow another clock's result, and
clocks anchored to an earlier stage.

Packs here are the fictional Thornbury pack (tests/fixtures/packs/thornbury.yaml) changed one
field at a time, so that each test shows one piece of the pack language at work. Expected
deadlines were counted by hand (weekday of each date checked; Europe/London; Thornbury's working
day ends at 16:30).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

import pytest

from cards.views import case_view
from escalation.calendar import WorkingCalendar, calendar_for, earliest
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    ConfirmOutcome,
    Escalate,
    RecordDiscussion,
    SetProtectiveDeadline,
)
from escalation.directory import Directory, StaticDirectory
from escalation.nudges import due_nudges
from escalation.packs import PackError, PackRegistry
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import thornbury_raise
from testkit.clocks import FakeClock
from testkit.people import person
from tests.unit.case_checks import at, dues
from tests.unit.pack_changes import agree_then_meet, pack_with, stage_of


def clock_of(data: dict[str, Any], stage_id: str, clock_id: str) -> dict[str, Any]:
    return next(c for c in stage_of(data, stage_id)["clocks"] if c["id"] == clock_id)


@pytest.fixture
def directory() -> Directory:
    return Directory.of(
        [
            person("tara", "thornbury-council", "practitioner", manager="tom"),
            person("tom", "thornbury-council", "line_manager"),
            person("dl-council", "thornbury-council", "designated_lead"),
            person("hugo", "thornbury-health", "practitioner", manager="hattie"),
            person("hattie", "thornbury-health", "line_manager"),
            person("dl-health", "thornbury-health", "designated_lead"),
            person("eve", "thornbury-police", board=("thornbury:executive_lead",)),
            person("olga", "thornbury-police", board=("thornbury:board_officer",)),
        ]
    )


@pytest.fixture
def build(
    make_service: Callable[..., EscalationService], directory: Directory
) -> Callable[[PolicyPack], EscalationService]:
    def service(pack: PolicyPack) -> EscalationService:
        return make_service(packs=PackRegistry([pack]), directory=StaticDirectory(directory))

    return service


# -- hours and immediately in the calendar ----------------------------------------------------


def test_hours_are_clock_hours_through_weekends_and_bank_holidays() -> None:
    cal = WorkingCalendar()
    # Thu 24 Dec 2026 10:00 GMT + 48 h: Sat 26 Dec 10:00 (Christmas and Boxing Day count).
    assert cal.within_hours(at("2026-12-24T10:00:00+00:00"), 48).isoformat() == (
        "2026-12-26T10:00:00+00:00"
    )
    # Sat 28 Mar 2026 12:00 GMT + 24 h crosses the spring change (01:00 GMT Sunday): 24 hours
    # of elapsed time end at 13:00 BST on the wall.
    due = cal.within_hours(at("2026-03-28T12:00:00+00:00"), 24)
    assert due.isoformat() == "2026-03-29T13:00:00+01:00"
    assert due.astimezone(UTC) == at("2026-03-29T12:00:00+00:00")


def test_immediately_allows_the_calendars_allowance_in_clock_time() -> None:
    from datetime import timedelta

    default = WorkingCalendar()
    # Saturday night is not moved to Monday: "at once" does not wait for a working day.
    assert default.immediately(at("2026-06-13T22:30:00+01:00")).isoformat() == (
        "2026-06-13T23:30:00+01:00"
    )
    quick = WorkingCalendar(immediately=timedelta(minutes=15))
    assert quick.immediately(at("2026-06-10T16:50:00+01:00")).isoformat() == (
        "2026-06-10T17:05:00+01:00"
    )
    with pytest.raises(ValueError, match="allow some time"):
        WorkingCalendar(immediately=timedelta(0))


# -- hours and immediately in a pack ----------------------------------------------------------


def test_a_timescale_is_one_kind_only() -> None:
    def both(data: dict[str, Any]) -> None:
        clock_of(data, "1", "respond")["timescales"] = [
            {"hours": 48, "working_days": 2, "clauses": ["TB-2.1"]}
        ]

    with pytest.raises(PackError) as caught:
        pack_with(both)
    assert "give exactly one of working_days, same_working_day: true, hours or immediately" in (
        str(caught.value)
    )

    def misspelt(data: dict[str, Any]) -> None:
        clock_of(data, "1", "respond")["timescales"] = [{"hour": 48, "clauses": ["TB-2.1"]}]

    with pytest.raises(PackError, match=r"timescales\.0\.hour: is not a field here"):
        pack_with(misspelt)


def test_whichever_is_less_is_worked_out_from_the_moment() -> None:
    """48 hours against 1 working day: midweek the working day is sooner, on a Friday the hours
    are (they run through the weekend)."""

    def two_statements(data: dict[str, Any]) -> None:
        clock_of(data, "1", "respond")["timescales"] = [
            {"working_days": 1, "clauses": ["TB-2.1"]},
            {"hours": 48, "clauses": ["TB-2.1"], "says": "a letter within 48 hours"},
        ]

    pack = pack_with(two_statements)
    clock = pack.stage("1").clock("respond")
    assert clock is not None
    cal = calendar_for(pack)
    due, chosen = earliest(cal, clock.timescales, at("2026-06-08T10:00:00+01:00"))  # Monday
    assert (due.isoformat(), chosen.short) == ("2026-06-09T16:30:00+01:00", "1 WD")
    due, chosen = earliest(cal, clock.timescales, at("2026-06-12T10:00:00+01:00"))  # Friday
    assert (due.isoformat(), chosen.short) == ("2026-06-14T10:00:00+01:00", "48 hours")


async def test_a_case_with_an_hours_clock_and_an_immediate_one(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    def change(data: dict[str, Any]) -> None:
        data["calendar"]["immediately_within_minutes"] = 30
        stage = stage_of(data, "1")
        stage["clocks"] = [
            {
                "id": "acknowledge",
                "label": "Acknowledge the concern",
                "runs_from": "stage_entered",
                "until": "discussion_recorded",
                "owner": [{"who": "receiver"}],
                "timescales": [{"immediately": True, "clauses": ["TB-2.1"]}],
            },
            {
                "id": "letter",
                "label": "Write to the raiser",
                "runs_from": "stage_entered",
                "until": "stage_resolved",
                "protective": True,
                "timescales": [{"hours": 48, "clauses": ["TB-2.1"], "says": "within 48 hours"}],
            },
        ]

    service = build(pack_with(change))
    clock.set("2026-06-12T15:00:00+01:00")  # Friday
    raised = await service.execute(thornbury_raise())
    assert dues(raised.case, "1") == {
        "acknowledge": ("2026-06-12T15:30:00+01:00", "running"),
        "letter": ("2026-06-14T15:00:00+01:00", "running"),
    }
    letter = next(c for c in raised.case.clocks if c.clock == "letter")
    assert letter.basis == "within 48 hours"
    acknowledge = next(c for c in raised.case.clocks if c.clock == "acknowledge")
    assert acknowledge.basis == "immediately"


async def test_immediate_risk_can_be_immediately(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    def change(data: dict[str, Any]) -> None:
        data["immediate_risk"]["timescale"] = {"immediately": True, "clauses": ["TB-1.2"]}

    service = build(pack_with(change))
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await service.execute(thornbury_raise(immediate_risk=True))
    resolve = next(c for c in raised.case.clocks if c.clock == "resolve")
    assert resolve.due == at("2026-06-08T11:00:00+01:00")
    assert resolve.basis == "immediate risk: immediately"


# -- clocks that follow another clock's result, and clocks anchored to an earlier stage ------


def test_a_following_clock_names_a_clock_of_its_stage() -> None:
    def no_after(data: dict[str, Any]) -> None:
        agree_then_meet(data)
        del clock_of(data, "1", "meeting")["after"]

    with pytest.raises(PackError, match="'after' names the clock whose result starts this one"):
        pack_with(no_after)

    def unknown(data: dict[str, Any]) -> None:
        agree_then_meet(data)
        clock_of(data, "1", "meeting")["after"] = "agreed"

    with pytest.raises(PackError, match="follows clock 'agreed', which stage 1 does not have"):
        pack_with(unknown)

    def loop(data: dict[str, Any]) -> None:
        agree_then_meet(data)
        clock_of(data, "1", "agree").update(runs_from="clock_met", after="meeting")

    with pytest.raises(PackError, match=r"loop \(agree -> meeting -> agree\)"):
        pack_with(loop)

    def anchored_wrongly(data: dict[str, Any]) -> None:
        clock_of(data, "2", "resolve")["of_stage"] = "3"

    with pytest.raises(PackError, match="stage '3' never comes before stage '2'"):
        pack_with(anchored_wrongly)

    def anchor_on_referral(data: dict[str, Any]) -> None:
        clock_of(data, "2", "referral")["of_stage"] = "1"

    with pytest.raises(PackError, match="'of_stage' anchors a stage_entered clock"):
        pack_with(anchor_on_referral)


async def test_a_window_that_passes_hands_on_instead_of_being_missed(
    build: Callable[[PolicyPack], EscalationService],
    clock: FakeClock,
    directory: Directory,
) -> None:
    pack = pack_with(agree_then_meet)
    service = build(pack)
    clock.set("2026-06-08T10:00:00+01:00")  # Monday
    raised = await service.execute(thornbury_raise())
    # The meeting waits for the 2 WD window (Wed 10 June 16:30), then has 5 WD: Wed 17 June.
    assert dues(raised.case, "1") == {
        "agree": ("2026-06-10T16:30:00+01:00", "running"),
        "meeting": ("2026-06-17T16:30:00+01:00", "running"),
    }
    meeting = next(c for c in raised.case.clocks if c.clock == "meeting")
    assert (meeting.started_at, meeting.follows, meeting.follows_when) == (
        at("2026-06-10T16:30:00+01:00"),
        "agree",
        "missed",
    )
    view = case_view(raised.case, pack, directory, now=clock(), viewer_id="tara")
    shown = {c.clock: c.describe for c in view.clocks}
    assert shown["meeting"] == (
        "only if 'Agree a way forward' is not met in time: then due Wed 17 Jun 16:30"
    )

    # Thursday: the window has passed. Nobody is chased for it; the meeting is what is due.
    clock.set("2026-06-11T09:00:00+01:00")
    cal = calendar_for(pack)
    case = raised.case
    nudged = {(n.clock, n.kind.value) for n in due_nudges(case, pack, directory, cal, now=clock())}
    assert ("agree", "overdue") not in nudged
    view = case_view(case, pack, directory, now=clock(), viewer_id="tara")
    states = {c.clock: (c.status, c.overdue) for c in view.clocks}
    assert states == {"agree": ("handed_on", False), "meeting": ("running", False)}

    # The next change records the window as ended at its deadline, not missed.
    clock.set("2026-06-12T11:00:00+01:00")
    met = await service.execute(
        RecordDiscussion(
            actor_id="hugo",
            case_id=case.id,
            held_at=at("2026-06-12T10:00:00+01:00"),
            participants=("tara", "hugo"),
            summary="Professionals' meeting held.",
            outcome="continuing",
            method="meeting",
        )
    )
    assert dues(met.case, "1") == {
        "agree": ("2026-06-10T16:30:00+01:00", "ended"),
        "meeting": ("2026-06-17T16:30:00+01:00", "met"),
    }
    agree = next(c for c in met.case.clocks if c.clock == "agree")
    assert agree.stopped_at == at("2026-06-10T16:30:00+01:00")


async def test_agreement_inside_the_window_calls_the_meeting_off(
    build: Callable[[PolicyPack], EscalationService],
    clock: FakeClock,
    directory: Directory,
) -> None:
    pack = pack_with(agree_then_meet)
    service = build(pack)
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await service.execute(thornbury_raise())
    clock.set("2026-06-09T10:00:00+01:00")
    await service.execute(
        RecordDiscussion(
            actor_id="tara",
            case_id=raised.case.id,
            held_at=at("2026-06-09T09:30:00+01:00"),
            participants=("tara", "hugo"),
            summary="We agreed a joint assessment.",
            outcome="resolved",
            agreed_outcome="Joint assessment on Friday.",
            method="phone",
        )
    )
    await service.execute(
        ConfirmOutcome(actor_id="hugo", case_id=raised.case.id, outcome="Joint assessment Friday.")
    )
    done = await service.execute(ApproveOutcome(actor_id="tara", case_id=raised.case.id))
    assert dues(done.case, "1") == {
        "agree": ("2026-06-10T16:30:00+01:00", "met"),
        "meeting": ("2026-06-17T16:30:00+01:00", "ended"),
    }
    meeting = next(c for c in done.case.clocks if c.clock == "meeting")
    assert meeting.never_started
    view = case_view(done.case, pack, directory, now=clock(), viewer_id="tara")
    assert [c.clock for c in view.clocks] == ["agree"]


async def test_an_earlier_deadline_on_the_window_moves_what_follows(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    service = build(pack_with(agree_then_meet))
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await service.execute(thornbury_raise())
    changed = await service.execute(
        SetProtectiveDeadline(
            actor_id="tara",
            case_id=raised.case.id,
            clock_id="agree",
            due=at("2026-06-09T12:00:00+01:00"),
            reason="No carer from tomorrow.",
        )
    )
    running = [c for c in changed.case.clocks if c.clock == "meeting" and not c.never_started]
    # From Tue 9 June 12:00, 5 WD: Tue 16 June.
    assert [(c.started_at, c.due) for c in running] == [
        (at("2026-06-09T12:00:00+01:00"), at("2026-06-16T16:30:00+01:00"))
    ]


async def test_a_clock_can_start_when_a_discussion_fails(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    def change(data: dict[str, Any]) -> None:
        stage_of(data, "1")["clocks"].append(
            {
                "id": "meeting",
                "label": "Meet with both managers",
                "runs_from": "discussion_failed",
                "until": "discussion_recorded",
                "timescales": [{"working_days": 3, "clauses": ["TB-2.1"]}],
            }
        )

    service = build(pack_with(change))
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await service.execute(thornbury_raise())
    assert "meeting" not in dues(raised.case, "1")
    clock.set("2026-06-09T12:00:00+01:00")
    failed = await service.execute(
        RecordDiscussion(
            actor_id="tara",
            case_id=raised.case.id,
            held_at=at("2026-06-09T11:00:00+01:00"),
            participants=("tara", "hugo"),
            summary="No agreement.",
            outcome="not_resolved",
            method="phone",
        )
    )
    # From Tue 9 June, 3 WD: Fri 12 June.
    assert dues(failed.case, "1")["meeting"] == ("2026-06-12T16:30:00+01:00", "running")


async def test_a_clock_can_start_when_another_is_met(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    """'Acknowledge immediately; respond within 2 WD of the acknowledgement.'"""

    def change(data: dict[str, Any]) -> None:
        stage_of(data, "1")["clocks"] = [
            {
                "id": "acknowledge",
                "label": "Acknowledge the concern",
                "runs_from": "stage_entered",
                "until": "discussion_recorded",
                "owner": [{"who": "receiver"}],
                "timescales": [{"immediately": True, "clauses": ["TB-2.1"]}],
            },
            {
                "id": "respond",
                "label": "Respond in full",
                "runs_from": "clock_met",
                "after": "acknowledge",
                "until": "stage_resolved",
                "timescales": [{"working_days": 2, "clauses": ["TB-2.1"]}],
            },
        ]

    service = build(pack_with(change))
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await service.execute(thornbury_raise())
    assert dues(raised.case, "1") == {"acknowledge": ("2026-06-08T11:00:00+01:00", "running")}
    clock.set("2026-06-08T10:20:00+01:00")
    recorded = await service.execute(
        RecordDiscussion(
            actor_id="tara",
            case_id=raised.case.id,
            held_at=at("2026-06-08T10:10:00+01:00"),
            participants=("tara", "hugo"),
            summary="Hugo acknowledged it by phone.",
            outcome="continuing",
            method="phone",
        )
    )
    assert "respond" not in dues(recorded.case, "1")  # Tara's record does not answer for Hugo
    clock.set("2026-06-08T11:30:00+01:00")
    approved = await service.execute(
        ApproveRecord(actor_id="hugo", case_id=raised.case.id, record_id="R1")
    )
    # Met late (after 11:00): it is missed, but what follows on its being done still starts.
    assert dues(approved.case, "1") == {
        "acknowledge": ("2026-06-08T11:00:00+01:00", "missed"),
        "respond": ("2026-06-10T16:30:00+01:00", "running"),
    }


def step_two_within_five_of_step_one(data: dict[str, Any]) -> None:
    clock_of(data, "2", "resolve").update(
        of_stage="1",
        timescales=[{"working_days": 5, "clauses": ["TB-2.2"], "says": "within 5 WD of stage 1"}],
    )


async def test_a_clock_anchored_to_an_earlier_stage(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    service = build(pack_with(step_two_within_five_of_step_one))
    clock.set("2026-06-08T10:00:00+01:00")  # stage 1 entered on Monday
    raised = await service.execute(thornbury_raise())
    clock.set("2026-06-11T10:00:00+01:00")
    escalated = await service.execute(
        Escalate(actor_id="tara", case_id=raised.case.id, reason="No agreement.")
    )
    resolve = next(c for c in escalated.case.clocks if (c.stage, c.clock) == ("2", "resolve"))
    # 5 WD from Monday 8 June (stage 1), not from Thursday: Monday 15 June.
    assert (resolve.started_at, resolve.due) == (
        at("2026-06-08T10:00:00+01:00"),
        at("2026-06-15T16:30:00+01:00"),
    )


async def test_an_anchored_clock_without_its_stage_counts_from_its_own(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    service = build(pack_with(step_two_within_five_of_step_one))
    clock.set("2026-06-10T10:00:00+01:00")
    raised = await service.execute(
        thornbury_raise(immediate_risk=True, start_stage="2", start_reason="No carer tonight.")
    )
    resolve = next(c for c in raised.case.clocks if c.clock == "resolve")
    assert resolve.started_at == at("2026-06-10T10:00:00+01:00")


# -- milestones, notices on leaving a stage, reminders, partner boards ------------------------


def action_plan(data: dict[str, Any]) -> None:
    """'An action plan agreed within 2 WD', recorded by the other professional."""
    stage_of(data, "1")["clocks"].append(
        {
            "id": "plan",
            "label": "Agree an action plan",
            "runs_from": "stage_entered",
            "until": "milestone",
            "milestone": {"button": "Action plan agreed", "recorded_by": [{"who": "receiver"}]},
            "timescales": [{"working_days": 2, "clauses": ["TB-2.1"]}],
        }
    )


def test_a_milestone_goes_with_its_clock() -> None:
    def no_milestone(data: dict[str, Any]) -> None:
        action_plan(data)
        del clock_of(data, "1", "plan")["milestone"]

    with pytest.raises(PackError, match="exactly when it runs until: milestone"):
        pack_with(no_milestone)

    def unknown_role(data: dict[str, Any]) -> None:
        action_plan(data)
        clock_of(data, "1", "plan")["milestone"]["recorded_by"] = [
            {"who": "agency_role", "roles": ["chair"]}
        ]

    with pytest.raises(PackError, match=r"milestone\.recorded_by\.0: role 'chair' is not in"):
        pack_with(unknown_role)


async def test_a_milestone_is_recorded_by_whom_the_pack_names_and_meets_its_clock(
    build: Callable[[PolicyPack], EscalationService],
    clock: FakeClock,
    directory: Directory,
) -> None:
    from cards.case_card import case_card
    from escalation.commands import RecordMilestone
    from escalation.errors import Refused

    pack = pack_with(action_plan)
    service = build(pack)
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await service.execute(thornbury_raise())
    assert dues(raised.case, "1")["plan"] == ("2026-06-10T16:30:00+01:00", "running")

    hugo = case_view(raised.case, pack, directory, now=clock(), viewer_id="hugo")
    assert [(c.clock, c.button) for c in hugo.milestone_choices] == [("plan", "Action plan agreed")]
    titles = [a.get("title") for a in case_card(hugo)["actions"]]
    assert "Action plan agreed" in titles
    tara = case_view(raised.case, pack, directory, now=clock(), viewer_id="tara")
    assert tara.milestone_choices == ()

    clock.set("2026-06-09T11:00:00+01:00")
    with pytest.raises(Refused) as refused:
        await service.execute(
            RecordMilestone(actor_id="tara", case_id=raised.case.id, clock_id="plan")
        )
    assert refused.value.reason == (
        "You do not hold a role that may record 'Action plan agreed'. Who may: the other "
        "professional."
    )
    recorded = await service.execute(
        RecordMilestone(
            actor_id="hugo", case_id=raised.case.id, clock_id="plan", note="Agreed by phone."
        )
    )
    assert dues(recorded.case, "1")["plan"] == ("2026-06-10T16:30:00+01:00", "met")
    (milestone,) = recorded.case.milestones
    assert (milestone.label, milestone.by, milestone.note) == (
        "Action plan agreed",
        "hugo",
        "Agreed by phone.",
    )
    assert {(n.kind, n.recipient.id) for n in recorded.notifications} == {
        ("milestone_recorded", "tara")
    }
    after = case_view(recorded.case, pack, directory, now=clock(), viewer_id="tara")
    assert after.milestones_done == ("Action plan agreed: Tue 09 Jun 11:00, by Hugo",)
    with pytest.raises(Refused, match="is not waiting for anything now"):
        await service.execute(
            RecordMilestone(actor_id="hugo", case_id=raised.case.id, clock_id="plan")
        )


def report_to_line_managers(data: dict[str, Any]) -> None:
    """'...if they are unable to do so, their disagreement must be reported to their line
    managers.'"""
    stage_of(data, "1")["on_leave"] = {
        "notify": [{"who": "line_manager"}],
        "when": "escalated",
        "clauses": ["TB-2.1"],
    }


async def test_leaving_a_stage_tells_whom_the_pack_names(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    service = build(pack_with(report_to_line_managers))
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await service.execute(thornbury_raise())
    assert not [n for n in raised.notifications if n.kind == "stage_left"]
    clock.set("2026-06-09T10:00:00+01:00")
    escalated = await service.execute(
        Escalate(actor_id="tara", case_id=raised.case.id, reason="No agreement.")
    )
    left = {n.recipient.id: n.reason for n in escalated.notifications if n.kind == "stage_left"}
    assert set(left) == {"tom", "hattie"}
    assert left["tom"] == (
        "The case has moved on from stage 1 (Practitioner to practitioner) to stage 2; you are "
        "told as the line manager of Tara."
    )


def test_a_last_stage_cannot_be_left_by_escalation() -> None:
    def change(data: dict[str, Any]) -> None:
        stage_of(data, "3")["on_leave"] = {
            "notify": [{"who": "line_manager"}],
            "when": "escalated",
            "clauses": ["TB-2.3"],
        }

    with pytest.raises(PackError, match="is the last stage: nobody would ever be told"):
        pack_with(change)


def clockless_executive(data: dict[str, Any]) -> None:
    """Stage 3 with no timescale in the policy; the board sets reminders every 2 WD."""
    stage_of(data, "3")["clocks"] = []
    data["reminders"] = {"every_working_days": 2, "clauses": ["TB-2.3"]}


async def test_a_stage_without_a_clock_still_gets_reminders(
    build: Callable[[PolicyPack], EscalationService],
    clock: FakeClock,
    directory: Directory,
) -> None:
    pack = pack_with(clockless_executive)
    service = build(pack)
    clock.set("2026-06-08T10:00:00+01:00")  # Monday
    raised = await service.execute(
        thornbury_raise(immediate_risk=True, start_stage="3", start_reason="No carer tonight.")
    )
    (reminder,) = raised.case.clocks
    assert (reminder.clock, reminder.reminder_every) == ("_reminders", 2)
    assert reminder.due == at("2026-06-10T16:30:00+01:00")
    assert raised.case.next_due() is None  # a cadence, not a deadline

    cal = calendar_for(pack)

    def reminded(iso: str) -> set[tuple[str, str]]:
        return {
            (n.kind.value, n.recipient_id)
            for n in due_nudges(raised.case, pack, directory, cal, now=at(iso))
        }

    assert reminded("2026-06-09T09:05:00+01:00") == set()
    assert reminded("2026-06-10T08:55:00+01:00") == set()  # before the send time
    assert reminded("2026-06-10T09:05:00+01:00") == {("stage_reminder", "eve")}
    assert reminded("2026-06-11T09:05:00+01:00") == set()
    assert reminded("2026-06-12T09:05:00+01:00") == {("stage_reminder", "eve")}
    (nudge,) = due_nudges(raised.case, pack, directory, cal, now=at("2026-06-12T09:05:00+01:00"))
    assert nudge.reason == (
        "The case has waited at stage 3 (TSAB executive group) for 4 working days; its policy "
        "sets no deadline there. Record where it stands, resolve it or escalate it."
    )
    view = case_view(raised.case, pack, directory, now=clock(), viewer_id="eve")
    assert view.clocks == ()
    assert view.reminders == (
        "No deadline here: a reminder every 2 working days while the case waits."
    )
    from cards.nudge_card import nudge_card

    card = nudge_card(view, "_reminders", "stage_reminder")
    assert "Reminder: case TB-2026-0001 is waiting at stage 3 (TSAB executive group)." in str(card)


async def test_a_stage_with_clocks_gets_no_pack_reminders_but_its_own(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    def change(data: dict[str, Any]) -> None:
        clockless_executive(data)
        stage_of(data, "2")["reminders"] = {"every_working_days": 1}

    service = build(pack_with(change))
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await service.execute(thornbury_raise())
    assert [c.clock for c in raised.case.clocks] == ["respond", "resolve"]
    clock.set("2026-06-09T10:00:00+01:00")
    escalated = await service.execute(
        Escalate(actor_id="tara", case_id=raised.case.id, reason="No agreement.")
    )
    assert [c.clock for c in escalated.case.clocks if c.stage == "2"] == [
        "referral",
        "resolve",
        "_reminders",
    ]
    # Leaving the stage ends the cadence; it is never a missed deadline.
    clock.set("2026-06-15T10:00:00+01:00")
    on = await service.execute(
        Escalate(actor_id="dl-health", case_id=raised.case.id, reason="Still no agreement.")
    )
    assert dues(on.case, "2")["_reminders"][1] == "ended"


def joint_executive(data: dict[str, Any]) -> None:
    data["partners"] = [
        {
            "id": "thornbury-children",
            "name": "Thornbury Safeguarding Children Partnership",
            "clauses": ["TB-2.3"],
        }
    ]
    stage_of(data, "3")["copy_partners"] = ["thornbury-children"]


async def test_a_joint_step_copies_the_partner_boards_business_manager(
    build: Callable[[PolicyPack], EscalationService], clock: FakeClock
) -> None:
    pack = pack_with(joint_executive)
    assert PackRegistry([pack]).channel_names() == {
        "thornbury": "TSAB",
        "thornbury-children": "Thornbury Safeguarding Children Partnership",
    }
    service = build(pack)
    clock.set("2026-06-08T10:00:00+01:00")
    raised = await service.execute(
        thornbury_raise(immediate_risk=True, start_stage="3", start_reason="No carer tonight.")
    )
    copies = {
        n.recipient.id: n.reason for n in raised.notifications if n.kind == "business_manager_copy"
    }
    assert raised.case.board_id == "thornbury"
    assert copies == {
        "thornbury": "A case has reached stage 3 (TSAB executive group).",
        "thornbury-children": "A TSAB case has reached stage 3 (TSAB executive group), a step "
        "TSAB shares with Thornbury Safeguarding Children Partnership.",
    }


def test_partner_boards_are_checked() -> None:
    def unknown(data: dict[str, Any]) -> None:
        joint_executive(data)
        stage_of(data, "3")["copy_partners"] = ["thornbury-kids"]

    with pytest.raises(PackError, match="copy_partners: no partner 'thornbury-kids'"):
        pack_with(unknown)

    def itself(data: dict[str, Any]) -> None:
        joint_executive(data)
        data["partners"][0]["id"] = "thornbury"
        stage_of(data, "3")["copy_partners"] = ["thornbury"]

    with pytest.raises(PackError, match="'thornbury' is this board itself"):
        pack_with(itself)


# -- the board's own words ----------------------------------------------------------------------


def childrens_words(data: dict[str, Any]) -> None:
    data["board"]["name"] = "Thornbury Safeguarding Children Partnership"
    data["words"] = {"person": "child", "stage": "step", "recommender": "the executive group"}


async def test_a_childrens_partnership_speaks_of_the_child_and_its_steps(
    build: Callable[[PolicyPack], EscalationService],
    clock: FakeClock,
    directory: Directory,
) -> None:
    import json

    from cards.case_card import case_card
    from escalation.commands import RecordRecommendations
    from escalation.errors import Refused

    pack = pack_with(childrens_words)
    service = build(pack)
    clock.set("2026-06-08T10:00:00+01:00")
    with pytest.raises(Refused) as named:
        await service.execute(thornbury_raise(adult_reference="Jane Smith"))
    assert named.value.reason == (
        "Give your agency's case reference for the child (for example ASC-104233), not the "
        "child's name: a case reference has at least one digit."
    )
    raised = await service.execute(thornbury_raise(immediate_risk=True))
    reasons = {(n.kind, n.recipient.id): n.reason for n in raised.notifications}
    assert reasons[("immediate_risk", "dl-council")] == (
        "The child is at immediate risk of significant harm; you are told as the Designated "
        "safeguarding lead."
    )
    assert reasons[("stage_entered", "hugo")].startswith("The case is at step 1 (")

    view = case_view(raised.case, pack, directory, now=clock(), viewer_id="tara")
    card = case_card(view)
    words = json.dumps(card)
    assert "Risk to the child" in words and "Child's case reference" in words
    assert "Deadlines at this step" in words and "Escalate to step 2" in words
    assert "the adult" not in words.lower() and "adult's" not in words.lower()

    clock.set("2026-06-08T11:00:00+01:00")
    on = await service.execute(
        Escalate(actor_id="tara", case_id=raised.case.id, reason="No agreement.")
    )
    clock.set("2026-06-08T12:00:00+01:00")
    on = await service.execute(
        Escalate(actor_id="dl-council", case_id=raised.case.id, reason="Still none.")
    )
    assert on.case.stage == "3"
    with pytest.raises(Refused) as refused:
        await service.execute(
            RecordRecommendations(actor_id="tara", case_id=raised.case.id, recommendations=("x",))
        )
    assert "record the executive group's recommendations" in refused.value.reason
    clock.set("2026-06-09T12:00:00+01:00")
    done = await service.execute(
        RecordRecommendations(actor_id="eve", case_id=raised.case.id, recommendations=("Visit",))
    )
    view = case_view(done.case, pack, directory, now=clock(), viewer_id="tara")
    words = json.dumps(case_card(view))
    assert "The executive group's recommendations (not binding)" in words
    assert "the adult" not in words.lower() and "adult's" not in words.lower()


# -- the roles joining an agency uses -------------------------------------------------------------


def own_roles(data: dict[str, Any]) -> None:
    data["roles"] += [
        {"id": "frontline_worker", "name": "Frontline worker", "scope": "agency"},
        {"id": "supervisor", "name": "Supervisor", "scope": "agency"},
        {"id": "gatekeeper", "name": "Agency gatekeeper", "scope": "agency"},
    ]
    data["joining"] = {
        "newcomer_role": "frontline_worker",
        "manager_roles": ["supervisor"],
        "admin_roles": ["gatekeeper"],
        "contact_roles": ["board_officer"],
    }


def test_a_pack_names_the_roles_joining_uses_and_they_must_be_its_own() -> None:
    from escalation.directory import Person, Standing
    from escalation.joining import BoardAgencies, approvers, line_managers, requested_roles

    pack = pack_with(own_roles)
    people = Directory.of(
        [
            person("sue", "thornbury-council", "supervisor"),
            person("lm", "thornbury-council", "line_manager"),  # not this board's manager role
            person("gate", "thornbury-council", "gatekeeper"),
            person("olga", "thornbury-police", board=("thornbury:board_officer",)),
        ]
    )
    boards = BoardAgencies.of([pack])
    roles = boards.roles("thornbury-council")
    assert [
        p.id for p in line_managers(people, "thornbury-council", excluding="x", roles=roles)
    ] == ["sue"]
    assert requested_roles(None, "thornbury-council", roles) == frozenset({"frontline_worker"})
    pending = Person(
        id="newbie",
        name="New Bie",
        agency_id="thornbury-council",
        line_manager_id="sue",
        status=Standing.PENDING,
        requested_roles=frozenset({"frontline_worker"}),
    )
    assert [(a.person.id, a.capacity) for a in approvers(people, pending, roles)] == [
        ("sue", "the line manager named"),
        ("gate", "agency administrator"),
    ]
    assert [p.id for p in boards.contacts(people, "thornbury-council")] == ["olga"]

    def unknown(data: dict[str, Any]) -> None:
        own_roles(data)
        data["joining"]["manager_roles"] = ["team_leader"]

    with pytest.raises(PackError, match=r"joining\.manager_roles: role 'team_leader' is not in"):
        pack_with(unknown)

    def wrong_scope(data: dict[str, Any]) -> None:
        own_roles(data)
        data["joining"]["contact_roles"] = ["supervisor"]

    with pytest.raises(PackError, match="is an agency role, but this needs a board role"):
        pack_with(wrong_scope)
