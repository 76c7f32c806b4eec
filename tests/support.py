"""Test helpers shared by the unit and integration suites."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from escalation.directory import Directory, Person
from escalation.packs import PackRegistry

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def person(
    pid: str, agency: str, *roles: str, manager: str | None = None, board: tuple[str, ...] = ()
) -> Person:
    return Person(
        id=pid,
        name=pid.replace("-", " ").title(),
        agency_id=agency,
        roles=frozenset(roles),
        board_roles=frozenset((b.partition(":")[0], b.partition(":")[2]) for b in board),
        line_manager_id=manager,
        email=f"{pid}@example.org",
    )


def make_directory() -> Directory:
    return Directory.of(
        [
            # Redbridge: adult social care (raiser side) and NELFT (receiver side)
            person("amara", "redbridge-asc", "practitioner", manager="lena"),
            person("lena", "redbridge-asc", "line_manager", manager="sam"),
            person("sam", "redbridge-asc", "senior_manager", "head_of_service"),
            person("sgl-asc", "redbridge-asc", "safeguarding_lead"),
            person("noah", "nelft", "practitioner", manager="nadia"),
            person("nadia", "nelft", "line_manager"),
            person("nina", "nelft", "named_safeguarding_professional"),
            person("sgl-nelft", "nelft", "safeguarding_lead"),
            person("rb-bm", "redbridge-asc", board=("redbridge:business_manager",)),
            person("rb-chair", "redbridge-cvs", board=("redbridge:independent_chair",)),
            # Harrow: LBH (raiser side) and CNWL (receiver side)
            person("hana", "harrow-council", "practitioner", manager="harry"),
            person("harry", "harrow-council", "line_manager", "resource_manager"),
            person("hsl", "harrow-council", "safeguarding_lead"),
            person("hbm", "harrow-council", "board_member"),
            person("tm", "harrow-council", "sat_team_manager"),
            person("dols", "harrow-council", "threshold_reviewer"),
            person("colin", "cnwl", "practitioner", manager="cara"),
            person("cara", "cnwl", "line_manager", "resource_manager"),
            person("cbm", "cnwl", "board_member"),
            person("csl", "cnwl", "safeguarding_lead"),
            person("clead", "cnwl", "threshold_reviewer"),
            person("hssp", "met-police", board=("harrow:hssp_chair",)),
            person("hw-chair", "harrow-voluntary", board=("harrow:independent_chair",)),
            person("hw-bm", "harrow-council", board=("harrow:business_manager",)),
        ]
    )


def agencies_for(
    people: Iterable[Mapping[str, Any]], *tenants: str, also: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The `agencies:` records of a test directory: every agency of the shipped packs, of
    `people` and of `also`, each listing `tenants`, as a board registers the Microsoft Entra
    tenants its agencies sign in from. People act for an agency in Teams only from one of them.
    """
    ids = {agency.id for pack in PackRegistry.from_directory(POLICIES) for agency in pack.agencies}
    ids |= {str(p["agency"]) for p in people if "agency" in p}
    ids |= set(also)
    return [{"id": agency_id, "tenants": list(tenants)} for agency_id in sorted(ids)]


class FakeClock:
    """The service's clock, moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso)


# Apps started in tests run on this day, whatever the machine's clock says: a Wednesday with
# working days either side, so "yesterday" and "today" are both working days.
TEST_DAY_START = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


class RunningClock:
    """A clock that starts at a fixed moment and then moves with real time, so that retries and
    back-offs still fall due while every date a test types follows from `start`."""

    def __init__(self, start: datetime = TEST_DAY_START) -> None:
        self.start = start
        self._began = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._began)

    def day(self, offset: int = 0) -> str:
        """The ISO date `offset` days from the start, as a person would type it."""
        return (self.start + timedelta(days=offset)).date().isoformat()
