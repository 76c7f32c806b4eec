"""botbuilder's own storage contract, and what it leaves out, against both table-store engines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import (
    ConversationState,
    StoreItem,
    TurnContext,
)
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
)
from botbuilder.testing import StorageBaseTests

from storage.bot_state import (
    ROW,
    WRITTEN_AT,
    IdleStateReport,
    TableStorage,
    escape_key,
    remove_idle_state,
)
from storage.sqlite_engine import SqliteTableStore
from storage.tables import ConcurrencyConflict, TableStore, split_text
from testkit.azurite import unique_table_name

BASE_CASES = [
    "return_empty_object_when_reading_unknown_key",
    "handle_null_keys_when_reading",
    "handle_null_keys_when_writing",
    "does_not_raise_when_writing_no_items",
    "create_object",
    "handle_crazy_keys",
    "update_object",
    "delete_object",
    "delete_unknown_object",
    "perform_batch_operations",
    "proceeds_through_waterfall",
]


@pytest.fixture
def bot_storage(store: TableStore) -> TableStorage:
    return TableStorage(store, unique_table_name())


def test_every_botbuilder_storage_case_is_run() -> None:
    published = {name for name in vars(StorageBaseTests) if not name.startswith("_")}
    assert published == set(BASE_CASES)


@pytest.mark.parametrize("case", BASE_CASES)
async def test_botbuilder_storage_contract(bot_storage: TableStorage, case: str) -> None:
    assert await getattr(StorageBaseTests, case)(bot_storage) is True


async def test_a_stale_etag_is_refused_and_changes_nothing(bot_storage: TableStorage) -> None:
    # The base tests leave this out for Python (see storage_base_tests.py); a shared store needs it.
    await bot_storage.write({"k": {"count": 1}})
    first = (await bot_storage.read(["k"]))["k"]
    second = (await bot_storage.read(["k"]))["k"]

    first["count"] = 2
    await bot_storage.write({"k": first})
    second["count"] = 99
    with pytest.raises(ConcurrencyConflict):
        await bot_storage.write({"k": second})

    assert (await bot_storage.read(["k"]))["k"]["count"] == 2
    first["count"] = 3
    await bot_storage.write({"k": first})  # its e_tag was refreshed by the last write
    assert (await bot_storage.read(["k"]))["k"]["count"] == 3


async def test_a_write_after_a_delete_with_an_etag_conflicts(bot_storage: TableStorage) -> None:
    await bot_storage.write({"k": {"count": 1}})
    loaded = (await bot_storage.read(["k"]))["k"]
    await bot_storage.delete(["k"])

    with pytest.raises(ConcurrencyConflict):
        await bot_storage.write({"k": loaded})
    assert await bot_storage.read(["k"]) == {}


async def test_store_items_round_trip_as_objects(bot_storage: TableStorage) -> None:
    item = StoreItem(name="Megan", agencies=["police", "nhs"], e_tag="*")
    await bot_storage.write({"item": item})
    assert item.e_tag not in (None, "*")

    read = (await bot_storage.read(["item"]))["item"]
    assert isinstance(read, StoreItem)
    assert (read.name, read.agencies, read.e_tag) == ("Megan", ["police", "nhs"], item.e_tag)


async def test_state_larger_than_one_property_round_trips(
    bot_storage: TableStorage, store: TableStore
) -> None:
    notes = "Safeguarding concern — " + "détail \U0001f600 " * 20_000  # ~300K JSON chars
    await bot_storage.write({"big": {"notes": notes, "e_tag": "*"}})

    read = (await bot_storage.read(["big"]))["big"]
    assert read["notes"] == notes
    stored = await store.get(bot_storage._table, escape_key("big"), ROW)
    assert stored is not None and stored.entity["state_count"] > 1


@pytest.mark.parametrize(
    "typed",
    [
        "Ffion\u2019s GP — Llanelli 😀",
        "half a pair \ud800 left",  # a lone surrogate: storable only as an escape
        'quotes " and \\ and a tab\t and \u0000',
    ],
    ids=["non-ascii", "lone-surrogate", "escapes"],
)
async def test_whatever_was_typed_round_trips(bot_storage: TableStorage, typed: str) -> None:
    await bot_storage.write({"said": {"text": typed, "keys": {typed: [typed]}, "e_tag": "*"}})

    read = (await bot_storage.read(["said"]))["said"]
    assert (read["text"], read["keys"]) == (typed, {typed: [typed]})


async def test_state_too_large_for_an_entity_is_refused(bot_storage: TableStorage) -> None:
    with pytest.raises(ValueError, match="1 MiB"):
        await bot_storage.write({"huge": {"notes": "x" * 600_000}})
    assert await bot_storage.read(["huge"]) == {}


TEAMS_KEYS = [
    "msteams/conversations/19:abc123@thread.tacv2;messageid=1678",
    "msteams/users/29:1AbC-dEf_gH/aad#tenant?",
    "msteams/conversations/a:1XyZ%2Fencoded",
    "tab\there\nand\x85c1",
    "k" * 2000,
]


@pytest.mark.parametrize("key", TEAMS_KEYS, ids=range(len(TEAMS_KEYS)))
async def test_keys_with_forbidden_characters_are_escaped(
    bot_storage: TableStorage, store: TableStore, key: str
) -> None:
    await bot_storage.write({key: {"v": key}})
    assert (await bot_storage.read([key]))[key]["v"] == key

    stored = await store.get(bot_storage._table, escape_key(key), ROW)
    assert stored is not None and stored.entity["key"] == key

    await bot_storage.delete([key])
    assert await bot_storage.read([key]) == {}


def test_key_escaping_keeps_keys_distinct() -> None:
    assert len({escape_key(key) for key in TEAMS_KEYS[:4]}) == len(set(TEAMS_KEYS[:4]))
    assert escape_key("a/b") != escape_key("a%2Fb")
    assert escape_key("msteams/conversations/19:x@thread.v2") == (
        "msteams%2Fconversations%2F19:x@thread.v2"
    )
    assert escape_key("k" * 2000).startswith("sha256-")


def _activity(text: str) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        channel_id="msteams",
        conversation=ConversationAccount(id="19:case-room@thread.tacv2"),
        from_property=ChannelAccount(id="29:adele"),
        recipient=ChannelAccount(id="28:bot"),
        text=text,
    )


async def test_conversation_state_survives_a_restart_and_detects_another_instance(
    tmp_path: Path,
) -> None:
    """Two bot instances on one SQLite file: state written by one is read by the other, and the
    slower of two concurrent turns is refused instead of silently losing the other's change."""

    async def load(state: ConversationState, text: str) -> TurnContext:
        context = TurnContext(TestAdapter(), _activity(text))
        await state.load(context)
        return context

    first_store, second_store = SqliteTableStore(tmp_path), SqliteTableStore(tmp_path)
    try:
        first = ConversationState(TableStorage(first_store))
        counter = first.create_property("counter")
        turn = await load(first, "one")
        await counter.set(turn, {"n": 1})
        await first.save_changes(turn)
        await counter.set(turn, {"n": 2})
        await first.save_changes(turn)  # a second save in the same turn is no conflict

        second = ConversationState(TableStorage(second_store))
        counter2 = second.create_property("counter")
        turn_a, turn_b = await load(second, "a"), await load(first, "b")
        assert await counter2.get(turn_a) == {"n": 2}
        await counter2.set(turn_a, {"n": 3})
        await second.save_changes(turn_a)

        await counter.set(turn_b, {"n": 30})
        with pytest.raises(ConcurrencyConflict):
            await first.save_changes(turn_b)
        assert await counter.get(await load(first, "c")) == {"n": 3}
    finally:
        await first_store.close()
        await second_store.close()


async def test_read_returns_only_present_keys(bot_storage: TableStorage) -> None:
    items: dict[str, Any] = {"a": {"v": 1}, "b": {"v": 2}}
    await bot_storage.write(items)
    read = await bot_storage.read(["a", "missing", "b", "a"])
    assert set(read) == {"a", "b"}
    assert await bot_storage.read([]) == {}
    await bot_storage.delete([])
    with pytest.raises(ValueError, match="Keys are required"):
        await bot_storage.delete(None)


# -- idle state (retention) -------------------------------------------------------------------

DAY_ONE = datetime(2033, 10, 1, 9, 0, tzinfo=UTC)


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


async def test_every_write_records_when_it_was_made(store: TableStore) -> None:
    table = unique_table_name()
    await TableStorage(store, table, now=at(DAY_ONE)).write({"k": {"v": 1}})
    later = DAY_ONE + timedelta(days=3)
    await TableStorage(store, table, now=at(later)).write({"k": {"v": 2}})
    stored = await store.get(table, escape_key("k"), ROW)
    assert stored is not None and stored.entity[WRITTEN_AT] == later


async def test_idle_state_is_removed_and_fresh_state_stays(store: TableStore) -> None:
    table = unique_table_name()
    idle, fresh = "msteams/conversations/a:idle/", "msteams/conversations/a:fresh/"
    await TableStorage(store, table, now=at(DAY_ONE)).write({idle: {"aim": "A joint visit"}})
    await TableStorage(store, table, now=at(DAY_ONE + timedelta(days=29))).write(
        {fresh: {"aim": "Another"}}
    )
    now = DAY_ONE + timedelta(days=31)
    cut_off = now - timedelta(days=30)

    dry = await remove_idle_state(store, table, idle_before=cut_off, now=now, dry_run=True)
    assert dry == IdleStateReport(removed=1, kept=1)
    assert set(await TableStorage(store, table).read([idle, fresh])) == {idle, fresh}

    report = await remove_idle_state(store, table, idle_before=cut_off, now=now)
    assert report == IdleStateReport(removed=1, kept=1)
    assert set(await TableStorage(store, table).read([idle, fresh])) == {fresh}


async def test_state_from_before_write_times_is_given_a_full_idle_period(
    store: TableStore,
) -> None:
    table = unique_table_name()
    await store.ensure_tables([table])
    old = "msteams/conversations/a:old/"
    await store.upsert(  # a row as earlier releases wrote it: no written_at
        table,
        {"PartitionKey": escape_key(old), "RowKey": ROW, "key": old, **split_text("state", "{}")},
    )
    now = DAY_ONE
    first = await remove_idle_state(store, table, idle_before=now - timedelta(days=30), now=now)
    assert first == IdleStateReport(stamped=1)
    assert set(await TableStorage(store, table).read([old])) == {old}

    later = now + timedelta(days=31)
    second = await remove_idle_state(
        store, table, idle_before=later - timedelta(days=30), now=later
    )
    assert second == IdleStateReport(removed=1)
    assert await TableStorage(store, table).read([old]) == {}


async def test_state_written_while_the_purge_looks_is_kept(store: TableStore) -> None:
    table = unique_table_name()
    bot = TableStorage(store, table, now=at(DAY_ONE))
    await bot.write({"k": {"v": 1}})

    class Busy:
        """The store, with the conversation waking up between the purge's read and delete."""

        async def query_range(self, *args: Any, **kwargs: Any) -> Any:
            rows = await store.query_range(*args, **kwargs)
            await TableStorage(store, table, now=at(DAY_ONE)).write({"k": {"v": 2}})
            return rows

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

    now = DAY_ONE + timedelta(days=60)
    report = await remove_idle_state(
        Busy(),
        table,
        idle_before=now - timedelta(days=30),
        now=now,
    )
    assert report == IdleStateReport(kept=1)
    assert (await bot.read(["k"]))["k"]["v"] == 2


async def test_paging_through_many_conversations(store: TableStore) -> None:
    table = unique_table_name()
    bot = TableStorage(store, table, now=at(DAY_ONE))
    keys = [f"msteams/conversations/a:{n:03d}/" for n in range(250)]
    await bot.write({k: {"v": 1} for k in keys})
    await TableStorage(store, table, now=at(DAY_ONE + timedelta(days=40))).write({keys[7]: {}})
    now = DAY_ONE + timedelta(days=45)
    report = await remove_idle_state(store, table, idle_before=now - timedelta(days=30), now=now)
    assert report == IdleStateReport(removed=249, kept=1)
    assert set(await bot.read(keys)) == {keys[7]}


async def test_a_store_the_bot_never_used_has_no_state_to_remove(store: TableStore) -> None:
    report = await remove_idle_state(store, unique_table_name(), idle_before=DAY_ONE, now=DAY_ONE)
    assert report == IdleStateReport()
