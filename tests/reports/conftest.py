"""Fixtures for the report tests: the real packs, the unit tests' directory and a fixed clock."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalation.directory import StaticDirectory
from escalation.memory import InMemoryCaseRepository, RecordingNotifier
from escalation.packs import PackRegistry, load_pack
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from tests.support import FakeClock, make_directory

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
ARTIFACTS = ROOT / "artifacts" / "reports"

# matplotlib keeps a font cache; a private folder keeps it from warning about a read-only home.
os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "sab-matplotlib"))


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
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # a Tuesday


@pytest.fixture
def repository() -> InMemoryCaseRepository:
    return InMemoryCaseRepository()


@pytest.fixture
def service(
    packs: PackRegistry, clock: FakeClock, repository: InMemoryCaseRepository
) -> EscalationService:
    counter = iter(range(1, 10_000))
    return EscalationService(
        packs=packs,
        repository=repository,
        directory=StaticDirectory(make_directory()),
        notifier=RecordingNotifier(),
        now=clock,
        new_case_id=lambda prefix, now: f"{prefix}-{now:%Y}-{next(counter):04d}",
    )
