"""Reading free-text answers: dates that make sense, texts the core will accept. Pure functions."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from escalation.errors import Refused
from escalation.rules.text import MAX_TEXT, check_reference, check_text

SKIP_WORDS = frozenset({"skip", "none", "n/a", "-"})

_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%d-%m-%Y", "%d.%m.%Y")


class AnswerError(ValueError):
    """Why an answer cannot be used; the dialog says it and asks again."""


def parse_day(text: str, today: date, *, oldest_days: int = 366) -> date:
    """A date typed by a person: 'today', 'yesterday', 24/12/2026, 2026-12-24, 24 December 2026."""
    cleaned = re.sub(r"\s+", " ", text.strip().lower())
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", cleaned)
    if cleaned == "today":
        return today
    if cleaned == "yesterday":
        return today - timedelta(days=1)
    day = _read_day(cleaned)
    if day is not None:
        if day > today:
            raise AnswerError(f"{day:%d %B %Y} is in the future. {date_hint(today)}")
        if day < today - timedelta(days=oldest_days):
            raise AnswerError(
                f"{day:%d %B %Y} is more than a year ago. Check the date, or ask your "
                "safeguarding lead how to raise a concern this old."
            )
        return day
    impossible = _impossible_date(cleaned)
    if impossible is not None:
        raise AnswerError(f"{impossible} {date_hint(today)}")
    raise AnswerError(f"I could not read that date. {date_hint(today)}")


_PLAIN_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _read_day(cleaned: str) -> date | None:
    """The day `cleaned` names in the first of _FORMATS that reads it, or None."""
    if _PLAIN_ISO_DATE.fullmatch(cleaned) is not None:
        # The form the dialog keeps a day in, which only "%Y-%m-%d" reads: read at once, not
        # after failing each day/month format (an exception apiece).
        try:
            return date.fromisoformat(cleaned)
        except ValueError:
            return None
    for fmt in _FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return None


def date_hint(today: date) -> str:
    """How to type a date, with an example that is itself accepted (never in the future)."""
    example = today - timedelta(days=2)
    return f"Type 'today', 'yesterday' or a date such as {example:%d/%m/%Y}."


_NUMERIC_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def _impossible_date(cleaned: str) -> str | None:
    """Why a day/month/year typed in numbers names no day (31/02/2026), or None."""
    if (iso := _ISO_DATE.fullmatch(cleaned)) is not None:
        year, month, day = (int(part) for part in iso.groups())
    elif (found := _NUMERIC_DATE.fullmatch(cleaned)) is not None:
        day, month, year = (int(part) for part in found.groups())
    else:
        return None
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        return f"There is no month {month}: write the day first, then the month."
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    if not 1 <= day <= last:
        return f"{date(year, month, 1):%B %Y} has {last} days, so {cleaned} is not a date."
    return None


def text_answer(text: str | None, *, name: str, required: bool, limit: int = MAX_TEXT) -> str:
    """A typed answer checked by the core's own rules (`escalation.rules.text.check_text`), so that
    what the dialog accepts the core accepts too. `name` is the core's name for the field."""
    value = (text or "").strip()
    if value.lower() in SKIP_WORDS:
        if not required:
            return ""
        # Saved as the answer, 'skip' or 'n/a' would read as what the person said.
        label = name.replace("_", " ").capitalize()
        raise AnswerError(f"{label} is needed: this question cannot be skipped.")
    if not value:
        label = name.replace("_", " ")
        raise AnswerError(
            f"{label.capitalize()} is needed." if required else f"Type {label}, or 'skip'."
        )
    try:
        return check_text(name, value, required=required, limit=limit)
    except Refused as refusal:
        raise AnswerError(refusal.reason) from None


def reference_answer(text: str | None, person: str | None = None) -> str:
    """The case reference of the person at risk (`person`: the pack's word for them), by the
    core's rule: an agency reference, never a name."""
    try:
        if person is None:
            return check_reference(text or "")
        return check_reference(text or "", person)
    except Refused as refusal:
        raise AnswerError(refusal.reason) from None
