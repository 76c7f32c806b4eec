"""Tests for escalation.calendar.

Every expected date below was worked out by hand from a real calendar (weekday of each date
checked; 2026-12-24 is a Thursday) and the published England and Wales bank holidays.
Expected deadlines are written as local ISO strings so the offset (GMT +00:00 / BST +01:00)
is asserted too; clock-change cases also assert the UTC instant.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from escalation.calendar import MAX_WORKING_DAYS, WorkingCalendar

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def dt(text: str) -> datetime:
    """Parse an aware ISO datetime (``Z`` or an explicit offset)."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, "test inputs must be aware"
    return value


def d(text: str) -> date:
    return date.fromisoformat(text)


def assert_deadline(actual: datetime, expected_local: str, expected_utc: str | None) -> None:
    assert actual.tzinfo is not None
    assert str(actual.tzinfo) == "Europe/London"
    assert actual.isoformat() == expected_local
    if expected_utc is not None:
        assert actual.astimezone(UTC) == dt(expected_utc)


# -- calendar: which days are working days ------------------------------------------------

NON_WORKING_DAYS = [
    # (id, day, holiday-name fragment or None for a plain weekend day)
    ("ny-2026", "2026-01-01", "New Year"),
    ("good-friday-2026", "2026-04-03", "Good Friday"),
    ("easter-monday-2026", "2026-04-06", "Easter Monday"),
    ("early-may-2026", "2026-05-04", "May"),
    ("spring-2026", "2026-05-25", "Spring"),
    ("late-summer-2026", "2026-08-31", "Summer"),
    ("christmas-2026-fri", "2026-12-25", "Christmas"),
    ("boxing-2026-sat", "2026-12-26", "Boxing"),
    ("boxing-2026-observed-mon", "2026-12-28", "Boxing Day (observed)"),
    ("good-friday-2027", "2027-03-26", "Good Friday"),
    ("easter-monday-2027", "2027-03-29", "Easter Monday"),
    ("early-may-2027", "2027-05-03", "May"),
    ("spring-2027", "2027-05-31", "Spring"),
    ("late-summer-2027", "2027-08-30", "Summer"),
    ("christmas-2027-observed-mon", "2027-12-27", "Christmas Day (observed)"),
    ("boxing-2027-observed-tue", "2027-12-28", "Boxing Day (observed)"),
    ("ny-2022-observed-mon", "2022-01-03", "New Year's Day (observed)"),
    ("ny-2028-observed-mon", "2028-01-03", "New Year's Day (observed)"),
    ("saturday", "2026-06-06", None),
    ("sunday", "2026-06-07", None),
]


@pytest.mark.parametrize(
    "day", [pytest.param(day, id=case_id) for case_id, day, _holiday in NON_WORKING_DAYS]
)
def test_non_working_days(cal: WorkingCalendar, day: str) -> None:
    assert cal.is_working_day(d(day)) is False


WORKING_DAYS = [
    ("thu-before-christmas-2026", "2026-12-24"),
    ("tue-after-boxing-observed-2026", "2026-12-29"),
    ("thu-after-easter-2026", "2026-04-07"),
    ("wed-after-christmas-2027", "2027-12-29"),
    ("tue-after-ny-observed-2028", "2028-01-04"),
    ("tue-after-late-summer-2026", "2026-09-01"),
    ("ordinary-wednesday", "2026-01-14"),
]


@pytest.mark.parametrize("day", [pytest.param(day, id=case_id) for case_id, day in WORKING_DAYS])
def test_working_days(cal: WorkingCalendar, day: str) -> None:
    assert cal.is_working_day(d(day)) is True


def test_subdivision_eng_is_essential_for_easter_monday_and_late_summer(
    cal: WorkingCalendar,
) -> None:
    # The package's bare "GB" calendar is UK-wide and omits England-only holidays; this is
    # why the calendar insists on subdiv="ENG".
    uk_wide = holidays.country_holidays("GB", years=2026)
    assert date(2026, 4, 6) not in uk_wide
    assert date(2026, 8, 31) not in uk_wide
    assert cal.is_working_day(date(2026, 4, 6)) is False
    assert cal.is_working_day(date(2026, 8, 31)) is False


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param("2026-12-24", "2026-12-29", id="christmas-2026"),
        pytest.param("2027-12-24", "2027-12-29", id="christmas-2027"),
        pytest.param("2027-12-31", "2028-01-04", id="new-year-2028-crosses-year"),
        pytest.param("2021-12-31", "2022-01-04", id="new-year-2022-crosses-year"),
        pytest.param("2026-04-02", "2026-04-07", id="easter-2026"),
        pytest.param("2026-06-05", "2026-06-08", id="friday-to-monday"),
        pytest.param("2026-06-06", "2026-06-08", id="saturday-to-monday"),
        pytest.param("2026-06-08", "2026-06-09", id="monday-to-tuesday"),
    ],
)
def test_next_working_day_is_strictly_after(cal: WorkingCalendar, day: str, expected: str) -> None:
    assert cal.next_working_day(d(day)) == d(expected)


# -- RB-4.4: within N working days ----------------------------------------------------------

WITHIN_N = [
    # (id, event instant, n, expected local deadline, expected UTC deadline)
    (
        "spec-example-christmas-2026",
        "2026-12-24T10:00:00Z",
        2,
        "2026-12-30T17:00:00+00:00",
        "2026-12-30T17:00:00Z",
    ),
    ("christmas-2026-1wd", "2026-12-24T10:00:00Z", 1, "2026-12-29T17:00:00+00:00", None),
    ("christmas-2026-from-wed", "2026-12-23T09:00:00Z", 2, "2026-12-29T17:00:00+00:00", None),
    ("christmas-2027-both-observed", "2027-12-24T09:00:00Z", 1, "2027-12-29T17:00:00+00:00", None),
    ("christmas-2027-from-thu", "2027-12-23T09:00:00Z", 2, "2027-12-29T17:00:00+00:00", None),
    ("new-year-2028-observed", "2027-12-31T09:00:00Z", 1, "2028-01-04T17:00:00+00:00", None),
    ("new-year-2022-observed", "2021-12-31T09:00:00Z", 1, "2022-01-04T17:00:00+00:00", None),
    (
        "easter-2026",
        "2026-04-02T09:00:00Z",
        1,
        "2026-04-07T17:00:00+01:00",
        "2026-04-07T16:00:00Z",
    ),
    ("easter-2026-2wd", "2026-04-02T09:00:00Z", 2, "2026-04-08T17:00:00+01:00", None),
    (
        "easter-2027-and-clock-change",
        "2027-03-25T09:00:00Z",
        1,
        "2027-03-30T17:00:00+01:00",
        "2027-03-30T16:00:00Z",
    ),
    ("early-may-2026", "2026-05-01T09:00:00Z", 1, "2026-05-05T17:00:00+01:00", None),
    ("spring-2026", "2026-05-22T09:00:00Z", 1, "2026-05-26T17:00:00+01:00", None),
    ("late-summer-2026", "2026-08-28T09:00:00Z", 1, "2026-09-01T17:00:00+01:00", None),
    (
        "march-clock-change-fri-to-mon",
        "2026-03-27T16:30:00Z",
        1,
        "2026-03-30T17:00:00+01:00",
        "2026-03-30T16:00:00Z",
    ),
    (
        "october-clock-change-fri-to-mon",
        "2026-10-23T16:30:00Z",
        1,
        "2026-10-26T17:00:00+00:00",
        "2026-10-26T17:00:00Z",
    ),
    ("saturday-2wd", "2026-06-06T10:00:00Z", 2, "2026-06-09T17:00:00+01:00", None),
    ("sunday-1wd", "2026-06-07T10:00:00Z", 1, "2026-06-08T17:00:00+01:00", None),
    # 18:00 BST on Thursday: the event's day is still Thursday and does not count.
    ("thursday-after-day-end", "2026-06-04T17:00:00Z", 1, "2026-06-05T17:00:00+01:00", None),
    ("thursday-early-morning", "2026-06-04T05:00:00Z", 1, "2026-06-05T17:00:00+01:00", None),
    ("friday-after-day-end", "2026-06-05T17:00:00Z", 1, "2026-06-08T17:00:00+01:00", None),
    ("on-bank-holiday", "2026-08-31T09:00:00Z", 1, "2026-09-01T17:00:00+01:00", None),
    # 23:30Z on Monday 1 June is 00:30 BST on Tuesday 2 June: the local day is what counts.
    ("utc-date-differs-from-local", "2026-06-01T23:30:00Z", 1, "2026-06-03T17:00:00+01:00", None),
    # Same instant as 09:00Z, given with a non-UTC offset.
    ("other-offset-input", "2026-12-24T14:30:00+05:30", 2, "2026-12-30T17:00:00+00:00", None),
    ("ten-wd-over-christmas", "2026-12-18T12:00:00Z", 10, "2027-01-06T17:00:00+00:00", None),
]


@pytest.mark.clause("RB-4.4")
@pytest.mark.parametrize(
    ("event", "n", "expected_local", "expected_utc"),
    [pytest.param(*row[1:], id=row[0]) for row in WITHIN_N],
)
def test_within_working_days(
    cal: WorkingCalendar, event: str, n: int, expected_local: str, expected_utc: str | None
) -> None:
    deadline = cal.within_working_days(dt(event), n)
    assert_deadline(deadline, expected_local, expected_utc)


@pytest.mark.clause("RB-4.4")
@pytest.mark.parametrize(
    ("day", "n", "expected_local"),
    [
        pytest.param("2026-12-24", 2, "2026-12-30T17:00:00+00:00", id="spec-example"),
        pytest.param("2027-12-24", 1, "2027-12-29T17:00:00+00:00", id="christmas-2027"),
        pytest.param("2027-03-25", 1, "2027-03-30T17:00:00+01:00", id="easter-2027"),
        pytest.param("2026-06-06", 2, "2026-06-09T17:00:00+01:00", id="saturday"),
    ],
)
def test_within_working_days_of_date(
    cal: WorkingCalendar, day: str, n: int, expected_local: str
) -> None:
    assert_deadline(cal.within_working_days_of_date(d(day), n), expected_local, None)


@pytest.mark.clause("RB-4.4")
def test_event_day_never_counts_whatever_the_time(cal: WorkingCalendar) -> None:
    # Every instant of Thursday 4 June 2026 (local) gives the same 1-WD deadline.
    start = datetime(2026, 6, 4, 0, 0, tzinfo=LONDON)
    expected = "2026-06-05T17:00:00+01:00"
    for minutes in range(0, 24 * 60, 30):
        moment = start + timedelta(minutes=minutes)
        assert cal.within_working_days(moment, 1).isoformat() == expected


@pytest.mark.clause("RB-4.4")
def test_within_n_is_consistent_with_working_days_between(cal: WorkingCalendar) -> None:
    # Over two years (two Christmases, two clock-change pairs): the deadline is a working
    # day, ends at 17:00 local, and exactly n working days lie after the event's day.
    day = date(2026, 1, 1)
    while day < date(2028, 1, 10):
        event = datetime.combine(day, time(12, 0), tzinfo=LONDON)
        for n in (1, 2, 5):
            deadline = cal.within_working_days(event, n)
            assert cal.is_working_day(deadline.date())
            assert deadline.timetz().replace(tzinfo=None) == time(17, 0)
            assert cal.working_days_between(event, deadline) == n
            assert cal.working_days_between(event, deadline - timedelta(days=1)) == n - 1
        day += timedelta(days=1)


# -- RB-4.5: within the same working day ----------------------------------------------------

SAME_WD = [
    # (id, event instant, expected local deadline, expected UTC deadline)
    ("working-day-morning", "2026-01-14T09:00:00Z", "2026-01-14T17:00:00+00:00", None),
    ("just-before-17", "2026-01-14T16:59:59Z", "2026-01-14T17:00:00+00:00", None),
    ("one-microsecond-before-17", "2026-01-14T16:59:59.999999Z", "2026-01-14T17:00:00+00:00", None),
    ("exactly-17-rolls-over", "2026-01-14T17:00:00Z", "2026-01-15T17:00:00+00:00", None),
    ("after-17-rolls-over", "2026-01-14T18:30:00Z", "2026-01-15T17:00:00+00:00", None),
    ("late-evening", "2026-01-14T23:59:59Z", "2026-01-15T17:00:00+00:00", None),
    ("friday-after-17-to-monday", "2026-01-16T17:30:00Z", "2026-01-19T17:00:00+00:00", None),
    ("saturday-to-monday", "2026-06-06T10:00:00Z", "2026-06-08T17:00:00+01:00", None),
    ("sunday-to-monday", "2026-06-07T10:00:00Z", "2026-06-08T17:00:00+01:00", None),
    ("bank-holiday-to-next", "2026-08-31T09:00:00Z", "2026-09-01T17:00:00+01:00", None),
    ("christmas-eve-morning", "2026-12-24T09:00:00Z", "2026-12-24T17:00:00+00:00", None),
    ("christmas-eve-after-17", "2026-12-24T17:30:00Z", "2026-12-29T17:00:00+00:00", None),
    ("christmas-day-2027-sat", "2027-12-25T10:00:00Z", "2027-12-29T17:00:00+00:00", None),
    ("boxing-observed-2026", "2026-12-28T10:00:00Z", "2026-12-29T17:00:00+00:00", None),
    ("good-friday-2026", "2026-04-03T10:00:00Z", "2026-04-07T17:00:00+01:00", None),
    ("ny-observed-2022", "2022-01-03T10:00:00Z", "2022-01-04T17:00:00+00:00", None),
    (
        "march-fri-1630-gmt-same-day",
        "2026-03-27T16:30:00Z",
        "2026-03-27T17:00:00+00:00",
        "2026-03-27T17:00:00Z",
    ),
    (
        "march-fri-17-gmt-to-mon-bst",
        "2026-03-27T17:00:00Z",
        "2026-03-30T17:00:00+01:00",
        "2026-03-30T16:00:00Z",
    ),
    (
        "march-mon-bst-1559z-is-1659-local",
        "2026-03-30T15:59:00Z",
        "2026-03-30T17:00:00+01:00",
        "2026-03-30T16:00:00Z",
    ),
    (
        "march-mon-bst-16z-is-17-local",
        "2026-03-30T16:00:00Z",
        "2026-03-31T17:00:00+01:00",
        "2026-03-31T16:00:00Z",
    ),
    (
        "october-fri-1630z-is-1730-bst",
        "2026-10-23T16:30:00Z",
        "2026-10-26T17:00:00+00:00",
        "2026-10-26T17:00:00Z",
    ),
    (
        "october-fri-1530z-is-1630-bst",
        "2026-10-23T15:30:00Z",
        "2026-10-23T17:00:00+01:00",
        "2026-10-23T16:00:00Z",
    ),
    (
        "october-mon-gmt-1630z",
        "2026-10-26T16:30:00Z",
        "2026-10-26T17:00:00+00:00",
        "2026-10-26T17:00:00Z",
    ),
    # 12:30 EST = 17:30Z = 17:30 GMT: after the day's end in London.
    ("new-york-input", "2026-01-14T12:30:00-05:00", "2026-01-15T17:00:00+00:00", None),
    # 23:30Z on Monday 1 June is 00:30 BST Tuesday: same-day deadline is Tuesday's.
    ("utc-date-differs-from-local", "2026-06-01T23:30:00Z", "2026-06-02T17:00:00+01:00", None),
]


@pytest.mark.clause("RB-4.5")
@pytest.mark.parametrize(
    ("event", "expected_local", "expected_utc"),
    [pytest.param(*row[1:], id=row[0]) for row in SAME_WD],
)
def test_same_working_day(
    cal: WorkingCalendar, event: str, expected_local: str, expected_utc: str | None
) -> None:
    assert_deadline(cal.same_working_day(dt(event)), expected_local, expected_utc)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param("2026-01-14T16:59:59Z", False, id="gmt-just-before"),
        pytest.param("2026-01-14T17:00:00Z", True, id="gmt-exactly"),
        pytest.param("2026-06-03T15:59:00Z", False, id="bst-1659-local"),
        pytest.param("2026-06-03T16:00:00Z", True, id="bst-17-local"),
        pytest.param("2026-10-23T16:30:00Z", True, id="oct-1730-bst"),
        pytest.param("2026-06-03T23:30:00Z", False, id="bst-0030-next-day"),
    ],
)
def test_is_after_day_end(cal: WorkingCalendar, event: str, expected: bool) -> None:
    assert cal.is_after_day_end(dt(event)) is expected


# -- custom end of day ----------------------------------------------------------------------

CUSTOM_END = [
    # (id, rule, event, expected local deadline)
    ("same-wd-before-1630", "same", "2026-01-14T16:29:00Z", "2026-01-14T16:30:00+00:00"),
    ("same-wd-at-1630", "same", "2026-01-14T16:30:00Z", "2026-01-15T16:30:00+00:00"),
    ("same-wd-1645", "same", "2026-01-14T16:45:00Z", "2026-01-15T16:30:00+00:00"),
    ("same-wd-bst-before", "same", "2026-06-03T15:29:00Z", "2026-06-03T16:30:00+01:00"),
    ("same-wd-bst-at", "same", "2026-06-03T15:30:00Z", "2026-06-04T16:30:00+01:00"),
    ("within-2wd", "within2", "2026-01-14T09:00:00Z", "2026-01-16T16:30:00+00:00"),
    ("within-2wd-christmas", "within2", "2026-12-24T09:00:00Z", "2026-12-30T16:30:00+00:00"),
]


@pytest.mark.clause("RB-4.4", "RB-4.5")
@pytest.mark.parametrize(
    ("rule", "event", "expected_local"),
    [pytest.param(*row[1:], id=row[0]) for row in CUSTOM_END],
)
def test_custom_end_of_day(rule: str, event: str, expected_local: str) -> None:
    cal = WorkingCalendar(end_of_day=time(16, 30))
    assert cal.end_of_day == time(16, 30)
    if rule == "same":
        deadline = cal.same_working_day(dt(event))
    else:
        deadline = cal.within_working_days(dt(event), 2)
    assert_deadline(deadline, expected_local, None)


# -- at / end_of / local_date ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "local_time", "expected"),
    [
        pytest.param("2026-03-28", time(12), "2026-03-28T12:00:00+00:00", id="sat-before-bst"),
        pytest.param("2026-03-29", time(12), "2026-03-29T12:00:00+01:00", id="bst-starts"),
        pytest.param("2026-10-25", time(12), "2026-10-25T12:00:00+00:00", id="bst-ends"),
        pytest.param("2026-07-01", time(9, 15), "2026-07-01T09:15:00+01:00", id="summer"),
    ],
)
def test_at(cal: WorkingCalendar, day: str, local_time: time, expected: str) -> None:
    assert cal.at(d(day), local_time).isoformat() == expected


def test_end_of_and_tz(cal: WorkingCalendar) -> None:
    assert cal.tz == LONDON
    assert cal.end_of_day == time(17, 0)
    assert cal.end_of(date(2026, 1, 14)).isoformat() == "2026-01-14T17:00:00+00:00"
    assert cal.end_of(date(2026, 7, 14)).isoformat() == "2026-07-14T17:00:00+01:00"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param("2026-06-01T23:30:00Z", "2026-06-02", id="bst-after-midnight-local"),
        pytest.param("2026-01-01T23:30:00Z", "2026-01-01", id="gmt-same-as-utc"),
        pytest.param("2026-01-02T03:00:00+05:00", "2026-01-01", id="offset-input"),
        pytest.param("2026-03-29T00:59:59Z", "2026-03-29", id="just-before-bst-starts"),
        pytest.param("2026-03-28T23:59:59Z", "2026-03-28", id="saturday-night-gmt"),
    ],
)
def test_local_date(cal: WorkingCalendar, moment: str, expected: str) -> None:
    assert cal.local_date(dt(moment)) == d(expected)


# -- working_days_between -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param("2026-12-24T10:00:00Z", "2026-12-31T10:00:00Z", 3, id="across-christmas-26"),
        pytest.param("2026-12-24T10:00:00Z", "2027-01-04T10:00:00Z", 4, id="across-new-year-27"),
        pytest.param("2026-12-24T10:00:00Z", "2026-12-28T16:00:00Z", 0, id="only-holidays"),
        pytest.param("2027-12-24T10:00:00Z", "2028-01-04T10:00:00Z", 4, id="across-christmas-27"),
        pytest.param("2026-12-24T09:00:00Z", "2026-12-24T23:00:00Z", 0, id="same-day"),
        pytest.param("2026-12-30T10:00:00Z", "2026-12-24T10:00:00Z", 0, id="end-before-start"),
        pytest.param("2026-06-01T23:30:00Z", "2026-06-02T10:00:00Z", 0, id="same-local-day"),
        pytest.param(
            "2026-06-01T22:30:00Z", "2026-06-01T23:30:00Z", 1, id="crosses-local-midnight"
        ),
        pytest.param("2026-06-05T10:00:00Z", "2026-06-08T10:00:00Z", 1, id="over-weekend"),
    ],
)
def test_working_days_between(cal: WorkingCalendar, start: str, end: str, expected: int) -> None:
    assert cal.working_days_between(dt(start), dt(end)) == expected


# -- guards ---------------------------------------------------------------------------------

NAIVE = datetime(2026, 12, 24, 10, 0)
AWARE = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.within_working_days(NAIVE, 2), id="within_working_days"),
        pytest.param(lambda c: c.same_working_day(NAIVE), id="same_working_day"),
        pytest.param(lambda c: c.local_date(NAIVE), id="local_date"),
        pytest.param(lambda c: c.is_after_day_end(NAIVE), id="is_after_day_end"),
        pytest.param(lambda c: c.working_days_between(NAIVE, AWARE), id="between-start"),
        pytest.param(lambda c: c.working_days_between(AWARE, NAIVE), id="between-end"),
    ],
)
def test_naive_datetime_rejected(cal: WorkingCalendar, call: Any) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        call(cal)


@pytest.mark.parametrize("n", [0, -1, MAX_WORKING_DAYS + 1])
def test_n_out_of_range_rejected(cal: WorkingCalendar, n: int) -> None:
    with pytest.raises(ValueError, match="n must be between 1"):
        cal.nth_working_day_after(date(2026, 1, 14), n)
    with pytest.raises(ValueError, match="n must be between 1"):
        cal.within_working_days(AWARE, n)
    with pytest.raises(ValueError, match="n must be between 1"):
        cal.within_working_days_of_date(date(2026, 1, 14), n)


def test_bool_n_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(TypeError):
        cal.nth_working_day_after(date(2026, 1, 14), True)


def test_datetime_passed_as_date_rejected(cal: WorkingCalendar) -> None:
    # datetime subclasses date but never equals a date, so a holiday lookup would miss.
    christmas = datetime(2026, 12, 25, tzinfo=UTC)
    with pytest.raises(TypeError, match="local_date"):
        cal.is_working_day(christmas)
    with pytest.raises(TypeError):
        cal.next_working_day(christmas)


def test_max_n_works(cal: WorkingCalendar) -> None:
    start = date(2026, 1, 14)
    result = cal.nth_working_day_after(start, MAX_WORKING_DAYS)
    assert cal.is_working_day(result)
    assert cal.working_days_between(cal.end_of(start), cal.end_of(result)) == MAX_WORKING_DAYS


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="naive local time"):
        WorkingCalendar(end_of_day=time(17, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="unknown holiday calendar"):
        WorkingCalendar(subdivision="XXX")


# -- caching --------------------------------------------------------------------------------


def test_holidays_loaded_lazily_per_year_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[tuple[int, ...]] = []
    real = holidays.country_holidays

    def spy(country: str, *, subdiv: str, years: int | Iterable[int]) -> holidays.HolidayBase:
        loaded.append((years,) if isinstance(years, int) else tuple(years))
        return real(country, subdiv=subdiv, years=years)

    monkeypatch.setattr(holidays, "country_holidays", spy)
    cal = WorkingCalendar()
    other = WorkingCalendar()
    assert loaded == [(), ()]  # only the fail-fast validation, no years yet

    # Only the days actually examined load their year; crossing New Year loads the
    # following year on demand, once.
    assert cal.within_working_days(datetime(2027, 12, 30, 9, tzinfo=UTC), 1).date() == date(
        2027, 12, 31
    )
    assert loaded[2:] == [(2027,)]
    assert cal.within_working_days(datetime(2027, 12, 31, 9, tzinfo=UTC), 1).date() == date(
        2028, 1, 4
    )
    assert loaded[2:] == [(2027,), (2028,)]
    cal.within_working_days(datetime(2027, 12, 30, 9, tzinfo=UTC), 3)
    cal.same_working_day(datetime(2027, 12, 31, 18, tzinfo=UTC))
    assert loaded[2:] == [(2027,), (2028,)]

    # The cache is per instance.
    other.is_working_day(date(2027, 6, 1))
    assert loaded[2:] == [(2027,), (2028,), (2027,)]


def test_core_module_imports_no_framework() -> None:
    code = (
        "import sys, escalation.calendar\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('botbuilder', 'azure', 'aiohttp')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
