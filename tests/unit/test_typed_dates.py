"""Dates as a practitioner types them: the example the bot gives is always one it accepts, and a
day that does not exist is told apart from text that is not a date."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from dialogs.answers import AnswerError, date_hint, parse_day

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize("today", [TODAY, date(2027, 1, 1), date(2028, 2, 29), date(2027, 3, 1)])
def test_the_example_in_the_hint_is_accepted_on_any_day(today: date) -> None:
    example = date_hint(today).rsplit(" ", 1)[-1].rstrip(".")
    assert parse_day(example, today) == today - timedelta(days=2)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("today", TODAY),
        ("yesterday", TODAY - timedelta(days=1)),
        ("24/11/2026", date(2026, 11, 24)),
        ("24th November 2026", date(2026, 11, 24)),
        ("2026-11-24", date(2026, 11, 24)),
        ("1/3/26", date(2026, 3, 1)),
    ],
)
def test_dates_people_type(typed: str, expected: date) -> None:
    assert parse_day(typed, TODAY) == expected


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("31/02/2026", "February 2026 has 28 days"),
        ("2026-02-31", "February 2026 has 28 days"),
        ("29/02/2026", "February 2026 has 28 days"),
        ("31/04/2026", "April 2026 has 30 days"),
        ("12/13/2026", "There is no month 13"),
        ("next week", "I could not read that date"),
    ],
)
def test_a_day_that_does_not_exist_is_named_as_such(typed: str, says: str) -> None:
    with pytest.raises(AnswerError) as refused:
        parse_day(typed, TODAY)
    assert says in str(refused.value)
    assert "29/11/2026" in str(refused.value)  # and how to type one that works


def test_a_future_date_is_refused_with_an_example_that_works() -> None:
    with pytest.raises(AnswerError) as refused:
        parse_day("24/12/2026", TODAY)
    assert "is in the future" in str(refused.value) and "29/11/2026" in str(refused.value)


def test_a_leap_day_is_a_date() -> None:
    assert parse_day("29/02/2028", date(2028, 3, 1)) == date(2028, 2, 29)


def test_a_day_kept_in_iso_form_is_read_as_strptime_reads_it() -> None:
    """The dialog keeps a day as YYYY-MM-DD and reads it again when the case is saved: every
    day of the year back is the same day, and what strptime finds no day in stays refused."""
    for back in range(366):
        day = TODAY - timedelta(days=back)
        assert parse_day(day.isoformat(), TODAY) == day
    assert parse_day("2026-1-5", TODAY) == date(2026, 1, 5)  # not zero-padded: still read
    for text in ("2026-02-29", "2026-13-01", "2026-00-10", "2026-11-00"):
        with pytest.raises(ValueError):
            datetime.strptime(text, "%Y-%m-%d")
        with pytest.raises(AnswerError):
            parse_day(text, TODAY)
