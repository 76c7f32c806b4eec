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
