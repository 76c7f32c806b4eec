"""The access log's port: a view is recorded or, if storage fails, logged without the case."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from escalation.access_log import (
    AccessEntry,
    InMemoryAccessLog,
    Seen,
    access_lines,
    board_subject,
    cli_actor,
    record_access,
)

LONDON = ZoneInfo("Europe/London")


async def test_a_failed_write_is_logged_with_ids_only_and_the_caller_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = InMemoryAccessLog()
    entry = AccessEntry("RB-2026-K7QX2M", "amara", Seen.CASE, datetime(2026, 12, 1, tzinfo=UTC))
    assert await record_access(log, entry) is True
    log.fail = True
    with caplog.at_level(logging.WARNING, logger="escalation.access"):
        assert await record_access(log, entry) is False
    [line] = caplog.records
    assert line.getMessage() == "access log: a case of RB-2026-K7QX2M was not recorded (OSError)"
    assert await log.entries("RB-2026-K7QX2M") == [entry]


def test_an_entry_needs_an_aware_time_and_says_who_saw_what() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AccessEntry("RB-1", "amara", Seen.CARD, datetime(2026, 12, 1))
    with pytest.raises(ValueError, match="by whom"):
        AccessEntry("RB-1", "", Seen.CARD, datetime(2026, 12, 1, tzinfo=UTC))
    assert board_subject("redbridge") == "board:redbridge"
    assert (cli_actor("jo"), cli_actor("")) == ("cli:jo", "cli:unknown")


def test_lines_are_in_uk_local_time_oldest_first_with_names_where_known() -> None:
    entries = [
        AccessEntry("RB-1", "cli:jo", Seen.EXPORT, datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        AccessEntry("RB-1", "amara", Seen.CARD, datetime(2026, 12, 1, 10, 0, tzinfo=UTC), "full"),
    ]
    names = {"amara": "Amara Okafor"}
    assert access_lines(entries, LONDON, names.get) == [
        "Wed 01 Jul 2026 09:00 BST  cli:jo  export",
        "Tue 01 Dec 2026 10:00 GMT  Amara Okafor (amara)  card, full view",
    ]
