"""Fixtures for the core's unit tests: the real packs, a small directory and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalation.directory import Directory, Person, StaticDirectory
from escalation.memory import InMemoryCaseRepository, RecordingNotifier
from escalation.packs import PackRegistry, load_pack
from escalation.policy import PolicyPack
from escalation.service import EscalationService

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"


def person(
    pid: str, agency: str, *roles: str, manager: str | None = None, board: tuple[str, ...] = ()
) -> Person:
    return Person(
        id=pid,
        name=pid.replace("-", " ").title(),
        agency_id=agency,
        roles=frozenset(roles),
        board_roles=frozenset(tuple(b.split(":", 1)) for b in board),  # type: ignore[misc]
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


class FakeClock:
    """The service's clock, moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso)


@pytest.fixture(scope="session")
def redbridge() -> PolicyPack:
    return load_pack(POLICIES / "redbridge.yaml")


@pytest.fixture(scope="session")
def harrow() -> PolicyPack:
    return load_pack(POLICIES / "harrow.yaml")


@pytest.fixture
def directory() -> Directory:
    return make_directory()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # a Tuesday


@pytest.fixture
def repository() -> InMemoryCaseRepository:
    return InMemoryCaseRepository()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def make_service(
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
    clock: FakeClock,
    repository: InMemoryCaseRepository,
    notifier: RecordingNotifier,
) -> Callable[..., EscalationService]:
    counter = iter(range(1, 10_000))

    def build(**overrides: object) -> EscalationService:
        options: dict[str, object] = {
            "packs": PackRegistry([redbridge, harrow]),
            "repository": repository,
            "directory": StaticDirectory(directory),
            "notifier": notifier,
            "now": clock,
            "new_case_id": lambda prefix, now: f"{prefix}-{now:%Y}-{next(counter):04d}",
        }
        options.update(overrides)
        return EscalationService(**options)  # type: ignore[arg-type]

    return build


@pytest.fixture
def service(make_service: Callable[..., EscalationService]) -> EscalationService:
    return make_service()
