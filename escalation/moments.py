"""Date-times that people give (on the command line, on a card), read one way wherever given.

A moment without an offset is read in the zone given (the board's), and one outside the years
below is refused: far enough either way for any case, near enough that counting working days or
years of retention from it stays inside what datetime can hold.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo

FIRST_YEAR = 1900
LAST_YEAR = 2999
EXAMPLE = "2026-12-03T09:30:00+00:00"


class MomentError(ValueError):
    """Text that names no moment the core can count from. The message says why, worded to follow
    what was given (`--now 'x' is not ...`, `The deadline is outside ...`)."""


def parse_moment(text: str, *, local: tzinfo | None = None) -> datetime:
    """An ISO 8601 date-time. Without an offset it is read in `local`, or refused when no local
    zone applies."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MomentError(f"is not an ISO 8601 date-time (e.g. {EXAMPLE})") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        if local is None:
            raise MomentError("needs a UTC offset (e.g. +00:00 or Z)")
        moment = moment.replace(tzinfo=local)
    return within_years(moment)


def moment_at(day: date, at: time, local: tzinfo) -> datetime:
    """A day and a time of day given apart (a card's date and time inputs), in `local`."""
    return within_years(datetime.combine(day, at, tzinfo=local))


def within_years(moment: datetime) -> datetime:
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise MomentError(f"is outside the years {FIRST_YEAR} to {LAST_YEAR}")
    return moment
