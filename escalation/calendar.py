"""Working-day calendar for escalation deadlines, in any of the four nations of the UK.

Rules (product spec; the customer's law):

* A working day is Monday to Friday and not a bank holiday. Bank holidays come from the
  ``holidays`` package for ``GB`` with the pack's subdivision: ``ENG`` (England), ``WLS``
  (Wales, the same days as England), ``SCT`` (Scotland: 2 January and St Andrew's Day, the
  first Monday of August, no Easter Monday) or ``NIR`` (Northern Ireland: St Patrick's Day and
  12 July). Without a subdivision the package omits Easter Monday and the late-summer bank
  holiday. Observed substitute days (e.g. "Boxing Day (observed)" on Monday 28 December 2026,
  Scotland's 2 January on Monday 4 January 2027) count as holidays.
* A pack may add days its area keeps (a Scottish council's local holidays) and take away a day
  the package lists that its agencies work (`local_holidays`, `not_holidays`).
* All reasoning happens in Europe/London local time, so deadlines follow the clock changes
  (17:00 is 17:00 GMT in winter and 17:00 BST = 16:00 UTC in summer).
* A working day ends at a configurable local time (default 17:00).
* "Within N working days" of an event ends at the end of the Nth working day strictly after
  the event's local calendar day. The event's own day never counts, whatever the time.
* "Within the same working day" ends at the end of the event's day if that day is a working
  day and the event happened strictly before the day's end; otherwise at the end of the next
  working day.
* "Within N hours" is N clock hours of elapsed time, counted through nights, weekends and bank
  holidays (a policy's "48 hours" is clock hours unless it says otherwise; one that glosses
  "48 hours (two working days)" is written in its pack as the working days it means).
* "Immediately" is the calendar's allowance (a pack setting, an hour by default), in clock time
  too: an immediate step does not wait for the next working day.

Inputs must be timezone-aware: a naive datetime has no defined instant, so guessing a zone
could silently move a statutory deadline. Outputs are aware datetimes in the calendar's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from escalation.memo import IdentityMemo
from escalation.policy import PolicyPack, Timescale

__all__ = [
    "MAX_WORKING_DAYS",
    "WorkingCalendar",
    "calendar_for",
    "deadline",
    "earliest",
    "start_of_day",
]

# Bounds the day-by-day loop; ~40 years of working days is far beyond any policy deadline.
MAX_WORKING_DAYS = 10_000

_ONE_DAY = timedelta(days=1)


class WorkingCalendar:
    """Working days and deadlines for one jurisdiction and time zone.

    Holidays are loaded lazily, one year at a time, and cached on the instance (no module
    state), so a deadline that crosses New Year loads the next year on demand.
    """

    def __init__(
        self,
        *,
        timezone: str = "Europe/London",
        country: str = "GB",
        subdivision: str = "ENG",
        end_of_day: time = time(17, 0),
        immediately: timedelta = timedelta(hours=1),
        local_holidays: Mapping[date, str] | None = None,
        not_holidays: Iterable[date] = (),
    ) -> None:
        if end_of_day.tzinfo is not None:
            # The end of day is a wall-clock time in the calendar's zone; an offset would be
            # wrong for half the year.
            raise ValueError("end_of_day must be a naive local time (no tzinfo)")
        try:
            self._tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # A KeyError subclass otherwise, which callers would take for a missing board.
            raise ValueError(f"unknown time zone {timezone!r}") from None
        self._country = country
        self._subdivision = subdivision
        self._end_of_day = end_of_day
        if immediately <= timedelta(0):
            raise ValueError("immediately must allow some time")
        self._immediately = immediately
        # Fail fast on an unknown country/subdivision rather than at the first deadline.
        try:
            holidays.country_holidays(country, subdiv=subdivision, years=())
        except NotImplementedError as exc:
            raise ValueError(f"unknown holiday calendar {country}/{subdivision}: {exc}") from exc
        self._local = dict(local_holidays or {})
        self._not_holidays = frozenset(not_holidays)
        self._holidays_by_year: dict[int, dict[date, str]] = {}

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    @property
    def end_of_day(self) -> time:
        return self._end_of_day

    # -- holidays ---------------------------------------------------------------------------

    def _holidays_for(self, year: int) -> dict[date, str]:
        cached = self._holidays_by_year.get(year)
        if cached is None:
            loaded = holidays.country_holidays(self._country, subdiv=self._subdivision, years=year)
            # Copy into a plain dict: HolidayBase auto-expands on lookup, which would hide
            # which years we have loaded and accept datetimes as keys.
            cached = {d: n for d, n in loaded.items() if d not in self._not_holidays}
            cached.update({d: n for d, n in self._local.items() if d.year == year})
            self._holidays_by_year[year] = cached
        return cached

    # -- days -------------------------------------------------------------------------------

    def local_date(self, moment: datetime) -> date:
        """The calendar day of ``moment`` in the calendar's zone."""
        return self._to_local(moment).date()

    def is_working_day(self, day: date) -> bool:
        _check_date(day)
        return self._working(day)

    def _working(self, day: date) -> bool:
        # Unchecked: for the loops below, whose day is checked once before they start.
        return day.weekday() < 5 and day not in self._holidays_for(day.year)

    def _next_working(self, day: date) -> date:
        candidate = day + _ONE_DAY
        while not self._working(candidate):
            candidate += _ONE_DAY
        return candidate

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        _check_date(day)
        return self._next_working(day)

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The ``n``-th working day strictly after ``day`` (``day`` itself never counts)."""
        _check_date(day)
        _check_n(n)
        result = day
        for _ in range(n):
            result = self._next_working(result)
        return result

    # -- instants ---------------------------------------------------------------------------

    def at(self, day: date, local_time: time) -> datetime:
        """``local_time`` on ``day`` as an aware datetime in the calendar's zone."""
        _check_date(day)
        if local_time.tzinfo is not None:
            raise ValueError("local_time must be a naive wall-clock time (no tzinfo)")
        # zoneinfo picks the correct offset for the day (GMT or BST); wall times in the
        # spring-forward gap or autumn overlap resolve with fold=0 (the earlier offset).
        return datetime.combine(day, local_time, tzinfo=self._tz)

    def end_of(self, day: date) -> datetime:
        """The end of ``day`` (``end_of_day`` local time), aware."""
        return self.at(day, self._end_of_day)

    def is_after_day_end(self, moment: datetime) -> bool:
        """True if ``moment``'s local wall-clock time is at or after the end of the day."""
        return self._to_local(moment).time() >= self._end_of_day

    # -- deadlines --------------------------------------------------------------------------

    def within_working_days(self, moment: datetime, n: int) -> datetime:
        """Deadline for "within ``n`` working days" of an event at ``moment``."""
        return self.within_working_days_of_date(self.local_date(moment), n)

    def within_working_days_of_date(self, day: date, n: int) -> datetime:
        """Deadline for "within ``n`` working days" of an event on local day ``day``."""
        return self.end_of(self.nth_working_day_after(day, n))

    def same_working_day(self, moment: datetime) -> datetime:
        """Deadline for "within the same working day" of an event at ``moment``."""
        day = self.local_date(moment)
        if self.is_working_day(day) and not self.is_after_day_end(moment):
            return self.end_of(day)
        # Outside working hours (at/after the end of day, weekend, bank holiday) the clock
        # starts on the next working day.
        return self.end_of(self.next_working_day(day))

    def within_hours(self, moment: datetime, hours: int) -> datetime:
        """Deadline for "within ``hours`` hours" of an event: clock hours, elapsed time, counted
        straight through nights, weekends and bank holidays (and the clock changes: 48 hours
        across the spring change end at 48 hours of elapsed time, an hour later on the wall)."""
        if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
            raise ValueError(f"hours must be a positive int, got {hours!r}")
        # In UTC: aware arithmetic in a zone adds wall time, which a clock change would shift.
        return (self._to_local(moment).astimezone(UTC) + timedelta(hours=hours)).astimezone(
            self._tz
        )

    def immediately(self, moment: datetime) -> datetime:
        """Deadline for "immediately": the allowance the calendar was given, in clock time."""
        return (self._to_local(moment).astimezone(UTC) + self._immediately).astimezone(self._tz)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days ``d`` with ``local_date(start) < d <= local_date(end)``; 0 if none."""
        first = self.local_date(start)
        last = self.local_date(end)
        count = 0
        day = first + _ONE_DAY
        while day <= last:
            if self._working(day):
                count += 1
            day += _ONE_DAY
        return count

    # -- helpers ----------------------------------------------------------------------------

    def _to_local(self, moment: datetime) -> datetime:
        if not isinstance(moment, datetime):
            raise TypeError(f"expected a datetime, got {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(
                f"naive datetime {moment.isoformat()} has no time zone; "
                "pass an aware datetime (e.g. with tzinfo=UTC)"
            )
        return moment.astimezone(self._tz)


def _check_date(day: date) -> None:
    # datetime subclasses date but never equals a date key, so holiday lookups would
    # silently miss; insist on a plain date (use local_date() to convert an instant).
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(
            f"expected a date (not a datetime), got {type(day).__name__}; "
            "use local_date() to convert an instant"
        )


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 1 <= n <= MAX_WORKING_DAYS:
        raise ValueError(f"n must be between 1 and {MAX_WORKING_DAYS} working days, got {n}")


# -- a pack's calendar and its deadlines ----------------------------------------------------------


def calendar_for(pack: PolicyPack) -> WorkingCalendar:
    """The pack's working calendar (one per pack, shared: a calendar only caches holidays)."""
    return _CALENDARS.get(pack)


def _make_calendar(pack: PolicyPack) -> WorkingCalendar:
    settings = pack.calendar
    return WorkingCalendar(
        timezone=settings.timezone,
        country=settings.country,
        subdivision=settings.subdivision,
        end_of_day=settings.end_of_working_day,
        immediately=timedelta(minutes=settings.immediately_within_minutes),
        local_holidays={h.date: h.name for h in settings.local_holidays},
        not_holidays=settings.not_holidays,
    )


def deadline(calendar: WorkingCalendar, timescale: Timescale, start: datetime) -> datetime:
    """When a timescale that starts at `start` falls due."""
    if timescale.immediately:
        return calendar.immediately(start)
    if timescale.same_working_day:
        return calendar.same_working_day(start)
    if timescale.hours is not None:
        return calendar.within_hours(start, timescale.hours)
    assert timescale.working_days is not None
    return calendar.within_working_days(start, timescale.working_days)


def earliest(
    calendar: WorkingCalendar, timescales: Iterable[Timescale], start: datetime
) -> tuple[datetime, Timescale]:
    """The deadline that applies where a policy states a timescale more than once: the earliest
    of them, worked out from `start` (hours and working days compare only from a moment), and
    the statement it comes from. A tie goes to the statement listed first."""
    best: tuple[datetime, Timescale] | None = None
    for timescale in timescales:
        due = deadline(calendar, timescale, start)
        if best is None or due < best[0]:
            best = (due, timescale)
    if best is None:
        raise ValueError("a clock needs at least one timescale")
    return best


def start_of_day(calendar: WorkingCalendar, day: date) -> datetime:
    return calendar.at(day, time(0, 0))


# The calendars of the packs seen last: a calendar loads its country's holidays, which costs more
# than a whole card action's other work, and every case view asks for one.
_CALENDARS: IdentityMemo[WorkingCalendar] = IdentityMemo(_make_calendar, 64)
