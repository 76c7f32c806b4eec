"""Reading free-text answers: dates that make sense, texts within limits. Pure functions."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

MAX_TEXT = 4000
MAX_REFERENCE = 64
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
    for fmt in _FORMATS:
        try:
            day = datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
        if day > today:
            raise AnswerError(f"{day:%d %B %Y} is in the future. When did the disagreement arise?")
        if day < today - timedelta(days=oldest_days):
            raise AnswerError(
                f"{day:%d %B %Y} is more than a year ago. Check the date, or ask your "
                "safeguarding lead how to raise a concern this old."
            )
        return day
    raise AnswerError("I could not read that date. Try 'today', 'yesterday' or 24/12/2026.")


def text_answer(text: str | None, *, label: str, required: bool, limit: int = MAX_TEXT) -> str:
    value = (text or "").strip()
    if not required and value.lower() in SKIP_WORDS:
        return ""
    if not value:
        raise AnswerError(
            f"{label} is needed." if required else f"Type {label.lower()}, or 'skip'."
        )
    if len(value) > limit:
        raise AnswerError(
            f"That is {len(value)} characters; {label.lower()} can be at most {limit}."
        )
    return value


def reference_answer(text: str | None) -> str:
    value = text_answer(text, label="The case reference", required=True, limit=MAX_REFERENCE)
    if re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", value) and not re.search(r"\d", value):
        # Looks like a name, which this record must not hold (data minimisation).
        raise AnswerError(
            "Give your agency's case reference (for example ASC-104233), not the adult's name."
        )
    return value
