"""Who has seen a case: every view, by whom and when, so a board can answer for it.

The port (`escalation.ports.AccessLog`) is kept by storage; the bot and the command line write to it whenever they
show a case (a card shown or refreshed, `case ID`, the copy, an export, the Teams tabs) and the
board report. A
failure to write is logged and never costs the person the answer they asked for
(`record_access`). The log names ids only: never case text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the port names AccessEntry, so it is imported only to annotate
    from escalation.ports import AccessLog

log = logging.getLogger("escalation.access")


class Seen(StrEnum):
    """What was shown."""

    CARD = "card"  # a case card in chat: after raising it, after acting on it
    REFRESH = "refresh"  # a case card refreshed on sight, or opened from a reminder
    CASE = "case"  # `case ID` in chat
    COPY = "copy"  # the board's read-only copy
    EXPORT = "export"  # the whole case record, exported
    REPORT = "report"  # a board's report (aggregate; logged under the board), or its tab
    TAB_LIST = "tab-list"  # a line for the case in the Teams tab "My cases"
    TAB = "tab"  # the case opened in that tab, with its timeline


@dataclass(frozen=True)
class AccessEntry:
    subject: str  # a case id, or `board_subject(board id)` for a board report
    who: str  # a directory person id; "cli:<user>" on the command line
    what: str  # a `Seen` value
    at: datetime  # timezone-aware
    view: str = ""  # "full" or "copy" where a case was shown

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("an access is recorded at a timezone-aware time")
        if not self.subject or not self.who or not self.what:
            raise ValueError("an access names what was seen, by whom and how")


def board_subject(board_id: str) -> str:
    """Where a board's report views are logged: not under any one case."""
    return f"board:{board_id}"


def cli_actor(user: str) -> str:
    return f"cli:{user or 'unknown'}"


async def record_access(access_log: AccessLog, entry: AccessEntry) -> bool:
    """Log a view. A failure is logged (ids only) and does not reach the person's answer."""
    try:
        await access_log.record(entry)
    except Exception as exc:  # whatever storage raised: the answer still goes out
        log.warning(
            "access log: a %s of %s was not recorded (%s)",
            entry.what,
            entry.subject,
            type(exc).__name__,
        )
        return False
    return True


async def record_accesses(access_log: AccessLog, entries: Sequence[AccessEntry]) -> None:
    """Log several views, a write per subject; as `record_access`, a failure is logged only."""
    by_subject: dict[str, list[AccessEntry]] = {}
    for entry in entries:
        by_subject.setdefault(entry.subject, []).append(entry)
    for subject, views in by_subject.items():
        try:
            await access_log.record_all(views)
        except Exception as exc:  # whatever storage raised: the views were already shown
            log.warning(
                "access log: %d view(s) of %s were not recorded (%s)",
                len(views),
                subject,
                type(exc).__name__,
            )


def access_lines(
    entries: Sequence[AccessEntry], tz: tzinfo, name: Callable[[str], str | None]
) -> list[str]:
    """One line a view, oldest first, in the board's local time: when, who, what."""
    lines = []
    for entry in sorted(entries, key=lambda e: e.at):
        known = name(entry.who)
        who = f"{known} ({entry.who})" if known and known != entry.who else entry.who
        view = f", {entry.view} view" if entry.view else ""
        when = entry.at.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z")
        lines.append(f"{when}  {who}  {entry.what}{view}")
    return lines


class InMemoryAccessLog:
    """The port in memory, for tests of the core and the bot."""

    def __init__(self) -> None:
        self.recorded: list[AccessEntry] = []
        self.fail = False  # set to make every write fail, as storage might

    async def record(self, entry: AccessEntry) -> None:
        if self.fail:
            raise OSError("the access log cannot be written")
        self.recorded.append(entry)

    async def record_all(self, entries: Sequence[AccessEntry]) -> None:
        if self.fail:
            raise OSError("the access log cannot be written")
        self.recorded.extend(entries)

    async def entries(self, subject: str) -> list[AccessEntry]:
        return sorted((e for e in self.recorded if e.subject == subject), key=lambda e: e.at)
