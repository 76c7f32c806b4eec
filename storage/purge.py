"""Retention: remove closed cases past their pack's retention period, with every index row that
names them, and the bot state of conversations left idle (`escalation purge`).

A case is kept for its pack's ``retention.closed_case_years`` after it closed. Dialog state is
kept while a conversation is in use and removed once nothing has been written to it for
``idle_days`` (default 30): an abandoned raise holds free text about the risk to an adult.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from escalation.case import CaseStatus
from escalation.packs import PackRegistry
from storage.bot_state import IdleStateReport, remove_idle_state
from storage.stores import Storage

DEFAULT_IDLE_DAYS: Final = 30


def retention_ends(closed_at: datetime, years: int) -> datetime:
    try:
        return closed_at.replace(year=closed_at.year + years)
    except ValueError:  # 29 February in a year that has none
        return closed_at.replace(year=closed_at.year + years, day=28)


@dataclass(frozen=True)
class ExpiredCase:
    case_id: str
    board_id: str
    closed_at: datetime
    years: int
    ended: datetime
    rows: int = 0  # rows removed from the case's partition (none in a dry run)


@dataclass(frozen=True)
class PurgeReport:
    cases: tuple[ExpiredCase, ...]
    dialog_state: IdleStateReport
    idle_before: datetime


async def expired_cases(
    storage: Storage, packs: PackRegistry, now: datetime, board: str | None = None
) -> list[ExpiredCase]:
    """Closed cases whose retention period has ended by ``now``."""
    expired = []
    for board_id in [board] if board else packs.board_ids():
        years = packs.get(board_id).retention.closed_case_years
        for case_id in await storage.cases.case_ids(board_id):
            summary = await storage.cases.summary(case_id)
            if summary is None or summary.status != CaseStatus.CLOSED or summary.closed_at is None:
                continue
            ended = retention_ends(summary.closed_at, years)
            if ended <= now:
                expired.append(ExpiredCase(case_id, board_id, summary.closed_at, years, ended))
    return expired


async def purge(
    storage: Storage,
    packs: PackRegistry,
    *,
    now: datetime,
    board: str | None = None,
    idle_days: int = DEFAULT_IDLE_DAYS,
    dry_run: bool = False,
) -> PurgeReport:
    """Remove (or, in a dry run, list) what retention no longer allows to be kept."""
    if idle_days < 1:
        raise ValueError(f"idle days must be at least 1, not {idle_days}")
    cases = await expired_cases(storage, packs, now, board)
    if not dry_run:
        cases = [
            ExpiredCase(
                c.case_id,
                c.board_id,
                c.closed_at,
                c.years,
                c.ended,
                # Who saw the case goes first: the case itself is how a rerun finds the rest.
                await storage.access_log.delete_case(c.case_id)
                + await storage.cases.delete_case(c.case_id, c.board_id),
            )
            for c in cases
        ]
    idle_before = now - timedelta(days=idle_days)
    state = await remove_idle_state(
        storage.store, storage.tables.bot_state, idle_before=idle_before, now=now, dry_run=dry_run
    )
    return PurgeReport(tuple(cases), state, idle_before)
