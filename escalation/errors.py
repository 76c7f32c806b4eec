"""Why a command was refused. A refusal changes nothing."""

from __future__ import annotations

from enum import StrEnum


class RefusalCode(StrEnum):
    NOT_FOUND = "not_found"
    NOT_PERMITTED = "not_permitted"
    INVALID_STATE = "invalid_state"
    INVALID_INPUT = "invalid_input"
    STALE = "stale"
    CLOCK = "clock"
    OWN_MANAGER = "own_manager"
    CONFLICT = "conflict"


class Refused(Exception):
    """A command the policy or the case's state does not allow, with a reason a person can read."""

    def __init__(
        self,
        code: RefusalCode,
        reason: str,
        *,
        clauses: tuple[str, ...] = (),
        signpost: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.clauses = clauses
        self.signpost = signpost
        # The case as it stood when a command on it was refused (set by the service), so that
        # a caller can show it without reading it again.
        self.case: object | None = None


class ConcurrencyConflict(Exception):
    """Another change to the same case was saved first."""
