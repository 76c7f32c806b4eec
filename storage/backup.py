"""Backup and restore of every table the app keeps, as JSON lines with typed values.

Azure Table Storage has no restore of its own for tables; a board keeps this file (special
category data: store it as securely as the account) and can rebuild a store from it, on the same
engine or the other one. One line per entity: {"table": name, "entity": {property: [type, value]}}, the table named
without the deployment's prefix.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import groupby
from typing import Any, TextIO

from storage.cases import TableNames
from storage.tables import PARTITION_KEY, Entity, Op, TableStore, batches


def backed_up_tables(tables: TableNames) -> list[str]:
    # The scheduler's lease is not data: a restored store starts without one.
    return [
        *tables.all(),
        tables.directory,
        tables.conversations,
        tables.bot_state,
        tables.access_log,
    ]


def _encode(value: object) -> list[object]:
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", value]
    if isinstance(value, float):
        return ["float", value]
    if isinstance(value, datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, bytes):
        return ["bytes", base64.b64encode(value).decode("ascii")]
    if isinstance(value, str):
        return ["str", value]
    raise TypeError(f"cannot back up a {type(value).__name__}")


def _decode(tagged: list[Any]) -> object:
    kind, value = tagged
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind in ("bool", "int", "float", "str"):
        return value
    raise ValueError(f"unknown value type {kind!r} in the backup")


async def backup(store: TableStore, tables: TableNames, out: TextIO) -> dict[str, int]:
    """Write every entity of every table; returns how many per table."""
    counts: dict[str, int] = {}
    await store.ensure_tables(backed_up_tables(tables))
    for table in backed_up_tables(tables):
        rows = await store.query_range(table, None, None)
        for row in rows:
            entity = {k: _encode(v) for k, v in row.entity.items()}
            # The table's name without the deployment's prefix: a backup restores under any prefix.
            name = table.removeprefix(tables.prefix)
            out.write(json.dumps({"table": name, "entity": entity}, ensure_ascii=False) + "\n")
        counts[table] = len(rows)
    return counts


def read_backup(lines: Iterable[str]) -> Iterator[tuple[str, Entity]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            entity = {k: _decode(v) for k, v in record["entity"].items()}
            yield str(record["table"]), entity
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"line {number} of the backup is not an entity: {exc}") from None


async def restore(store: TableStore, tables: TableNames, lines: Iterable[str]) -> dict[str, int]:
    """Put every entity back (upserts, a partition at a time); returns how many per table."""
    records = [
        (tables.prefix + name, entity) for name, entity in read_backup(lines)
    ]  # all checked first
    known = set(backed_up_tables(tables))
    unknown = sorted({t for t, _ in records} - known)
    if unknown:
        raise ValueError(f"the backup holds tables this deployment does not use: {unknown}")
    await store.ensure_tables(known)
    counts: dict[str, int] = {}
    records.sort(key=lambda r: (r[0], str(r[1][PARTITION_KEY])))
    for (table, _), group in groupby(records, key=lambda r: (r[0], str(r[1][PARTITION_KEY]))):
        entities = [entity for _, entity in group]
        for batch in batches(entities):
            await store.transact(table, [Op.upsert(e) for e in batch])
        counts[table] = counts.get(table, 0) + len(entities)
    return counts
