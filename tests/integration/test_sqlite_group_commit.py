"""The embedded engine's group commit: writes queued together are committed together, and each
fails alone, a transaction with all of its operations."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from storage.sqlite_engine import SqliteTableStore
from storage.tables import (
    ConcurrencyConflict,
    Entity,
    EntityExists,
    EntityNotFound,
    Op,
)

T = TypeVar("T")


def ent(pk: str, rk: str, **props: Any) -> Entity:
    return {"PartitionKey": pk, "RowKey": rk, **props}


@asynccontextmanager
async def queued_together(store: SqliteTableStore) -> AsyncIterator[list[asyncio.Future[Any]]]:
    """Writes started in the block wait behind a write that waits for another connection's
    write lock, so they reach the database thread as one group; they are released, and
    awaited, as the block ends (the results in the list, errors included)."""
    holder = sqlite3.connect(store.path, isolation_level=None)
    started: list[asyncio.Future[Any]] = []
    try:
        holder.execute("BEGIN IMMEDIATE")
        ahead = asyncio.ensure_future(store.upsert("cases", ent("ahead", "1")))
        await asyncio.sleep(0.1)  # the database thread now waits for the lock with it alone
        yield started
        await asyncio.sleep(0.05)  # every write in the block has been queued
        holder.execute("ROLLBACK")
        await asyncio.wait_for(ahead, timeout=10)
        await asyncio.wait_for(asyncio.gather(*started, return_exceptions=True), timeout=10)
    finally:
        holder.close()


def start(group: list[asyncio.Future[Any]], write: Awaitable[T]) -> asyncio.Future[T]:
    future = asyncio.ensure_future(write)
    group.append(future)
    return future


def outcome(future: asyncio.Future[Any]) -> object:
    error = future.exception()
    return type(error) if error is not None else "ok"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteTableStore]:
    opened = SqliteTableStore(tmp_path)
    await opened.ensure_tables(["cases"])
    yield opened
    await opened.close()


async def test_single_writes_and_transactions_queued_together_each_fail_alone(
    store: SqliteTableStore,
) -> None:
    stale = await store.insert("cases", ent("c", "state", stage=1))
    current = await store.update("cases", ent("c", "state", stage=2), stale)
    await store.insert("cases", ent("c", "taken"))
    commits = store.commits

    async with queued_together(store) as group:
        upsert = start(group, store.upsert("cases", ent("c", "a", n=1)))
        lost_race = start(group, store.update("cases", ent("c", "state", stage=99), stale))
        taken = start(group, store.insert("cases", ent("c", "taken", n=2)))
        inserted = start(group, store.insert("cases", ent("c", "b", n=2)))
        half_done = start(
            group,
            store.transact(
                "cases",
                [Op.insert(ent("c", "d", n=3)), Op.update(ent("c", "missing", n=3), "*")],
            ),
        )
        whole = start(
            group,
            store.transact("cases", [Op.insert(ent("c", "e")), Op.insert(ent("c", "f"))]),
        )
        one_op = start(group, store.transact("cases", [Op.insert(ent("c", "g"))]))
        won = start(group, store.update("cases", ent("c", "state", stage=3), current))

    # The write ahead alone, then the eight queued behind it in one transaction.
    assert store.commits - commits == 2
    assert [outcome(f) for f in (lost_race, taken, half_done)] == [
        ConcurrencyConflict,
        EntityExists,
        EntityNotFound,
    ]
    assert [outcome(f) for f in (upsert, inserted, whole, one_op, won)] == ["ok"] * 5
    kept = {s.entity["RowKey"]: s for s in await store.query_partition("cases", "c")}
    # The failed transaction's first insert went with it; nothing failed changed anything.
    assert sorted(kept) == ["a", "b", "e", "f", "g", "state", "taken"]
    assert kept["state"].entity["stage"] == 3 and kept["state"].etag == won.result()
    assert "n" not in kept["taken"].entity
