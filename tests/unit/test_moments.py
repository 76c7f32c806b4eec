"""Date-times people give, read one way for the command line and the cards."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalation.moments import MomentError, moment_at, parse_moment

LONDON = ZoneInfo("Europe/London")


def test_an_offset_is_kept_and_a_moment_without_one_is_read_in_the_zone_given() -> None:
    assert parse_moment("2026-12-03T09:30:00+01:00") == datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    summer = parse_moment("2026-07-01T09:30", local=LONDON)
    assert summer.utcoffset() == timedelta(hours=1)
    assert summer == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "local", "why"),
    [
        ("yesterday", LONDON, "is not an ISO 8601 date-time (e.g. 2026-12-03T09:30:00+00:00)"),
        ("2026-12-03T09:30", None, "needs a UTC offset (e.g. +00:00 or Z)"),
        ("9999-12-31T00:00:00+00:00", None, "is outside the years 1900 to 2999"),
        ("1899-12-31T23:00", LONDON, "is outside the years 1900 to 2999"),
    ],
)
def test_what_names_no_usable_moment_says_why(text: str, local: ZoneInfo | None, why: str) -> None:
    with pytest.raises(MomentError) as refused:
        parse_moment(text, local=local)
    assert str(refused.value) == why


def test_a_day_and_a_time_given_apart_are_read_in_the_zone_and_the_same_years() -> None:
    assert moment_at(date(2026, 12, 24), time(17, 0), LONDON) == datetime(
        2026, 12, 24, 17, tzinfo=UTC
    )
    with pytest.raises(MomentError, match="outside the years 1900 to 2999"):
        moment_at(date(3000, 1, 1), time(0, 0), LONDON)
