"""Reading a typed answer to a question with choices. Pure functions.

A choice is an (id, title) pair. A typed answer picks the choice whose whole title or id it is,
the choice at its number in the list, or the one choice whose title holds every word typed
("NELFT", "police"); where several would fit, it picks none and says which.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

YES_WORDS = frozenset({"yes", "y", "yeah", "yep", "correct", "right", "that's right", "ok"})
NO_WORDS = frozenset({"no", "n", "nope", "wrong", "not them"})
# Spaces, end punctuation and quotes (straight and curly) around an answer.
_TRIM = " .!?'\"\u201c\u201d\u2018\u2019"


def normal(text: str) -> str:
    """Lower case, single spaces, without the full stop or quotes a person may add."""
    return " ".join(text.casefold().split()).strip(_TRIM)


def number(text: str, count: int) -> int | None:
    """The list position (0-based) of a typed number such as '2' or '2.', if in range."""
    found = re.fullmatch(r"#?\s*(\d{1,3})", normal(text))
    if found is None:
        return None
    index = int(found.group(1)) - 1
    return index if 0 <= index < count else None


def is_yes(text: str) -> bool:
    return normal(text) in YES_WORDS


def is_no(text: str) -> bool:
    return normal(text) in NO_WORDS


@dataclass(frozen=True)
class Match:
    """The id a typed answer picks, or the titles it could mean (none when nothing fits)."""

    chosen: str | None = None
    could_be: tuple[str, ...] = ()


def match_choice(typed: str, choices: Sequence[tuple[str, str]]) -> Match:
    said = normal(typed)
    if not said:
        return Match()
    for choice_id, title in choices:
        if said in (normal(title), normal(choice_id)):
            return Match(choice_id)
    position = number(typed, len(choices))
    if position is not None:
        return Match(choices[position][0])
    words = said.split()
    fits = [(cid, title) for cid, title in choices if all(w in normal(title) for w in words)]
    if len(fits) == 1:
        return Match(fits[0][0])
    return Match(could_be=tuple(title for _, title in fits))
