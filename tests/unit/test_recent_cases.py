"""RecentCases holds at most its number of cases, the least recently used going first."""

from __future__ import annotations

from escalation.ports import StoredCase
from storage.recent_cases import RecentCases


def test_the_least_recently_used_case_goes_first() -> None:
    recent = RecentCases(kept=2)
    a, b, c = StoredCase(()), StoredCase(()), StoredCase(())
    recent.keep("A", a)
    recent.keep("B", b)
    assert recent.get("A") is a  # A is now the more recently used
    recent.keep("C", c)
    assert len(recent) == 2
    assert recent.get("B") is None
    assert recent.get("A") is a and recent.get("C") is c
    recent.forget("A")
    assert recent.get("A") is None and len(recent) == 1
