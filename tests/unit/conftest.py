"""Fixtures for the core's unit tests: the real packs, a small directory and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalation.directory import Directory, StaticDirectory
from escalation.memory import InMemoryCaseRepository, RecordingNotifier
from escalation.packs import PackRegistry, load_pack
from escalation.policy import PolicyPack
from escalation.ports import CaseRepository, DirectorySource, Notifier
from escalation.service import EscalationService
from tests.support import FakeClock, make_directory, person

__all__ = ["FakeClock", "make_directory", "person"]

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"


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
    default_directory = directory

    def numbered(prefix: str, now: datetime) -> str:
        return f"{prefix}-{now:%Y}-{next(counter):04d}"

    def build(
        *,
        packs: PackRegistry | None = None,
        repository: CaseRepository = repository,
        directory: DirectorySource | None = None,
        notifier: Notifier = notifier,
        now: Callable[[], datetime] = clock,
        new_case_id: Callable[[str, datetime], str] = numbered,
    ) -> EscalationService:
        return EscalationService(
            packs=packs if packs is not None else PackRegistry([redbridge, harrow]),
            repository=repository,
            directory=directory if directory is not None else StaticDirectory(default_directory),
            notifier=notifier,
            now=now,
            new_case_id=new_case_id,
        )

    return build


@pytest.fixture
def service(make_service: Callable[..., EscalationService]) -> EscalationService:
    return make_service()
