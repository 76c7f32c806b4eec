"""The benchmark's case ids: drawn at random, as the service draws them, and never one twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from benchmarks import harness
from benchmarks.harness import NewCaseIds


def test_an_id_drawn_again_is_drawn_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter(["RB-2026-AAAAAA", "RB-2026-AAAAAA", "RB-2026-AAAAAA", "RB-2026-BBBBBB"])
    monkeypatch.setattr(harness, "random_case_id", lambda prefix, now: next(draws))
    ids = NewCaseIds()
    now = datetime(2026, 11, 25, tzinfo=UTC)

    assert [ids("RB", now), ids("RB", now)] == ["RB-2026-AAAAAA", "RB-2026-BBBBBB"]
