"""The round-trip count (testkit.round_trips) of a transaction written after its hints: handed
to the engine whole, counted as Azure makes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.sqlite_engine import SqliteTableStore
from storage.tables import Entity, Op, Request
from testkit.round_trips import CURRENT, CallLog, CountingStore, TurnTrace


def ent(pk: str, rk: str, **props: Any) -> Entity:
    return {"PartitionKey": pk, "RowKey": rk, **props}


FIRST = [
    Request("Hints", [Op.upsert(ent("ana", "c1"))]),
    Request("Hints", [Op.upsert(ent("due", "c1")), Op.upsert(ent("due", "c2"))]),
]


async def test_hints_then_a_transaction_count_as_two_sequential_round_trips(
    tmp_path: Path,
) -> None:
    store = SqliteTableStore(tmp_path / "data")
    counting = CountingStore(store)
    try:
        await store.ensure_tables(["Cases", "Hints"])
        trace = TurnTrace()
        token = CURRENT.set(trace)
        try:
            await counting.transact_after(FIRST, "Cases", [Op.insert(ent("c1", "e1"))])
            assert trace.sequential() == 2
            assert trace.by_kind() == {"upsert Hints": 1, "transact Hints": 1, "transact Cases": 1}
            assert [c.key for c in trace.calls] == ["ana|c1", "due", "c1"]

            await counting.get("Cases", "c1", "e1")  # waits for the save: a third
            assert trace.sequential() == 3
        finally:
            CURRENT.reset(token)
        assert await store.get("Hints", "due", "c2") is not None
        assert await store.get("Cases", "c1", "e1") is not None
    finally:
        await store.close()


async def test_a_transaction_without_hints_counts_as_one(tmp_path: Path) -> None:
    store = SqliteTableStore(tmp_path / "data")
    counting = CountingStore(store)
    try:
        await store.ensure_tables(["Cases"])
        trace = TurnTrace()
        token = CURRENT.set(trace)
        try:
            await counting.transact_after([], "Cases", [Op.insert(ent("c1", "e1"))])
        finally:
            CURRENT.reset(token)
        assert trace.sequential() == 1 and trace.by_kind() == {"transact Cases": 1}
    finally:
        await store.close()


async def test_other_wrappers_see_each_request_then_the_transaction(tmp_path: Path) -> None:
    """A wrapper that watches calls (or stops one, as the crash tests do) sees the hints and
    the transaction as calls of their own, in the order every engine keeps."""
    store = SqliteTableStore(tmp_path / "data")
    log = CallLog(store)
    try:
        await store.ensure_tables(["Cases", "Hints"])
        await log.transact_after(FIRST, "Cases", [Op.insert(ent("c1", "e1"))])
        assert log.calls == [("upsert", "Hints"), ("transact", "Hints"), ("transact", "Cases")]
    finally:
        await store.close()
