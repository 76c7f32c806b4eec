"""Trying a change again when it loses a race: read afresh, decide again, write again.

The core and storage both write optimistically (an ETag or a version): a write that finds the
row changed since it was read raises a conflict, and the whole read-decide-write is tried again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def retry_on_conflict(
    attempt: Callable[[int], Awaitable[T]],
    *,
    attempts: int,
    conflicts: tuple[type[Exception], ...],
    gave_up: Callable[[], Exception],
) -> T:
    """`attempt(1)`, then `attempt(2)` and on while it raises one of `conflicts`, at most
    `attempts` times; each attempt reads what it decides on afresh. After the last conflict,
    `gave_up()` is raised (with no conflict attached: the caller's words say what happened)."""
    for number in range(1, attempts + 1):
        try:
            return await attempt(number)
        except conflicts:
            continue
    raise gave_up()
