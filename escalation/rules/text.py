"""Free text as the rules accept it: stripped, within its limit, no control characters.

Public so that the raise dialog can check each answer as it is given, with these same rules.
"""

from __future__ import annotations

import re

from escalation.errors import RefusalCode
from escalation.policy import Wording
from escalation.rules.context import refuse

MAX_TEXT = 4000
MAX_REFERENCE = 64

# Control characters other than tab, line feed and carriage return (below U+0020).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_text(name: str, value: str, *, required: bool, limit: int = MAX_TEXT) -> str:
    """A free-text answer as the rules accept it (stripped), or `Refused` with the reason."""
    value = (value or "").strip()
    if required and not value:
        raise refuse(RefusalCode.INVALID_INPUT, f"{_label(name)} is required.")
    if len(value) > limit:
        raise refuse(
            RefusalCode.INVALID_INPUT,
            f"{_label(name)} is too long ({len(value)} characters; at most {limit}).",
        )
    if _CONTROL.search(value) is not None:
        raise refuse(RefusalCode.INVALID_INPUT, f"{_label(name)} contains control characters.")
    return value


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def check_reference(value: str, person: str = Wording().person) -> str:
    """The case reference at the raiser's agency of the person at risk (`person`, the pack's
    word for them): never their name (data minimisation), so it must hold a digit, as agency
    case references do."""
    reference = check_text(f"{person}'s case reference", value, required=True, limit=MAX_REFERENCE)
    if not any(ch in "0123456789" for ch in reference):
        raise refuse(
            RefusalCode.INVALID_INPUT,
            f"Give your agency's case reference for the {person} (for example ASC-104233), not "
            f"the {person}'s name: a case reference has at least one digit.",
        )
    return reference
