"""Clocks for the code under test: one moved by hand, and one that starts on a fixed day."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


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
