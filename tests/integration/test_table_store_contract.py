"""The TableStore contract, run against both engines (SQLite and Azure via Azurite).

Whatever passes here for one engine must pass for the other: that is what lets a laptop stand in
for production.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from storage.azure_engine import AzureTableStore
from storage.factory import open_table_store
from storage.sqlite_engine import ON_LOOP_ROWS, SqliteTableStore
from storage.tables import (
    MAX_KEY_UTF16,
    MAX_PROPERTIES,
    MAX_STRING_UTF16,
    ConcurrencyConflict,
    Entity,
    EntityExists,
    EntityNotFound,
    Op,
    Request,
    StorageError,
    StorageUnavailable,
    TableNotFound,
    TableStore,
    join_text,
    split_text,
)
from testkit.azurite import unique_table_name
from testkit.people import ROOT as REPO_ROOT


def ent(pk: str, rk: str, **props: Any) -> Entity:
    return {"PartitionKey": pk, "RowKey": rk, **props}


async def rows(store: TableStore, table: str, pk: str, **kwargs: Any) -> list[str]:
    return [s.entity["RowKey"] for s in await store.query_partition(table, pk, **kwargs)]


# --- reads and writes --------------------------------------------------------------------------


async def test_point_read_returns_entity_and_etag(store: TableStore, table: str) -> None:
    etag = await store.upsert(table, ent("p", "r", name="Adele", visits=3))

    found = await store.get(table, "p", "r")

    assert found is not None
    assert found.entity == ent("p", "r", name="Adele", visits=3)
    assert found.etag == etag and etag
    assert await store.get(table, "p", "other") is None
    assert await store.get(table, "other", "r") is None


async def test_a_read_right_after_a_write_sees_it(store: TableStore, table: str) -> None:
    assert await store.get(table, "p", "r") is None
    for v in range(5):
        etag = await store.upsert(table, ent("p", "r", v=v))
        found = await store.get(table, "p", "r")
        assert found is not None and (found.entity["v"], found.etag) == (v, etag)
    await store.delete(table, "p", "r")
    assert await store.get(table, "p", "r") is None


async def test_upsert_replaces_the_whole_entity_with_a_new_etag(
    store: TableStore, table: str
) -> None:
    first = await store.upsert(table, ent("p", "r", a="one", b="two"))
    second = await store.upsert(table, ent("p", "r", a="three"))

    found = await store.get(table, "p", "r")
    assert found is not None
    assert found.entity == ent("p", "r", a="three")
    assert second != first
    assert found.etag == second


async def test_insert_refuses_an_existing_entity_and_keeps_it(
    store: TableStore, table: str
) -> None:
    etag = await store.insert(table, ent("p", "r", v="original"))

    with pytest.raises(EntityExists):
        await store.insert(table, ent("p", "r", v="intruder"))

    found = await store.get(table, "p", "r")
    assert found is not None
    assert (found.entity["v"], found.etag) == ("original", etag)


async def test_update_with_a_stale_etag_fails_and_changes_nothing(
    store: TableStore, table: str
) -> None:
    stale = await store.insert(table, ent("p", "r", v=1))
    current = await store.update(table, ent("p", "r", v=2), stale)
    assert current != stale

    with pytest.raises(ConcurrencyConflict):
        await store.update(table, ent("p", "r", v=99), stale)

    found = await store.get(table, "p", "r")
    assert found is not None
    assert (found.entity["v"], found.etag) == (2, current)


async def test_update_needs_the_entity_and_accepts_a_wildcard_etag(
    store: TableStore, table: str
) -> None:
    with pytest.raises(EntityNotFound):
        await store.update(table, ent("p", "missing", v=1), 'W/"1"')
    with pytest.raises(EntityNotFound):
        await store.update(table, ent("p", "missing", v=1), "*")
    assert await store.get(table, "p", "missing") is None

    await store.insert(table, ent("p", "r", v=1))
    etag = await store.update(table, ent("p", "r", v=2), "*")
    found = await store.get(table, "p", "r")
    assert found is not None
    assert (found.entity["v"], found.etag) == (2, etag)


async def test_delete_honours_the_etag_and_ignores_missing_entities(
    store: TableStore, table: str
) -> None:
    stale = await store.insert(table, ent("p", "r", v=1))
    current = await store.upsert(table, ent("p", "r", v=2))

    with pytest.raises(ConcurrencyConflict):
        await store.delete(table, "p", "r", stale)
    assert await store.get(table, "p", "r") is not None

    await store.delete(table, "p", "r", current)
    assert await store.get(table, "p", "r") is None

    await store.delete(table, "p", "r")  # already gone: nothing to do
    await store.delete(table, "p", "r", current)
    await store.insert(table, ent("p", "r2"))
    await store.delete(table, "p", "r2")
    assert await store.get(table, "p", "r2") is None


async def test_two_concurrent_updates_with_one_etag_exactly_one_wins(
    store: TableStore, table: str
) -> None:
    etag = await store.insert(table, ent("case", "1", owner="nobody"))

    results = await asyncio.gather(
        *(store.update(table, ent("case", "1", owner=f"worker{i}"), etag) for i in range(5)),
        return_exceptions=True,
    )

    winners = [i for i, result in enumerate(results) if isinstance(result, str)]
    losers = [result for result in results if not isinstance(result, str)]
    assert len(winners) == 1, results
    assert all(isinstance(loser, ConcurrencyConflict) for loser in losers), results
    found = await store.get(table, "case", "1")
    assert found is not None
    assert found.entity["owner"] == f"worker{winners[0]}"
    assert found.etag == results[winners[0]]


# --- queries -----------------------------------------------------------------------------------


async def test_query_partition_orders_by_row_key_and_honours_ranges(
    store: TableStore, table: str
) -> None:
    for rk in ["c", "a", "e", "b", "d"]:
        await store.upsert(table, ent("p", rk, n=rk))
    # Neighbouring partitions, one a prefix of "p", must never leak in.
    await store.upsert(table, ent("p2", "a"))
    await store.upsert(table, ent("o", "z"))

    assert await rows(store, table, "p") == ["a", "b", "c", "d", "e"]
    assert await rows(store, table, "p", rk_from="b", rk_to="d") == ["b", "c"]
    assert await rows(store, table, "p", rk_from="b") == ["b", "c", "d", "e"]
    assert await rows(store, table, "p", rk_to="c") == ["a", "b"]
    assert await rows(store, table, "p", rk_from="bb", rk_to="cc") == ["c"]
    assert await rows(store, table, "p", rk_from="d", rk_to="b") == []
    assert await rows(store, table, "p", limit=2) == ["a", "b"]
    assert await rows(store, table, "p", rk_from="c", limit=10) == ["c", "d", "e"]
    assert await rows(store, table, "nobody") == []
    (first,) = await store.query_partition(table, "p", limit=1)
    assert first.entity == ent("p", "a", n="a")
    again = await store.get(table, "p", "a")
    assert again is not None and first.etag == again.etag


async def test_keys_sort_by_utf16_code_unit_as_in_azure(store: TableStore, table: str) -> None:
    # U+1F600 is stored as the surrogates D83D DE00, so it sorts before U+FF01 in UTF-16,
    # though after it by code point.
    for rk in ["\uff01", "\U0001f600", "B", "a"]:
        await store.upsert(table, ent("p", rk))
        await store.upsert(table, ent(rk, "x"))

    assert await rows(store, table, "p") == ["B", "a", "\U0001f600", "\uff01"]
    by_pk = await store.query_range(table, "B", "\uffff")
    expected = ["B", "a", "p", "p", "p", "p", "\U0001f600", "\uff01"]
    assert [s.entity["PartitionKey"] for s in by_pk] == expected


async def test_query_range_orders_by_partition_then_row(store: TableStore, table: str) -> None:
    due = {
        "due-2025-03-03": ["case-9", "case-1"],
        "due-2025-03-01": ["case-5"],
        "due-2025-03-02": ["case-2", "case-7", "case-3"],
        "due-2025-04-01": ["case-4"],
        "other": ["x"],
    }
    for pk, rks in due.items():
        for rk in rks:
            await store.upsert(table, ent(pk, rk, due=pk))

    async def keys(*args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        found = await store.query_range(table, *args, **kwargs)
        return [(s.entity["PartitionKey"], s.entity["RowKey"]) for s in found]

    march = [
        ("due-2025-03-01", "case-5"),
        ("due-2025-03-02", "case-2"),
        ("due-2025-03-02", "case-3"),
        ("due-2025-03-02", "case-7"),
        ("due-2025-03-03", "case-1"),
        ("due-2025-03-03", "case-9"),
    ]
    assert await keys("due-2025-03-01", "due-2025-04-01") == march
    assert await keys("due-2025-03-01", "due-2025-04-01", limit=3) == march[:3]
    assert await keys("due-2025-03-02", "due-2025-03-03") == march[1:4]
    assert await keys(None, "due-2025-03-02") == march[:1]
    assert await keys("due-2025-04", None) == [("due-2025-04-01", "case-4"), ("other", "x")]
    assert len(await keys(None, None)) == 8
    assert await keys("due-2025-05", "due-2025-06") == []


async def test_queries_follow_continuations_past_one_page(store: TableStore, table: str) -> None:
    # Azure returns at most 1,000 entities per response; the rest come by continuation token.
    for start in range(0, 1100, 100):
        await store.transact(
            table, [Op.insert(ent("p", f"{i:05d}")) for i in range(start, start + 100)]
        )

    everything = await rows(store, table, "p")
    assert everything == [f"{i:05d}" for i in range(1100)]
    assert await rows(store, table, "p", limit=1050) == everything[:1050]
    assert len(await store.query_range(table, "p", "q", limit=1001)) == 1001


# --- transactions ------------------------------------------------------------------------------


async def test_a_transaction_of_exactly_100_operations_succeeds(
    store: TableStore, table: str
) -> None:
    etags = await store.transact(table, [Op.insert(ent("p", f"r{i:03d}", i=i)) for i in range(100)])

    assert len(etags) == 100 and all(etags)
    found = await store.query_partition(table, "p")
    assert [s.entity["i"] for s in found] == list(range(100))
    assert [s.etag for s in found] == etags


async def test_a_transaction_mixes_all_four_kinds(store: TableStore, table: str) -> None:
    old = await store.insert(table, ent("p", "update-me", v=1))
    await store.insert(table, ent("p", "overwrite-me", v=1))
    await store.insert(table, ent("p", "delete-me"))
    await store.insert(table, ent("p", "delete-me-too"))
    delete_me_too = await store.get(table, "p", "delete-me-too")
    assert delete_me_too is not None
    delete_etag = delete_me_too.etag

    etags = await store.transact(
        table,
        [
            Op.insert(ent("p", "new", v=1)),
            Op.upsert(ent("p", "upserted", v=2)),
            Op.update(ent("p", "update-me", v=3), old),
            Op.delete("p", "delete-me"),
            Op.delete("p", "delete-me-too", delete_etag),
            Op.update(ent("p", "overwrite-me", v=4), "*"),
        ],
    )

    assert [bool(e) for e in etags] == [True, True, True, False, False, True]
    assert await rows(store, table, "p") == ["new", "overwrite-me", "update-me", "upserted"]
    updated = await store.get(table, "p", "update-me")
    assert updated is not None
    assert (updated.entity["v"], updated.etag) == (3, etags[2])
    overwritten = await store.get(table, "p", "overwrite-me")
    assert overwritten is not None and overwritten.entity["v"] == 4


async def test_an_empty_transaction_does_nothing(store: TableStore, table: str) -> None:
    assert await store.transact(table, []) == []


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param([Op.insert(ent("p", f"r{i:03d}")) for i in range(101)], id="101-ops"),
        pytest.param([Op.insert(ent("p", "a")), Op.insert(ent("q", "b"))], id="two-partitions"),
        pytest.param([Op.insert(ent("p", "a")), Op.upsert(ent("p", "a"))], id="same-row-twice"),
        pytest.param([Op.insert(ent("p", "a")), Op.insert(ent("p", "b/c"))], id="bad-key"),
        pytest.param(
            [Op.upsert(ent("p", f"r{i}", **split_text("t", "x" * 200_000))) for i in range(25)],
            id="over-4-MiB",
        ),
    ],
)
async def test_malformed_transactions_are_refused_before_reaching_storage(
    store: TableStore, table: str, ops: list[Op]
) -> None:
    with pytest.raises(ValueError):
        await store.transact(table, ops)
    assert await store.query_range(table, None, None) == []

    # Against a table that does not exist: storage would have said TableNotFound.
    with pytest.raises(ValueError):
        await store.transact(unique_table_name(), ops)


def _failing_op(kind: str, stale_etag: str) -> Op:
    return {
        "insert-existing": Op.insert(ent("p", "existing", v="clobbered")),
        "stale-update": Op.update(ent("p", "existing", v="clobbered"), stale_etag),
        "stale-delete": Op.delete("p", "existing", stale_etag),
        "update-missing": Op.update(ent("p", "missing", v=1), stale_etag),
        "delete-missing": Op.delete("p", "missing"),
    }[kind]


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("insert-existing", EntityExists),
        ("stale-update", ConcurrencyConflict),
        ("stale-delete", ConcurrencyConflict),
        ("update-missing", EntityNotFound),
        ("delete-missing", EntityNotFound),
    ],
)
async def test_one_failing_operation_fails_the_whole_transaction(
    store: TableStore, table: str, kind: str, error: type[StorageError]
) -> None:
    stale = await store.insert(table, ent("p", "existing", v="v1"))
    current = await store.upsert(table, ent("p", "existing", v="v2"))
    await store.insert(table, ent("p", "other", v="before"))

    with pytest.raises(error):
        await store.transact(
            table,
            [
                Op.insert(ent("p", "fresh")),
                Op.upsert(ent("p", "other", v="after")),
                _failing_op(kind, stale),
                Op.upsert(ent("p", "zzz")),
            ],
        )

    assert await rows(store, table, "p") == ["existing", "other"]
    existing = await store.get(table, "p", "existing")
    other = await store.get(table, "p", "other")
    assert existing is not None and other is not None
    assert (existing.entity["v"], existing.etag) == ("v2", current)
    assert other.entity["v"] == "before"


# --- a transaction after the requests it waits for (the hints a change writes first) ---------


async def test_a_transaction_after_its_hints_stores_both(store: TableStore, table: str) -> None:
    hints = unique_table_name()
    await store.ensure_tables([hints])
    first = [
        Request(hints, [Op.upsert(ent("one", "c1"))]),  # sent alone, as an upsert
        Request(hints, [Op.upsert(ent("many", f"c{i}")) for i in range(3)]),  # as a batch
        Request(hints, []),  # nothing to send
    ]
    etags = await store.transact_after(
        first, table, [Op.insert(ent("c1", "e1")), Op.upsert(ent("c1", "state", v=1))]
    )

    assert len(etags) == 2 and all(etags)
    assert await rows(store, hints, "one") == ["c1"]
    assert await rows(store, hints, "many") == ["c0", "c1", "c2"]
    assert await rows(store, table, "c1") == ["e1", "state"]


async def test_a_transaction_whose_hints_fail_is_never_stored(
    store: TableStore, table: str
) -> None:
    hints = unique_table_name()
    await store.ensure_tables([hints])
    await store.insert(hints, ent("h", "taken"))

    with pytest.raises(EntityExists):
        await store.transact_after(
            [Request(hints, [Op.insert(ent("h", "taken")), Op.upsert(ent("h", "new"))])],
            table,
            [Op.insert(ent("c1", "e1"))],
        )

    assert await rows(store, table, "c1") == []
    assert await rows(store, hints, "h") == ["taken"]


async def test_a_transaction_after_its_hints_fails_as_a_transaction_does(
    store: TableStore, table: str
) -> None:
    hints = unique_table_name()
    await store.ensure_tables([hints])
    await store.insert(table, ent("c1", "e1", v="first"))

    with pytest.raises(EntityExists):
        await store.transact_after(
            [Request(hints, [Op.upsert(ent("h", "c1"))])],
            table,
            [Op.insert(ent("c1", "e1", v="second")), Op.upsert(ent("c1", "state"))],
        )

    assert await rows(store, table, "c1") == ["e1"]
    found = await store.get(table, "c1", "e1")
    assert found is not None and found.entity["v"] == "first"


async def test_a_malformed_transaction_after_hints_changes_nothing(
    store: TableStore, table: str
) -> None:
    hints = unique_table_name()
    await store.ensure_tables([hints])

    with pytest.raises(ValueError):
        await store.transact_after(
            [Request(hints, [Op.upsert(ent("h", "c1"))])],
            table,
            [Op.insert(ent("c1", "e1")), Op.insert(ent("other-partition", "e2"))],
        )

    assert await rows(store, hints, "h") == []
    assert await rows(store, table, "c1") == []


async def test_sqlite_stores_a_transaction_and_its_hints_together_or_not_at_all(
    tmp_path: Path,
) -> None:
    """The embedded engine writes both in one savepoint of one commit (the change waits for
    one commit, not two), so a transaction that loses takes its hints with it."""
    store = SqliteTableStore(tmp_path / "data")
    try:
        await store.ensure_tables(["Cases", "Hints"])
        await store.insert("Cases", ent("c1", "e1"))
        with pytest.raises(EntityExists):
            await store.transact_after(
                [Request("Hints", [Op.upsert(ent("h", "c1"))])],
                "Cases",
                [Op.insert(ent("c1", "e1"))],
            )
        assert await rows(store, "Hints", "h") == []
    finally:
        await store.close()


# --- tables ------------------------------------------------------------------------------------


async def test_a_table_that_was_never_created_is_reported(store: TableStore) -> None:
    missing = unique_table_name()
    with pytest.raises(TableNotFound):
        await store.get(missing, "p", "r")
    with pytest.raises(TableNotFound):
        await store.upsert(missing, ent("p", "r"))
    with pytest.raises(TableNotFound):
        await store.query_partition(missing, "p")
    with pytest.raises(TableNotFound):
        await store.transact(missing, [Op.upsert(ent("p", "r"))])
    await store.delete(missing, "p", "r")  # as the Azure SDK does: nothing to delete


async def test_table_names_are_validated_and_case_insensitive(store: TableStore) -> None:
    name = unique_table_name()
    await store.ensure_tables([name.upper()])
    await store.ensure_tables([name, name.upper()])  # idempotent
    await store.upsert(name.upper(), ent("p", "r", v=1))
    found = await store.get(name, "p", "r")
    assert found is not None and found.entity["v"] == 1

    for bad in ["ab", "1abc", "has-dash", "a" * 64, "tables", ""]:
        with pytest.raises(ValueError, match="table name"):
            await store.ensure_tables([bad])
        with pytest.raises(ValueError, match="table name"):
            await store.get(bad, "p", "r")


async def test_ping_answers_when_storage_is_healthy(store: TableStore) -> None:
    await store.ping()


# --- keys and properties -----------------------------------------------------------------------

BAD_KEYS = [
    "a/b",
    "a\\b",
    "a#b",
    "a?b",
    "a\x00b",
    "tab\there",
    "new\nline",
    "del\x7f",
    "c1\x85control",
    "x" * (MAX_KEY_UTF16 + 1),
    "\U0001f600" * (MAX_KEY_UTF16 // 2 + 1),  # 514 UTF-16 code units in 257 characters
    "lone\ud800surrogate",
]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=[repr(k[:12]) for k in BAD_KEYS])
async def test_forbidden_keys_are_refused_identically(
    store: TableStore, table: str, bad: str
) -> None:
    attempts = [
        store.upsert(table, ent(bad, "r")),
        store.insert(table, ent("p", bad)),
        store.update(table, ent("p", bad), "*"),
        store.get(table, bad, "r"),
        store.get(table, "p", bad),
        store.delete(table, "p", bad),
        store.query_partition(table, bad),
        store.transact(table, [Op.upsert(ent("p", bad))]),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError):
            await attempt
    assert await store.query_range(table, None, None) == []


async def test_keys_at_the_limit_and_unusual_characters_work(store: TableStore, table: str) -> None:
    keys = [
        "x" * MAX_KEY_UTF16,
        "\U0001f600" * (MAX_KEY_UTF16 // 2),
        "19:abc@thread.tacv2;messageid=1",
        'O\'Brien & "quotes" %20 + = ~ @ :',
        "",
        "Zoë — 日本語",
    ]
    for key in keys:
        await store.upsert(table, ent(key, key, k=key))
    for key in keys:
        found = await store.get(table, key, key)
        assert found is not None and found.entity["k"] == key
        assert await rows(store, table, key) == [key]
        assert await rows(store, table, key, rk_from=key, rk_to=key + "~") == [key]


async def test_range_bounds_may_hold_separators_but_not_control_characters(
    store: TableStore, table: str
) -> None:
    for rk in ["a.1", "a.2", "a0", "a[", "b"]:
        await store.upsert(table, ent("p", rk))
        await store.upsert(table, ent(rk, "r"))

    # The usual prefix trick: everything starting "a." ends before "a/".
    assert await rows(store, table, "p", rk_from="a.", rk_to="a/") == ["a.1", "a.2"]
    assert await rows(store, table, "p", rk_from="a#", rk_to="a?") == ["a.1", "a.2", "a0"]
    assert await rows(store, table, "p", rk_from="a/", rk_to="a\\") == ["a0", "a["]
    by_pk = await store.query_range(table, "a.", "a/")
    assert [s.entity["PartitionKey"] for s in by_pk] == ["a.1", "a.2"]
    assert await rows(store, table, "p", rk_from="x" * 1024) == []

    for bad in ["a\x00", "tab\t", "c1\x85", "x" * 1025, "lone\ud800"]:
        with pytest.raises(ValueError):
            await store.query_partition(table, "p", rk_from=bad)
        with pytest.raises(ValueError):
            await store.query_partition(table, "p", rk_to=bad)
        with pytest.raises(ValueError):
            await store.query_range(table, bad, None)
        with pytest.raises(ValueError):
            await store.query_range(table, None, bad)
    for bad_limit in [0, -1, True]:
        with pytest.raises(ValueError):
            await store.query_partition(table, "p", limit=bad_limit)


async def test_non_string_keys_and_missing_keys_are_refused(store: TableStore, table: str) -> None:
    with pytest.raises(ValueError):
        await store.upsert(table, {"PartitionKey": 1, "RowKey": "r"})
    with pytest.raises(ValueError):
        await store.upsert(table, {"RowKey": "r"})
    with pytest.raises(ValueError):
        await store.get(table, "p", None)  # type: ignore[arg-type]


ROUND_TRIP: Entity = {
    "text": "Zoë — 日本語 \U0001f600 with 'quotes' and \"double\"",
    "empty": "",
    "zero": 0,
    "small": -7,
    "int32_edge": 2**31,
    "int64_max": 2**63 - 1,
    "int64_min": -(2**63),
    "whole_float": 2.0,
    "fraction": 0.1,
    "big_float": 1.5e300,
    "negative": -273.15,
    "yes": True,
    "no": False,
    "when": datetime(2025, 3, 4, 5, 6, 7, 891234, tzinfo=UTC),
    "epoch_start": datetime(1601, 1, 1, tzinfo=UTC),
    "blob": bytes(range(256)),
    "one_byte": b"\x00",
}


def assert_same_typed(got: Entity, expected: Entity) -> None:
    assert got == expected
    for name, value in expected.items():
        assert type(got[name]) is type(value), (name, got[name])


async def test_property_types_round_trip_exactly(store: TableStore, table: str) -> None:
    await store.upsert(table, ent("p", "r", **ROUND_TRIP))

    found = await store.get(table, "p", "r")
    (queried,) = await store.query_partition(table, "p")
    (ranged,) = await store.query_range(table, "p", "q")

    for result in (found, queried, ranged):
        assert result is not None
        assert_same_typed(result.entity, ent("p", "r", **ROUND_TRIP))
        assert result.entity["when"].tzinfo is UTC


async def test_special_floats_and_other_time_zones_round_trip(
    store: TableStore, table: str
) -> None:
    plus_two = timezone(timedelta(hours=2))
    await store.upsert(
        table,
        ent(
            "p",
            "r",
            inf=math.inf,
            ninf=-math.inf,
            nan=math.nan,
            local=datetime(2025, 6, 1, 12, 0, tzinfo=plus_two),
        ),
    )

    found = await store.get(table, "p", "r")
    assert found is not None
    assert found.entity["inf"] == math.inf and found.entity["ninf"] == -math.inf
    assert math.isnan(found.entity["nan"])
    assert found.entity["local"] == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert found.entity["local"].tzinfo is UTC


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"s": "x" * (MAX_STRING_UTF16 + 1)}, "split_text"),
        ({"s": "\U0001f600" * (MAX_STRING_UTF16 // 2 + 1)}, "UTF-16"),
        ({f"p{i}": i for i in range(MAX_PROPERTIES + 1)}, "properties"),
        ({f"s{i}": "x" * MAX_STRING_UTF16 for i in range(16)}, "1 MiB"),
        ({f"b{i}": bytes(60_000) for i in range(14)}, "1 MiB"),
        ({"b": bytes(64 * 1024 + 1)}, "64 KiB"),
        ({"n": None}, "None"),
        ({"when": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"when": datetime(1600, 12, 31, tzinfo=UTC)}, "1601"),
        ({"big": 2**63}, "64 bits"),
        ({"small": -(2**63) - 1}, "64 bits"),
        ({"items": [1, 2]}, "unsupported type"),
        ({"bad-name": 1}, "not allowed"),
        ({"1st": 1}, "not allowed"),
        ({"Timestamp": datetime(2025, 1, 1, tzinfo=UTC)}, "not allowed"),
        ({"s": "lone \udc00"}, "surrogate"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_property_limits_are_enforced_identically(
    store: TableStore, table: str, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await store.upsert(table, ent("p", "r", **props))
    with pytest.raises(ValueError, match=message):
        await store.transact(table, [Op.insert(ent("p", "r", **props))])
    assert await store.get(table, "p", "r") is None


async def test_entities_at_the_limits_are_accepted(store: TableStore, table: str) -> None:
    biggest: Entity = {f"s{i}": chr(65 + i) * MAX_STRING_UTF16 for i in range(15)}  # ~983 KB
    widest: Entity = {f"p{i}": i for i in range(MAX_PROPERTIES)}
    binary: Entity = {f"b{i}": bytes([i]) * 45_000 for i in range(10)}
    for rk, props in [("biggest", biggest), ("widest", widest), ("binary", binary)]:
        await store.upsert(table, ent("p", rk, **props))
        found = await store.get(table, "p", rk)
        assert found is not None and found.entity == ent("p", rk, **props)


async def test_long_text_is_split_across_properties_and_joined_back(
    store: TableStore, table: str
) -> None:
    text = ("Case notes — " + "\U0001f600" + "x" * 997) * 150  # ~150K code units, astral chars
    props = split_text("notes", text)

    await store.upsert(table, ent("case", "7", title="t", **props))
    found = await store.get(table, "case", "7")

    assert found is not None
    assert join_text("notes", found.entity) == text
    assert found.entity["notes_count"] == props["notes_count"] > 4
    assert found.entity["title"] == "t"


# --- engines and processes ---------------------------------------------------------------------


async def test_two_sqlite_stores_on_one_file_share_data_and_conflict(tmp_path: Path) -> None:
    first, second = SqliteTableStore(tmp_path), SqliteTableStore(tmp_path)
    try:
        await first.ensure_tables(["cases"])
        stale = await first.insert("cases", ent("c", "1", stage=1))

        seen = await second.get("cases", "c", "1")
        assert seen is not None and seen.etag == stale
        current = await second.update("cases", ent("c", "1", stage=2), stale)

        with pytest.raises(ConcurrencyConflict):
            await first.update("cases", ent("c", "1", stage=99), stale)
        with pytest.raises(EntityExists):
            await first.insert("cases", ent("c", "1"))
        now = await first.get("cases", "c", "1")
        assert now is not None and (now.entity["stage"], now.etag) == (2, current)

        results = await asyncio.gather(
            first.update("cases", ent("c", "1", stage=3), current),
            second.update("cases", ent("c", "1", stage=4), current),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["ConcurrencyConflict", "str"]

        await second.transact("cases", [Op.insert(ent("c", str(i))) for i in range(2, 6)])
        assert await rows(first, "cases", "c") == ["1", "2", "3", "4", "5"]
    finally:
        await first.close()
        await second.close()


async def test_a_sqlite_store_reads_what_another_on_the_file_wrote(tmp_path: Path) -> None:
    first, second = SqliteTableStore(tmp_path), SqliteTableStore(tmp_path)
    try:
        await first.ensure_tables(["cases"])
        assert await second.get("cases", "c", "1") is None
        for v in range(5):
            writer, reader = (first, second) if v % 2 else (second, first)
            etag = await writer.upsert("cases", ent("c", "1", v=v))
            found = await reader.get("cases", "c", "1")
            assert found is not None and (found.entity["v"], found.etag) == (v, etag)
        await first.delete("cases", "c", "1")
        assert await second.get("cases", "c", "1") is None
    finally:
        await first.close()
        await second.close()


async def test_sqlite_point_reads_do_not_wait_behind_a_write_waiting_for_the_lock(
    tmp_path: Path,
) -> None:
    store = SqliteTableStore(tmp_path)
    await store.ensure_tables(["cases"])
    await store.upsert("cases", ent("c", "1", v=1))
    other_process = sqlite3.connect(store.path, isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")  # holds the write lock
        write = asyncio.ensure_future(store.upsert("cases", ent("c", "1", v=2)))
        await asyncio.sleep(0.1)  # the write is now waiting for the lock

        found = await asyncio.wait_for(store.get("cases", "c", "1"), timeout=5)

        assert found is not None and found.entity["v"] == 1
        assert not write.done()
        other_process.execute("ROLLBACK")
        etag = await asyncio.wait_for(write, timeout=5)
        found = await store.get("cases", "c", "1")
        assert found is not None and (found.entity["v"], found.etag) == (2, etag)
    finally:
        other_process.close()
        await store.close()


async def test_a_sqlite_point_read_goes_to_the_database_thread_when_its_connection_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Locked:
        closed = False

        def execute(self, *args: object) -> None:
            raise sqlite3.OperationalError("database is locked")

        def close(self) -> None:
            self.closed = True

    store = SqliteTableStore(tmp_path)
    try:
        await store.ensure_tables(["cases"])
        etag = await store.upsert("cases", ent("c", "1", v=1))
        locked = Locked()
        # The store opens its connection for point reads at the first one.
        monkeypatch.setattr(sqlite3, "connect", lambda *args, **kwargs: locked)

        found = await store.get("cases", "c", "1")

        assert found is not None and (found.entity["v"], found.etag) == (1, etag)
        assert locked.closed
        with pytest.raises(TableNotFound):
            await store.get("nosuchtable", "c", "1")
        monkeypatch.undo()
        found = await store.get("cases", "c", "1")
        assert found is not None and found.etag == etag
    finally:
        await store.close()


async def test_sqlite_small_queries_do_not_wait_behind_a_write_and_large_ones_read_whole(
    tmp_path: Path,
) -> None:
    """A query of up to ON_LOOP_ROWS rows is read on the calling thread, as a point read is, so
    it does not wait for a write queued on the database thread; one with more rows goes there
    and reads every row, whatever the limit."""
    store = SqliteTableStore(tmp_path)
    await store.ensure_tables(["cases"])
    many = ON_LOOP_ROWS + 3
    for start in range(0, many, 50):
        end = min(start + 50, many)
        await store.transact(
            "cases", [Op.insert(ent("big", f"{i:04d}")) for i in range(start, end)]
        )
    await store.transact("cases", [Op.insert(ent("small", f"{i:04d}")) for i in range(5)])
    other_process = sqlite3.connect(store.path, isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")  # holds the write lock
        write = asyncio.ensure_future(store.upsert("cases", ent("small", "0009")))
        await asyncio.sleep(0.1)  # the database thread now waits for the lock

        small = await asyncio.wait_for(store.query_partition("cases", "small"), timeout=5)
        capped = await asyncio.wait_for(
            store.query_partition("cases", "big", limit=ON_LOOP_ROWS), timeout=5
        )
        large = asyncio.ensure_future(store.query_partition("cases", "big"))
        await asyncio.sleep(0.1)

        assert [e.entity["RowKey"] for e in small] == [f"{i:04d}" for i in range(5)]
        assert [e.entity["RowKey"] for e in capped] == [f"{i:04d}" for i in range(ON_LOOP_ROWS)]
        assert not large.done() and not write.done()  # both wait for the database thread
        other_process.execute("ROLLBACK")
        await asyncio.wait_for(write, timeout=5)
        assert [e.entity["RowKey"] for e in await large] == [f"{i:04d}" for i in range(many)]
        for limit in (ON_LOOP_ROWS + 1, ON_LOOP_ROWS + 2, many + 10):
            found = await store.query_partition("cases", "big", limit=limit)
            assert len(found) == min(limit, many)
        assert len(await store.query_range("cases", None, None)) == many + 6
    finally:
        other_process.close()
        await store.close()


_INCREMENTER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from storage.sqlite_engine import SqliteTableStore
    from storage.tables import ConcurrencyConflict

    async def main(data_dir, rounds):
        store = SqliteTableStore(Path(data_dir))
        conflicts = 0
        try:
            for _ in range(rounds):
                while True:
                    found = await store.get("counters", "c", "1")
                    entity = dict(found.entity, n=found.entity["n"] + 1)
                    try:
                        await store.update("counters", entity, found.etag)
                        break
                    except ConcurrencyConflict:
                        conflicts += 1
        finally:
            await store.close()
        print(conflicts)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


async def test_optimistic_concurrency_holds_across_processes(tmp_path: Path) -> None:
    store = SqliteTableStore(tmp_path)
    await store.ensure_tables(["counters"])
    await store.insert("counters", ent("c", "1", n=0))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    rounds, workers = 40, 3

    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _INCREMENTER,
            str(tmp_path),
            str(rounds),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    outputs = [await asyncio.wait_for(p.communicate(), timeout=120) for p in processes]

    assert [p.returncode for p in processes] == [0] * workers, outputs
    found = await store.get("counters", "c", "1")
    await store.close()
    assert found is not None
    assert found.entity["n"] == rounds * workers  # no lost update


async def test_sqlite_store_survives_a_restart(tmp_path: Path) -> None:
    store = SqliteTableStore(tmp_path)
    await store.ensure_tables(["cases"])
    etag = await store.upsert("cases", ent("c", "1", v=1))
    await store.close()
    with pytest.raises(StorageUnavailable):
        await store.get("cases", "c", "1")
    with pytest.raises(StorageUnavailable):
        await store.query_partition("cases", "c")

    reopened = SqliteTableStore(tmp_path)
    try:
        found = await reopened.get("cases", "c", "1")
        assert found is not None and found.etag == etag
        assert await reopened.upsert("cases", ent("c", "2")) != etag
    finally:
        await reopened.close()


@contextmanager
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port that is bound but never listens, so connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


async def test_unreachable_storage_is_reported_as_unavailable(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    sqlite = SqliteTableStore(not_a_folder)
    with closed_port() as port:
        connection_string = (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
            "K1SZFPTOtr/KBHBeksoGMGw==;"
            f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        )
        azure = AzureTableStore(connection_string)  # default retries: ping must skip them
        no_retries = AzureTableStore(connection_string, retry_total=0)
        try:
            for unreachable in (sqlite, azure):
                with pytest.raises(StorageUnavailable):
                    await asyncio.wait_for(unreachable.ping(), timeout=5)
            with pytest.raises(StorageUnavailable):
                await no_retries.get("cases", "p", "r")
        finally:
            for store in (sqlite, azure, no_retries):
                await store.close()


async def test_factory_picks_the_engine_from_the_connection_string(tmp_path: Path) -> None:
    for empty in (None, "", "   "):
        store = open_table_store(empty, tmp_path)
        assert isinstance(store, SqliteTableStore)
        await store.close()
    store = open_table_store(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "TableEndpoint=http://127.0.0.1:1/devstoreaccount1;",
        tmp_path,
    )
    assert isinstance(store, AzureTableStore)
    await store.close()


def test_azure_payloads_are_read_as_the_sqlite_engine_returns_them() -> None:
    """Azurite keeps the type a client sent; real Azure answers a whole-number Edm.Double with a
    bare JSON integer (Azure/azure-sdk-for-js#19899). Feed the SDK's parser such a payload."""
    from azure.data.tables._deserialize import _convert_to_entity

    from storage.azure_engine import _from_azure

    payload = {
        "odata.etag": "W/\"datetime'2025-03-04T05%3A06%3A07.1234567Z'\"",
        "PartitionKey": "p",
        "RowKey": "r",
        "Timestamp": "2025-03-04T05:06:07.1234567Z",
        "whole_float": 2,
        "fraction": 0.5,
        "count": "5",
        "count@odata.type": "Edm.Int64",
        "when": "2025-03-04T05:06:07.891234Z",
        "when@odata.type": "Edm.DateTime",
        "blob": "AAE=",
        "blob@odata.type": "Edm.Binary",
        "yes": True,
        "text": "t",
    }

    stored = _from_azure(_convert_to_entity(payload))  # type: ignore[no-untyped-call]

    assert stored.etag == payload["odata.etag"]
    expected = ent(
        "p",
        "r",
        whole_float=2.0,
        fraction=0.5,
        count=5,
        when=datetime(2025, 3, 4, 5, 6, 7, 891234, tzinfo=UTC),
        blob=b"\x00\x01",
        yes=True,
        text="t",
    )
    assert_same_typed(stored.entity, expected)
    assert set(stored.entity) == set(expected)  # no Timestamp or other metadata
