"""Fixtures every suite may use: the real Redbridge and Harrow packs, the test directory, a clock
moved by hand, the in-memory fakes and a service over them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from escalation.directory import Directory, StaticDirectory
from escalation.packs import PackRegistry, load_pack
from escalation.policy import PolicyPack
from escalation.ports import CaseRepository, DirectorySource, Notifier
from escalation.service import EscalationService
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository, RecordingNotifier
from testkit.people import POLICIES, make_directory


@pytest.fixture(scope="session")
def redbridge() -> PolicyPack:
    return load_pack(POLICIES / "redbridge.yaml")


@pytest.fixture(scope="session")
def harrow() -> PolicyPack:
    return load_pack(POLICIES / "harrow.yaml")


@pytest.fixture(scope="session")
def packs(redbridge: PolicyPack, harrow: PolicyPack) -> PackRegistry:
    return PackRegistry([redbridge, harrow])


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
