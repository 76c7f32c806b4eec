"""The access log on the table store: every view of a case, by whom and when.

Table ``CaseAccess``:

* PartitionKey = the case id (escaped with ``safe_key``), or ``board:<board id>`` for a board's
  report: one case's views are one partition, read in one query and removed with the case.
* RowKey = ``<UTC time to the microsecond>-<random suffix>``: rows sort by time, and two views in
  the same microsecond (two instances) never collide. Rows are only ever inserted.
* Properties: ``subject``, ``who`` (a directory person id, or ``cli:<user>``), ``what`` (card,
  refresh, case, copy, export, report, tab-list, tab), ``view`` (full or copy) and ``at``. No case text.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from escalation.access_log import AccessEntry
from escalation.retry import retry_on_conflict
from storage.cases import safe_key
from storage.tables import (
    PARTITION_KEY,
    ROW_KEY,
    Entity,
    EntityExists,
    Op,
    StorageError,
    TableStore,
    batches,
)

CASE_ACCESS: Final = "CaseAccess"
_ATTEMPTS: Final = 3


def _suffix() -> str:
    return secrets.token_hex(4)


def access_row(at: datetime, suffix: str) -> str:
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}-{suffix}"


def _entity(entry: AccessEntry, suffix: str) -> Entity:
    entity: Entity = {
        PARTITION_KEY: safe_key(entry.subject),
        ROW_KEY: access_row(entry.at, suffix),
        "subject": entry.subject,
        "who": entry.who,
        "what": entry.what,
        "at": entry.at,
    }
    if entry.view:
        entity["view"] = entry.view
    return entity


def _entry(entity: Entity) -> AccessEntry:
    at = entity["at"]
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return AccessEntry(
        subject=str(entity["subject"]),
        who=str(entity["who"]),
        what=str(entity["what"]),
        at=moment.astimezone(UTC),
        view=str(entity.get("view") or ""),
    )


class TableAccessLog:
    """`escalation.ports.AccessLog` on a `TableStore` (Azure Tables or SQLite)."""

    def __init__(
        self,
        store: TableStore,
        *,
        table: str = CASE_ACCESS,
        suffix: Callable[[], str] = _suffix,
    ) -> None:
        self._store = store
        self._table = table
        self._suffix = suffix

    @property
    def table(self) -> str:
        return self._table

    async def ensure_tables(self) -> None:
        await self._store.ensure_tables([self._table])

    async def record(self, entry: AccessEntry) -> None:
        async def attempt(_: int) -> None:
            await self._store.insert(self._table, _entity(entry, self._suffix()))

        # The same microsecond and suffix as another view: draw another suffix.
        await retry_on_conflict(
            attempt,
            attempts=_ATTEMPTS,
            conflicts=(EntityExists,),
            gave_up=lambda: StorageError(
                f"no free row for an access of {entry.subject} at {entry.at}"
            ),
        )

    async def record_all(self, entries: Sequence[AccessEntry]) -> None:
        """One transaction per 100 views of a subject (one partition); if a row collides with
        another view's, the views are recorded one by one, each drawing new suffixes."""
        if len({entry.subject for entry in entries}) > 1:
            raise ValueError("record_all takes the views of one subject")
        for chunk in batches(entries):
            ops = [Op.insert(_entity(entry, self._suffix())) for entry in chunk]
            try:
                await self._store.transact(self._table, ops)
            except EntityExists:
                for entry in chunk:
                    await self.record(entry)

    async def entries(self, subject: str) -> list[AccessEntry]:
        rows = await self._store.query_partition(self._table, safe_key(subject))
        return [_entry(row.entity) for row in rows]

    async def delete_case(self, case_id: str) -> int:
        """Remove every access row of a case (retention: purge calls this with the case).

        Returns the rows removed. One row at a time, as a missing row is no error: a purge
        stopped part-way, or run twice, finishes the job.
        """
        partition = safe_key(case_id)
        rows = await self._store.query_partition(self._table, partition)
        for row in rows:
            await self._store.delete(self._table, partition, str(row.entity[ROW_KEY]))
        return len(rows)
