"""What packs can say beyond working days: hours and "immediately".

Packs here are the fictional Thornbury pack (tests/fixtures/packs/thornbury.yaml) changed one
field at a time, so that each test shows one piece of the pack language at work. Expected
deadlines were counted by hand (weekday of each date checked; Europe/London; Thornbury's working
day ends at 16:30).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from escalation.calendar import WorkingCalendar
from escalation.commands import OtherParty, RaiseDisagreement
from escalation.directory import Directory, StaticDirectory
from escalation.packs import PackError, PackRegistry, parse_pack
from escalation.policy import PolicyPack
from escalation.rules import calendar_for, earliest
from escalation.service import EscalationService
from tests.support import FakeClock, person

THORNBURY = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "thornbury.yaml"
BASE: dict[str, Any] = yaml.safe_load(THORNBURY.read_text(encoding="utf-8"))


def at(iso: str) -> datetime:
    value = datetime.fromisoformat(iso)
    assert value.tzinfo is not None
    return value


def pack_with(change: Callable[[dict[str, Any]], None]) -> PolicyPack:
    data = copy.deepcopy(BASE)
    change(data)
    return parse_pack(yaml.safe_dump(data, sort_keys=False), source="changed.yaml")


def stage_of(data: dict[str, Any], stage_id: str) -> dict[str, Any]:
    return next(s for s in data["stages"] if s["id"] == stage_id)


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


def raise_command(**overrides: object) -> RaiseDisagreement:
    fields: dict[str, object] = {
        "actor_id": "tara",
        "board_id": "thornbury",
        "other_party": OtherParty(agency_id="thornbury-health", person_id="hugo"),
        "adult_reference": "TC-1234",
        "category": "access",
        "disagreement_date": date(2026, 6, 5),
        "issue": "Home care support stopped after discharge.",
        "risk_to_adult": "Falls at home without support.",
        "aim": "A joint assessment this week.",
    }
    fields.update(overrides)
    return RaiseDisagreement(**fields)  # type: ignore[arg-type]


def dues(case: Any, stage: str) -> dict[str, tuple[str, str]]:
    return {c.clock: (c.due.isoformat(), c.status.value) for c in case.clocks if c.stage == stage}


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
    raised = await service.execute(raise_command())
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
    raised = await service.execute(raise_command(immediate_risk=True))
    resolve = next(c for c in raised.case.clocks if c.clock == "resolve")
    assert resolve.due == at("2026-06-08T11:00:00+01:00")
    assert resolve.basis == "immediate risk: immediately"
