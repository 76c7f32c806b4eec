"""The people directory on the table store, against both engines (SQLite and Azure via Azurite)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from escalation.actors import resolve, stage_actors
from escalation.case import Case
from escalation.commands import OtherParty
from escalation.directory import Agency, Directory, Person, Standing
from escalation.packs import PackRegistry
from escalation.policy import PolicyPack, Selector
from escalation.service import EscalationService
from storage.cases import safe_key
from storage.directory_store import (
    AGENCY_PARTITION,
    FULL_READ_SECONDS,
    PERSON_PARTITION,
    TEAMS_PARTITION,
    VERSION_PARTITION,
    DirectoryFile,
    DirectoryFileError,
    DirectoryStore,
    load_directory_file,
)
from storage.tables import (
    ConcurrencyConflict,
    Entity,
    EntityExists,
    Op,
    Request,
    StorageUnavailable,
    StoredEntity,
    TableStore,
    send_requests,
)
from testkit.azurite import unique_table_name
from testkit.builders import harrow_raise, redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository, RecordingNotifier
from testkit.people import ROOT as REPO_ROOT
from testkit.people import person

SAMPLE = REPO_ROOT / "sample" / "directory.yaml"
POLICIES = REPO_ROOT / "policies"
PLAYGROUND_USERS = {
    "alex-wilber": "Alex Wilber",
    "megan-bowen": "Megan Bowen",
    "adele-vance": "Adele Vance",
    "isaiah-langer": "Isaiah Langer",
    "patti-fernandez": "Patti Fernandez",
    "lynne-robbins": "Lynne Robbins",
}
# The sample cases of sample/directory.yaml: (board, raiser, receiver, track).
SAMPLE_CASES = (
    ("redbridge", "alex-wilber", "adele-vance", "main"),
    ("harrow", "imani-fairbrook", "femi-calloway", "main"),
    ("harrow", "femi-calloway", "imani-fairbrook", "threshold"),
)
WEIRD_ID = "29:1a/b\\c#d?e\x07f"  # every character Azure forbids in a key


class Pause:
    """Holds the n-th call of one kind until released, to interleave two writers."""

    def __init__(self, method: str, partition: str, nth: int) -> None:
        self.call = (method, partition)
        self.nth = nth
        self.seen = 0
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def wait_reached(self) -> None:
        await asyncio.wait_for(self.reached.wait(), timeout=10)


class SpyStore:
    """A TableStore that records calls, can fail at the n-th write (and every write after it,
    with `failing_on`), pause at a given call, and run a hook while a query is in flight (to
    interleave a write with a read)."""

    def __init__(self, inner: TableStore) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []  # (method, partition or "")
        self.fail_at_write: int | None = None
        self.failing_on = False  # every write from fail_at_write on fails, not only that one
        self.writes = 0
        self.during_query: Callable[[], Awaitable[None]] | None = None
        self.pauses: list[Pause] = []

    def pause_before(self, method: str, partition: str, *, nth: int = 1) -> Pause:
        pause = Pause(method, partition, nth)
        self.pauses.append(pause)
        return pause

    def reads_of(self, partition: str) -> int:
        return self.calls.count(("query_partition", partition))

    async def _call(self, method: str, partition: str) -> None:
        self.calls.append((method, partition))
        for pause in self.pauses:
            if pause.call == (method, partition):
                pause.seen += 1
                if pause.seen == pause.nth:
                    pause.reached.set()
                    await asyncio.wait_for(pause.release.wait(), timeout=10)

    async def _write(self, method: str, partition: str) -> None:
        await self._call(method, partition)
        self.writes += 1
        at = self.fail_at_write
        if at is not None and (self.writes == at or (self.failing_on and self.writes > at)):
            raise StorageUnavailable(f"injected failure at write {self.writes} ({method})")

    async def get(self, table: str, pk: str, rk: str) -> StoredEntity | None:
        await self._call("get", pk)
        return await self.inner.get(table, pk, rk)

    async def query_partition(
        self,
        table: str,
        pk: str,
        *,
        rk_from: str | None = None,
        rk_to: str | None = None,
        limit: int | None = None,
    ) -> list[StoredEntity]:
        await self._call("query_partition", pk)
        found = await self.inner.query_partition(
            table, pk, rk_from=rk_from, rk_to=rk_to, limit=limit
        )
        if self.during_query is not None:
            hook, self.during_query = self.during_query, None
            await hook()
        return found

    async def query_range(
        self, table: str, pk_from: str | None, pk_to: str | None, *, limit: int | None = None
    ) -> list[StoredEntity]:
        await self._call("query_range", "")
        return await self.inner.query_range(table, pk_from, pk_to, limit=limit)

    async def upsert(self, table: str, entity: Entity) -> str:
        await self._write("upsert", str(entity["PartitionKey"]))
        return await self.inner.upsert(table, entity)

    async def insert(self, table: str, entity: Entity) -> str:
        await self._write("insert", str(entity["PartitionKey"]))
        return await self.inner.insert(table, entity)

    async def update(self, table: str, entity: Entity, etag: str) -> str:
        await self._write("update", str(entity["PartitionKey"]))
        return await self.inner.update(table, entity, etag)

    async def delete(self, table: str, pk: str, rk: str, etag: str | None = None) -> None:
        await self._write("delete", pk)
        await self.inner.delete(table, pk, rk, etag)

    async def transact(self, table: str, ops: Sequence[Op]) -> list[str]:
        await self._write("transact", ops[0].pk if ops else "")
        return await self.inner.transact(table, ops)

    async def transact_after(
        self, first: Sequence[Request], table: str, ops: Sequence[Op]
    ) -> list[str]:
        await send_requests(self, first)
        return await self.transact(table, ops)

    async def ensure_tables(self, names: Iterable[str]) -> None:
        await self.inner.ensure_tables(names)

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        """The test's `store` fixture closes the real store."""


@pytest.fixture
def table() -> str:
    return unique_table_name()  # Azurite lives for the whole session: one table per test


@pytest.fixture
async def directory(store: TableStore, clock: FakeClock, table: str) -> DirectoryStore:
    created = DirectoryStore(store, now=clock, table=table)
    await created.ensure_tables()
    return created


@pytest.fixture
def elsewhere(store: TableStore, clock: FakeClock, table: str) -> DirectoryStore:
    """Another instance of the bot on the same table."""
    return DirectoryStore(store, now=clock, table=table)


@pytest.fixture
def spy(store: TableStore) -> SpyStore:
    return SpyStore(store)


@pytest.fixture
async def spied(spy: SpyStore, clock: FakeClock, table: str) -> DirectoryStore:
    created = DirectoryStore(spy, now=clock, table=table, cache_seconds=30)
    await created.ensure_tables()
    return created


async def rows(store: TableStore, table: str) -> list[Entity]:
    return [r.entity for r in await store.query_range(table, None, None)]


def amara(**changes: Any) -> Person:
    fields: dict[str, Any] = {
        "id": "amara",
        "name": "Amara Okafor",
        "agency_id": "redbridge-asc",
        "roles": frozenset({"practitioner", "safeguarding_lead"}),
        "board_roles": frozenset({("redbridge", "business_manager")}),
        "line_manager_id": "lena",
        "email": "amara@example.org",
    }
    fields.update(changes)
    return Person(**fields)


def record(pid: object, **fields: Any) -> dict[str, Any]:
    return {"id": pid, "name": str(pid).title(), "agency": "nelft", **fields}


# --- round trips --------------------------------------------------------------------------------


async def test_a_person_round_trips_with_every_field(directory: DirectoryStore) -> None:
    await directory.upsert_person(amara(), teams_user_id="29:1amara", aad_object_id="aad-amara")

    assert await directory.person("amara") == amara()
    assert await directory.teams_ids("amara") == ("29:1amara", "aad-amara")
    assert await directory.person("nobody") is None
    assert await directory.teams_ids("nobody") is None
    assert await directory.person("") is None


async def test_the_row_holds_the_raw_id_and_the_documented_properties(
    directory: DirectoryStore, store: TableStore, table: str, clock: FakeClock
) -> None:
    await directory.upsert_person(amara(), teams_user_id="29:1amara")

    found = await store.get(table, PERSON_PARTITION, "amara")
    assert found is not None
    entity = found.entity
    assert entity["id"] == "amara"
    assert (entity["name"], entity["agency"]) == ("Amara Okafor", "redbridge-asc")
    assert entity["roles"] == '["practitioner","safeguarding_lead"]'
    assert entity["board_roles"] == '["redbridge:business_manager"]'
    assert (entity["line_manager"], entity["email"]) == ("lena", "amara@example.org")
    assert entity["teams_user_id"] == "29:1amara"
    assert "aad_object_id" not in entity
    assert entity["updated_at"] == clock.now
    hint = await store.get(table, TEAMS_PARTITION, "29:1amara")
    assert hint is not None and hint.entity["person_id"] == "amara"


async def test_upsert_replaces_the_person_and_keeps_teams_ids_not_given(
    directory: DirectoryStore,
) -> None:
    await directory.upsert_person(amara(), teams_user_id="29:1amara", aad_object_id="aad-amara")

    moved = amara(agency_id="nelft", roles=frozenset({"line_manager"}), line_manager_id=None)
    await directory.upsert_person(moved)

    assert await directory.person("amara") == moved
    assert await directory.teams_ids("amara") == ("29:1amara", "aad-amara")
    found = await directory.find_by_teams_id("29:1amara")
    assert found == moved


async def test_ids_with_characters_azure_forbids_in_keys(directory: DirectoryStore) -> None:
    someone = person(WEIRD_ID, "nelft", "practitioner", manager="amara/2")
    await directory.upsert_person(someone, teams_user_id="29:x/y#z?", aad_object_id="aad\\1")

    assert await directory.person(WEIRD_ID) == someone
    assert await directory.find_by_teams_id("29:x/y#z?") == someone
    assert await directory.find_by_teams_id("aad\\1") == someone
    assert (await directory.snapshot()).person(WEIRD_ID) == someone


async def test_two_ids_escaping_to_one_key_are_never_confused(
    directory: DirectoryStore,
) -> None:
    # storage.cases.safe_key writes code points beyond U+FFFF with five hex digits, so these two
    # different ids share a key; the raw id kept in the row tells them apart.
    first, second = chr(0x1FBD0), chr(0x1FBD) + "0"
    assert first != second and safe_key(first) == safe_key(second)
    await directory.upsert_person(person(first, "nelft"))

    with pytest.raises(ValueError, match="already used by"):
        await directory.upsert_person(person(second, "nelft"))

    assert await directory.person(second) is None
    assert await directory.person(first) == person(first, "nelft")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (amara(line_manager_id="amara"), "their own line manager"),
        (amara(name=" "), "name must be a non-empty string"),
        (amara(id="x" * 600), "too long"),
        (amara(board_roles=frozenset({("a:b", "chair")})), "must be 'board:role'"),
        (amara(roles=frozenset({""})), "roles must be non-empty"),
    ],
)
async def test_an_invalid_person_is_refused_and_nothing_is_written(
    directory: DirectoryStore, store: TableStore, table: str, bad: Person, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await directory.upsert_person(bad, teams_user_id="29:1amara")

    assert await rows(store, table) == []


async def test_an_empty_teams_id_is_refused(directory: DirectoryStore) -> None:
    with pytest.raises(ValueError, match="teams_user_id must be a non-empty string"):
        await directory.upsert_person(amara(), teams_user_id="")


# --- Teams ids ----------------------------------------------------------------------------------


async def test_people_are_found_by_teams_user_id_or_aad_object_id(
    directory: DirectoryStore,
) -> None:
    await directory.upsert_person(amara(), teams_user_id="29:1amara", aad_object_id="aad-amara")
    await directory.upsert_person(person("noah", "nelft"), teams_user_id="29:1noah")

    assert await directory.find_by_teams_id("29:1amara") == amara()
    assert await directory.find_by_teams_id("aad-amara") == amara()
    assert await directory.find_by_teams_id("29:1noah") == person("noah", "nelft")
    assert await directory.find_by_teams_id("29:1nobody") is None
    assert await directory.find_by_teams_id("") is None
    assert await directory.find_by_teams_id("x" * 600) is None


async def test_an_index_row_naming_a_missing_person_is_ignored(
    directory: DirectoryStore, store: TableStore, table: str
) -> None:
    await store.upsert(
        table,
        {
            "PartitionKey": TEAMS_PARTITION,
            "RowKey": "29:1ghost",
            "teams_id": "29:1ghost",
            "person_id": "ghost",
        },
    )

    assert await directory.find_by_teams_id("29:1ghost") is None


async def test_an_index_row_left_from_an_old_teams_id_is_ignored(
    directory: DirectoryStore, store: TableStore, table: str
) -> None:
    await directory.upsert_person(amara(), teams_user_id="29:1old")
    await directory.upsert_person(amara(), teams_user_id="29:1new")
    # As if the clean-up of the old hint had never run (a crash, or a concurrent writer):
    await store.upsert(
        table,
        {
            "PartitionKey": TEAMS_PARTITION,
            "RowKey": "29:1old",
            "teams_id": "29:1old",
            "person_id": "amara",
        },
    )

    assert await directory.find_by_teams_id("29:1old") is None
    assert await directory.find_by_teams_id("29:1new") == amara()


async def test_a_changed_teams_id_drops_the_old_index_row(
    directory: DirectoryStore, store: TableStore, table: str
) -> None:
    await directory.upsert_person(amara(), teams_user_id="29:1old")
    await directory.upsert_person(amara(), teams_user_id="29:1new")

    assert await store.get(table, TEAMS_PARTITION, "29:1old") is None
    assert await store.get(table, TEAMS_PARTITION, "29:1new") is not None


async def test_a_teams_id_another_person_holds_is_refused(directory: DirectoryStore) -> None:
    await directory.upsert_person(amara(), teams_user_id="29:1shared")

    with pytest.raises(ValueError, match="already belongs to 'amara'"):
        await directory.upsert_person(person("noah", "nelft"), teams_user_id="29:1shared")

    assert await directory.person("noah") is None
    assert await directory.find_by_teams_id("29:1shared") == amara()
    # Once amara gives it up, it is free.
    await directory.upsert_person(amara(), teams_user_id="29:1amara")
    await directory.upsert_person(person("noah", "nelft"), teams_user_id="29:1shared")
    assert await directory.find_by_teams_id("29:1shared") == person("noah", "nelft")


async def test_the_index_row_is_written_before_the_person_row(
    directory: DirectoryStore, spied: DirectoryStore, spy: SpyStore
) -> None:
    await spied.upsert_person(amara(), teams_user_id="29:1amara")

    writes = [c for c in spy.calls if c[0] in ("upsert", "insert", "update", "transact")]
    assert writes[0][1] == TEAMS_PARTITION
    assert writes[1][1] == PERSON_PARTITION


async def test_a_crash_at_any_write_leaves_the_person_reachable(
    store: TableStore, clock: FakeClock
) -> None:
    """Change a person's Teams id, failing at the 1st, 2nd, ... write: whatever landed, the Teams
    id the person row holds still finds them."""
    crashes = 0
    for fail_at in range(1, 20):
        table = unique_table_name()
        plain = DirectoryStore(store, now=clock, table=table)
        await plain.ensure_tables()
        await plain.upsert_person(amara(), teams_user_id="29:1old")
        spy = SpyStore(store)
        spy.fail_at_write = fail_at
        failing = DirectoryStore(spy, now=clock, table=table)

        try:
            await failing.upsert_person(amara(), teams_user_id="29:1new")
        except StorageUnavailable:
            crashes += 1
            held = await plain.teams_ids("amara")
            assert held is not None and held[0] in ("29:1old", "29:1new")
            assert await plain.find_by_teams_id(held[0]) == amara(), f"write {fail_at}"
            continue
        assert await plain.find_by_teams_id("29:1new") == amara()
        assert await plain.find_by_teams_id("29:1old") is None
        break
    else:
        pytest.fail("the upsert never completed")
    assert crashes >= 2  # at least the index write and the person write were interrupted


async def test_a_concurrent_clean_up_cannot_unlink_a_person(
    directory: DirectoryStore, store: TableStore, clock: FakeClock, table: str
) -> None:
    """A moves amara from the old Teams id to a new one and then deletes the old hint; B moves
    her back. B writes the old hint, A (having read her row before B's lands) deletes it, then B's
    row lands: B writes its hints again after its row, so the old id still finds her."""
    await directory.upsert_person(amara(), teams_user_id="29:1old")
    spy_a, spy_b = SpyStore(store), SpyStore(store)
    before_clean_up = spy_a.pause_before("get", TEAMS_PARTITION, nth=2)
    before_row = spy_b.pause_before("transact", PERSON_PARTITION)
    writer_a = DirectoryStore(spy_a, now=clock, table=table)
    writer_b = DirectoryStore(spy_b, now=clock, table=table)

    task_a = asyncio.create_task(writer_a.upsert_person(amara(), teams_user_id="29:1new"))
    await before_clean_up.wait_reached()
    task_b = asyncio.create_task(writer_b.upsert_person(amara(), teams_user_id="29:1old"))
    await before_row.wait_reached()
    before_clean_up.release.set()
    await task_a
    before_row.release.set()
    await task_b

    assert await directory.teams_ids("amara") == ("29:1old", None)
    assert await directory.find_by_teams_id("29:1old") == amara()


# --- the cached snapshot ------------------------------------------------------------------------


async def test_the_snapshot_is_the_directory_the_core_reads(directory: DirectoryStore) -> None:
    await directory.upsert_person(person("amara", "redbridge-asc", "practitioner", manager="lena"))
    await directory.upsert_person(person("lena", "redbridge-asc", "line_manager"))

    snapshot = await directory.snapshot()

    assert isinstance(snapshot, Directory)
    assert sorted(snapshot.people) == ["amara", "lena"]
    manager = snapshot.line_manager_of("amara")
    assert manager is not None and manager.id == "lena"
    assert [p.id for p in snapshot.holders("line_manager", "redbridge-asc")] == ["lena"]


async def test_the_snapshot_is_not_read_again_within_cache_seconds(
    spied: DirectoryStore,
    spy: SpyStore,
    elsewhere: DirectoryStore,
    clock: FakeClock,
) -> None:
    await spied.upsert_person(amara())

    first = await spied.snapshot()
    await elsewhere.upsert_person(person("noah", "nelft"))
    clock.now += timedelta(seconds=29.9)
    second = await spied.snapshot()

    assert spy.reads_of(PERSON_PARTITION) == 1
    assert second is first and "noah" not in second.people

    clock.now += timedelta(seconds=0.1)  # 30 s: the cache has expired
    third = await spied.snapshot()

    assert spy.reads_of(PERSON_PARTITION) == 2
    assert "noah" in third.people


async def test_a_clock_that_goes_back_does_not_keep_the_cache_forever(
    spied: DirectoryStore, spy: SpyStore, clock: FakeClock
) -> None:
    await spied.snapshot()
    clock.now -= timedelta(hours=1)
    await spied.snapshot()

    assert spy.reads_of(PERSON_PARTITION) == 2


@pytest.mark.parametrize("change", ["upsert", "import"])
async def test_writes_through_the_store_drop_the_cache(
    spied: DirectoryStore, spy: SpyStore, change: str
) -> None:
    await spied.upsert_person(amara())
    await spied.snapshot()

    if change == "upsert":
        await spied.upsert_person(person("noah", "nelft"))
    else:
        await spied.import_records([record("noah")])
    after = await spied.snapshot()

    assert spy.reads_of(PERSON_PARTITION) == 2 + (change == "import")  # import reads to check
    assert "noah" in after.people and "amara" in after.people


async def test_a_read_that_overlaps_a_write_is_not_cached(
    spied: DirectoryStore, spy: SpyStore
) -> None:
    async def write_meanwhile() -> None:
        await spied.upsert_person(person("noah", "nelft"))

    spy.during_query = write_meanwhile
    overlapped = await spied.snapshot()  # read before noah landed
    fresh = await spied.snapshot()

    assert "noah" not in overlapped.people
    assert "noah" in fresh.people
    assert spy.reads_of(PERSON_PARTITION) == 2


async def test_cache_seconds_zero_reads_every_time(
    spy: SpyStore, clock: FakeClock, table: str
) -> None:
    uncached = DirectoryStore(spy, now=clock, table=table, cache_seconds=0)
    await uncached.ensure_tables()

    await uncached.snapshot()
    await uncached.snapshot()

    assert spy.reads_of(PERSON_PARTITION) == 2


async def test_a_check_of_an_unchanged_directory_reads_one_row_and_keeps_the_snapshot(
    spied: DirectoryStore, spy: SpyStore, clock: FakeClock
) -> None:
    await spied.upsert_person(amara())
    await spied.refresh()
    first = await spied.snapshot()
    calls = len(spy.calls)

    for _ in range(5):
        clock.now += timedelta(seconds=15)  # past cache_seconds (30 s) twice over, in all
        await spied.refresh()

    assert spy.calls[calls:] == [("get", VERSION_PARTITION)] * 5  # the version row alone
    assert await spied.snapshot() is first  # found current: kept, not read again by a turn
    assert len(spy.calls) == calls + 5


@pytest.mark.parametrize("change", ["upsert", "import", "agency"])
async def test_a_change_by_another_process_is_seen_at_the_next_check(
    spied: DirectoryStore,
    spy: SpyStore,
    elsewhere: DirectoryStore,
    clock: FakeClock,
    change: str,
) -> None:
    await spied.upsert_person(amara())
    await spied.refresh()

    if change == "upsert":
        await elsewhere.upsert_person(amara(roles=frozenset({"practitioner"})))
    elif change == "import":
        await elsewhere.import_records([record("amara", agency="redbridge-asc")])
    else:
        await elsewhere.import_records([], [{"id": "redbridge-asc", "tenants": ["t-9"]}])
    clock.now += timedelta(seconds=1)
    before = len(spy.calls)
    await spied.refresh()

    # The version row read once, then the rows it found changed: nothing read twice.
    assert spy.calls[before:] == [
        ("get", VERSION_PARTITION),
        ("query_partition", PERSON_PARTITION),
        ("query_partition", AGENCY_PARTITION),
    ]
    snapshot = await spied.snapshot()
    if change == "agency":
        assert snapshot.agency("redbridge-asc").tenants == frozenset({"t-9"})
    else:  # a role revoked elsewhere no longer holds here
        assert "safeguarding_lead" not in snapshot.people["amara"].roles


@pytest.mark.parametrize("first_read", ["a turn's", "the check's"])
async def test_a_write_elsewhere_during_a_whole_read_is_read_at_the_next_check(
    spied: DirectoryStore,
    spy: SpyStore,
    elsewhere: DirectoryStore,
    clock: FakeClock,
    first_read: str,
) -> None:
    await spied.upsert_person(amara())

    async def revoke_meanwhile() -> None:  # rows and version row, after the rows were read
        await elsewhere.upsert_person(amara(roles=frozenset({"practitioner"})))

    spy.during_query = revoke_meanwhile
    if first_read == "a turn's":
        read = await spied.snapshot()  # the rows alone: no version row to trust later
    else:
        await spied.refresh()  # the version row before the rows, so it is the older one
        read = await spied.snapshot()
    assert "safeguarding_lead" in read.people["amara"].roles  # read before the change landed

    clock.now += timedelta(seconds=5)
    await spied.refresh()

    assert "safeguarding_lead" not in (await spied.snapshot()).people["amara"].roles


async def test_a_change_that_never_reached_the_version_row_is_read_within_full_read_seconds(
    spied: DirectoryStore, spy: SpyStore, store: TableStore, clock: FakeClock, table: str
) -> None:
    await spied.upsert_person(amara())
    await spied.refresh()
    # A writer that stopped after its rows, before the version row (its process ended).
    row = await store.get(table, PERSON_PARTITION, safe_key("amara"))
    assert row is not None
    await store.upsert(table, {**row.entity, "roles": '["practitioner"]'})

    for _ in range(int(FULL_READ_SECONDS // 5)):  # the background checks, every 5 s
        clock.now += timedelta(seconds=5)
        await spied.refresh()

    assert "safeguarding_lead" not in (await spied.snapshot()).people["amara"].roles
    assert spy.reads_of(PERSON_PARTITION) == 2  # the first read, and one whole read since


async def test_an_import_of_people_and_agencies_rewrites_the_version_row_once_after_them(
    spied: DirectoryStore, spy: SpyStore
) -> None:
    await spied.upsert_person(amara(), teams_user_id="29:1old")
    spy.calls.clear()

    await spied.import_records(
        [record("amara", teams_user_id="29:1new"), record("bola")],
        [{"id": "redbridge-asc", "tenants": ["t-9"]}],
    )

    kinds = ("upsert", "insert", "update", "transact", "delete")
    writes = [partition for method, partition in spy.calls if method in kinds]
    assert {AGENCY_PARTITION, PERSON_PARTITION, TEAMS_PARTITION} <= set(writes)
    assert writes.count(VERSION_PARTITION) == 1
    assert writes[-1] == VERSION_PARTITION  # after every row it stands for, old hints' too


@pytest.mark.parametrize("version_row", ["written", "failing too"])
async def test_a_failed_write_raises_its_own_error_and_still_marks_the_directory_changed(
    spied: DirectoryStore,
    spy: SpyStore,
    caplog: pytest.LogCaptureFixture,
    version_row: str,
) -> None:
    await spied.upsert_person(amara(), teams_user_id="29:1amara")
    await spied.snapshot()
    spy.calls.clear()
    spy.writes = 0
    spy.fail_at_write = 2  # the person row's transaction, after its Teams id's index row
    spy.failing_on = version_row == "failing too"

    with pytest.raises(StorageUnavailable, match="at write 2 "):
        await spied.upsert_person(amara(roles=frozenset({"practitioner"})))

    assert [c for c in spy.calls if c[0] == "transact"][:2] == [
        ("transact", TEAMS_PARTITION),
        ("transact", PERSON_PARTITION),
    ]
    assert spy.calls[-1] == ("upsert", VERSION_PARTITION)  # tried, whatever the rows did
    warned = [r for r in caplog.records if "version row was not rewritten" in r.getMessage()]
    assert len(warned) == (version_row == "failing too")
    spy.fail_at_write = None
    assert "safeguarding_lead" in (await spied.snapshot()).people["amara"].roles
    assert spy.reads_of(PERSON_PARTITION) == 1  # the cache was dropped: read again


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_cache_seconds_must_be_a_finite_number_not_below_zero(
    store: TableStore, clock: FakeClock, seconds: float
) -> None:
    with pytest.raises(ValueError, match="cache_seconds"):
        DirectoryStore(store, now=clock, cache_seconds=seconds)


# --- importing records --------------------------------------------------------------------------


async def test_an_import_stores_everyone_and_indexes_their_teams_ids(
    directory: DirectoryStore,
) -> None:
    records = [
        # The report comes before the manager: order does not matter.
        record("noah", roles=["practitioner"], line_manager="nadia", teams_user_id="29:1noah"),
        record(
            "nadia",
            roles=["line_manager"],
            board_roles=["redbridge:business_manager"],
            email="nadia@example.org",
            aad_object_id="aad-nadia",
        ),
    ]

    assert await directory.import_records(records) == 2

    nadia = Person(
        "nadia",
        "Nadia",
        "nelft",
        frozenset({"line_manager"}),
        frozenset({("redbridge", "business_manager")}),
        None,
        "nadia@example.org",
    )
    assert await directory.person("nadia") == nadia
    assert await directory.find_by_teams_id("aad-nadia") == nadia
    noah = await directory.find_by_teams_id("29:1noah")
    assert noah is not None and noah.line_manager_id == "nadia"
    assert await directory.import_records([]) == 0


async def test_an_import_may_name_a_line_manager_already_stored(
    directory: DirectoryStore,
) -> None:
    await directory.upsert_person(person("nadia", "nelft", "line_manager"))

    await directory.import_records([record("noah", line_manager="nadia")])

    assert (await directory.snapshot()).line_manager_of("noah") == person(
        "nadia", "nelft", "line_manager"
    )


async def test_an_import_replaces_people_leaves_the_rest_and_keeps_teams_ids_not_given(
    directory: DirectoryStore, store: TableStore, table: str
) -> None:
    await directory.upsert_person(amara(line_manager_id=None), teams_user_id="29:1amara")
    await directory.upsert_person(person("noah", "nelft"), teams_user_id="29:1noah")

    await directory.import_records(
        [
            record("amara", agency="redbridge-housing", teams_user_id=None),
            record("noah", teams_user_id="29:1noah-new"),
        ]
    )

    moved = await directory.find_by_teams_id("29:1amara")
    assert moved is not None and moved.agency_id == "redbridge-housing"
    assert await directory.find_by_teams_id("29:1noah") is None
    assert await directory.find_by_teams_id("29:1noah-new") is not None
    assert await store.get(table, TEAMS_PARTITION, "29:1noah") is None


VALID = record("fresh", roles=["practitioner"])


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param([VALID, "alex"], "records[1]: must be a mapping", id="not-a-mapping"),
        pytest.param(
            [VALID, {"id": "p", "agency": "nelft"}], "records[1] (id 'p'): name is required"
        ),
        pytest.param([VALID, record(2910)], "records[1]: id must be a non-empty string"),
        pytest.param([VALID, record("   ")], "records[1] (id '   '): id must be a non-empty"),
        pytest.param([VALID, record("p", roles="practitioner")], "roles must be a list"),
        pytest.param([VALID, record("p", board_roles=["redbridge"])], "'board:role'"),
        pytest.param(
            [VALID, record("p", line_manger="fresh")],
            "records[1] (id 'p'): unknown field(s) 'line_manger'",
        ),
        pytest.param([VALID, record("p", email=False)], "email must be a non-empty string"),
        pytest.param([VALID, record("p", teams_user_id=1750)], "teams_user_id must be"),
        pytest.param([VALID, record("x" * 600)], "id is too long"),
        pytest.param([VALID, record("fresh")], "records[1] (id 'fresh'): the id is also used by"),
        pytest.param(
            [VALID, record("p", line_manager="ghost")],
            "records[1] (id 'p'): line_manager 'ghost' is nobody",
        ),
        pytest.param(
            [VALID, record("p", line_manager="p")], "records[1] (id 'p'): a person cannot be"
        ),
        pytest.param(
            [VALID, record("p", line_manager="q"), record("q", line_manager="p")],
            "records[1] (id 'p'): line managers form a loop: 'p' -> 'q' -> 'p'",
            id="cycle-in-import",
        ),
        pytest.param(
            [VALID, record("stored-a", line_manager="p"), record("p", line_manager="stored-b")],
            "line managers form a loop",
            id="cycle-through-stored-people",
        ),
        pytest.param(
            [VALID, record("p", teams_user_id="T1"), record("q", aad_object_id="T1")],
            "records[2] (id 'q'): Teams id 'T1' is also held by records[1]",
        ),
        pytest.param(
            [VALID, record("p", teams_user_id="29:1stored")],
            "records[1] (id 'p'): Teams id '29:1stored' is also held by 'stored-a'",
        ),
        pytest.param([VALID, record(chr(0x1FBD) + "0")], "the id's table key is already used by"),
    ],
)
async def test_an_invalid_import_is_refused_whole_and_changes_nothing(
    directory: DirectoryStore,
    store: TableStore,
    table: str,
    records: list[Any],
    expected: str,
) -> None:
    await directory.upsert_person(person("stored-a", "nelft"), teams_user_id="29:1stored")
    await directory.upsert_person(person("stored-b", "nelft", manager="stored-a"))
    await directory.upsert_person(person(chr(0x1FBD0), "nelft"))
    before = await rows(store, table)

    with pytest.raises(ValueError) as refused:
        await directory.import_records(records)

    assert expected in str(refused.value)
    assert "nothing was changed" in str(refused.value)
    assert await rows(store, table) == before
    assert "fresh" not in (await directory.snapshot()).people


async def test_a_refused_import_names_every_bad_record(directory: DirectoryStore) -> None:
    with pytest.raises(ValueError) as refused:
        await directory.import_records(
            [record("a", line_manager="a"), VALID, record("b", roles="x")]
        )

    message = str(refused.value)
    assert "2 problems" in message
    assert "records[0] (id 'a')" in message and "records[2] (id 'b')" in message
    assert "records[1]" not in message


async def test_an_import_needs_a_list(directory: DirectoryStore) -> None:
    with pytest.raises(ValueError, match="list of mappings"):
        await directory.import_records("people")  # type: ignore[arg-type]


# --- agencies and their Teams tenants -----------------------------------------------------------

TENANT_A = "6F1C1B0E-0000-4000-8000-00000000000A"  # as an admin might paste it: upper case
TENANT_B = "6f1c1b0e-0000-4000-8000-00000000000b"


async def test_an_import_registers_agencies_with_their_tenants(
    directory: DirectoryStore, store: TableStore, table: str
) -> None:
    count = await directory.import_records(
        [record("noah")],
        [
            {"id": "nelft", "tenants": [TENANT_A, TENANT_B]},
            {"id": "probation", "tenants": []},
            {"id": "met-police"},
        ],
    )

    assert count == 1
    snapshot = await directory.snapshot()
    assert snapshot.agency("nelft") == Agency.of("nelft", [TENANT_A.lower(), TENANT_B])
    assert snapshot.lists_tenant("nelft", TENANT_A.lower())  # tenant ids compare in any case
    assert snapshot.lists_tenant("nelft", TENANT_B.upper())
    assert not snapshot.lists_tenant("probation", TENANT_A)  # on no tenant: not on Teams
    assert not snapshot.lists_tenant("bhrut", TENANT_A)  # not registered at all
    assert not snapshot.lists_tenant("nelft", None)
    assert snapshot.agencies_of_tenant(TENANT_B) == ["nelft"]
    assert [a.id for a in await directory.agencies()] == ["met-police", "nelft", "probation"]
    row = await store.get(table, AGENCY_PARTITION, "nelft")
    assert row is not None and row.entity["id"] == "nelft"


async def test_an_import_replaces_the_tenants_of_the_agencies_it_lists_only(
    directory: DirectoryStore,
) -> None:
    await directory.import_records(
        [], [{"id": "nelft", "tenants": [TENANT_A]}, {"id": "cnwl", "tenants": [TENANT_B]}]
    )
    await directory.import_records([], [{"id": "nelft", "tenants": []}])

    snapshot = await directory.snapshot()
    assert not snapshot.agency("nelft").tenants  # taken off Teams
    assert snapshot.lists_tenant("cnwl", TENANT_B)  # left as it was


@pytest.mark.parametrize(
    ("agencies", "expected"),
    [
        ([{"id": "NELFT", "tenants": []}], "agencies[0] (id 'NELFT'): id must be an agency id"),
        ([{"tenants": []}], "agencies[0]: id is required"),
        (
            [{"id": "nelft", "tenants": TENANT_A}],
            "agencies[0] (id 'nelft'): tenants must be a list",
        ),
        ([{"id": "nelft", "tenants": [7]}], "tenants must be a list of Microsoft Entra tenant ids"),
        ([{"id": "nelft", "tenants": ["a b"]}], "a tenant id is one word"),
        ([{"id": "nelft", "tenant": [TENANT_A]}], "unknown field(s) 'tenant' (misspelt?)"),
        (
            [{"id": "nelft"}, {"id": "nelft"}],
            "agencies[1] (id 'nelft'): also listed as agencies[0]",
        ),
        (["nelft"], "agencies[0]: must be a mapping"),
    ],
)
async def test_a_bad_agency_refuses_the_whole_import(
    directory: DirectoryStore, agencies: list[Any], expected: str
) -> None:
    with pytest.raises(ValueError) as refused:
        await directory.import_records([record("noah")], agencies)

    assert expected in str(refused.value)
    snapshot = await directory.snapshot()
    assert snapshot.people == {} and snapshot.agencies == {}


async def test_agencies_must_be_a_list(directory: DirectoryStore) -> None:
    with pytest.raises(ValueError, match="agencies must be a list of mappings"):
        await directory.import_records([], "nelft")  # type: ignore[arg-type]


# --- standing: pending and declined entries hold no authority ----------------------------------


def pending(pid: str, **changes: Any) -> Person:
    fields: dict[str, Any] = {
        "id": pid,
        "name": pid.title(),
        "agency_id": "nelft",
        "line_manager_id": "nadia",
        "status": Standing.PENDING,
        "requested_roles": frozenset({"practitioner"}),
    }
    fields.update(changes)
    return Person(**fields)


async def test_a_pending_entry_round_trips_with_its_request(
    directory: DirectoryStore, store: TableStore, table: str
) -> None:
    await directory.upsert_person(person("nadia", "nelft", "line_manager"))
    await directory.write_entry(
        pending("sam"),
        teams_user_id="29:sam",
        aad_object_id="aad-sam",
        request_id="JR-ABC234",
        etag=None,
    )

    entry = await directory.entry("sam")
    assert entry is not None
    assert entry.person == pending("sam")
    assert entry.request_id == "JR-ABC234"
    assert (entry.teams_user_id, entry.aad_object_id) == ("29:sam", "aad-sam")
    assert await directory.find_by_teams_id("aad-sam") == pending("sam")
    row = await store.get(table, PERSON_PARTITION, "sam")
    assert row is not None and row.entity["status"] == "pending"
    # An active entry's row has no standing properties: rows written before them read the same.
    nadia = await store.get(table, PERSON_PARTITION, "nadia")
    assert nadia is not None and "status" not in nadia.entity and "request" not in nadia.entity


async def test_pending_and_declined_entries_hold_no_authority_in_the_snapshot(
    directory: DirectoryStore,
) -> None:
    await directory.upsert_person(person("nadia", "nelft", "line_manager"))
    await directory.write_entry(
        pending("sam"), teams_user_id=None, aad_object_id=None, request_id="JR-1", etag=None
    )
    await directory.write_entry(
        pending("pat", line_manager_id=None, status=Standing.DECLINED, requested_roles=frozenset()),
        teams_user_id=None,
        aad_object_id=None,
        request_id=None,
        etag=None,
    )
    await directory.write_entry(
        pending("lee", line_manager_id="sam"),
        teams_user_id=None,
        aad_object_id=None,
        request_id="JR-2",
        etag=None,
    )

    snapshot = await directory.snapshot()
    sam = snapshot.person("sam")
    assert sam is not None and not sam.active  # there, to be told who must approve
    assert snapshot.line_manager_of("sam") is None  # a named manager manages nobody yet
    assert snapshot.line_manager_of("lee") is None  # nor does a pending one
    assert [p.id for p in snapshot.holders("practitioner", "nelft")] == []
    assert [p.id for p in snapshot.holders("line_manager", "nelft")] == ["nadia"]


async def test_write_entry_writes_only_over_the_row_it_read(directory: DirectoryStore) -> None:
    await directory.upsert_person(person("sam", "nelft", "practitioner"), aad_object_id="aad-sam")
    before = await directory.entry("sam")
    assert before is not None
    await directory.upsert_person(person("sam", "nelft", "line_manager"))  # changed meanwhile

    with pytest.raises(ConcurrencyConflict):
        await directory.write_entry(
            pending("sam"),
            teams_user_id=None,
            aad_object_id="aad-sam",
            request_id="JR-1",
            etag=before.etag,
        )
    with pytest.raises((ConcurrencyConflict, EntityExists)):
        await directory.write_entry(
            pending("sam"), teams_user_id=None, aad_object_id=None, request_id=None, etag=None
        )
    assert (await directory.person("sam")) == person("sam", "nelft", "line_manager")


async def test_write_entry_refuses_a_teams_id_another_person_holds(
    directory: DirectoryStore,
) -> None:
    await directory.upsert_person(person("noah", "nelft", "practitioner"), aad_object_id="aad-n")

    with pytest.raises(ValueError, match="already belongs to 'noah'"):
        await directory.write_entry(
            pending("teams-aad-n"),
            teams_user_id=None,
            aad_object_id="aad-n",
            request_id="JR-1",
            etag=None,
        )
    assert await directory.person("teams-aad-n") is None


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (pending("sam", roles=frozenset({"line_manager"})), "holds no roles until it is approved"),
        (
            Person(id="sam", name="Sam", agency_id="nelft", requested_roles=frozenset({"x"})),
            "an active entry has no requested roles",
        ),
    ],
)
async def test_an_entry_that_mixes_standing_and_authority_is_refused(
    directory: DirectoryStore, entry: Person, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        await directory.write_entry(
            entry, teams_user_id=None, aad_object_id=None, request_id=None, etag=None
        )


async def test_an_import_makes_a_pending_entry_active(directory: DirectoryStore) -> None:
    await directory.import_records([record("nadia", roles=["line_manager"])])
    await directory.write_entry(
        pending("sam"), teams_user_id=None, aad_object_id="aad-sam", request_id="JR-1", etag=None
    )

    await directory.import_records([record("sam", roles=["practitioner"], line_manager="nadia")])

    entry = await directory.entry("sam")
    assert entry is not None and entry.person.active and entry.request_id is None
    assert entry.aad_object_id == "aad-sam"  # the Teams id is kept
    assert (await directory.snapshot()).line_manager_of("sam") == await directory.person("nadia")


# --- the directory file -------------------------------------------------------------------------


def test_a_directory_file_gives_its_records(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_text("people:\n  - {id: a, name: A, agency: nelft, teams_user_id: '29:10'}\n")

    assert load_directory_file(path) == DirectoryFile(
        people=[{"id": "a", "name": "A", "agency": "nelft", "teams_user_id": "29:10"}],
        agencies=[],
    )


def test_a_directory_file_gives_its_agencies_and_their_tenants(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_text(
        "agencies:\n  - {id: nelft, tenants: ['6f1c1b0e-0000-4000-8000-000000000001']}\n"
        "  - {id: probation}\n"
    )

    assert load_directory_file(path) == DirectoryFile(
        people=[],
        agencies=[
            {"id": "nelft", "tenants": ["6f1c1b0e-0000-4000-8000-000000000001"]},
            {"id": "probation"},
        ],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("people: [\n  {id: a\n", "not valid YAML"),
        ("people:\n  - {id: a, id: b}\n", "given twice"),
        ("- {id: a}\n", "a mapping with the keys 'agencies'"),
        ("people: []\nextra: 1\n", "a mapping with the keys 'agencies'"),
        ("people: {id: a}\n", "'people' must be a list"),
        ("people:\n  - alex\n", "people[0] must be a mapping"),
        ("agencies: nelft\n", "'agencies' must be a list"),
        ("agencies:\n  - nelft\n", "agencies[0] must be a mapping"),
        ("", "a mapping with the keys"),
    ],
)
def test_a_bad_directory_file_is_refused_naming_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "people.yaml"
    path.write_text(text)

    with pytest.raises(DirectoryFileError) as refused:
        load_directory_file(path)

    assert str(refused.value).startswith(f"{path}:")
    assert expected in str(refused.value)


def test_a_missing_directory_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DirectoryFileError, match="no such file"):
        load_directory_file(tmp_path / "missing.yaml")


# --- the sample directory -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def packs() -> PackRegistry:
    return PackRegistry.from_directory(POLICIES)


def selectors_in(node: object) -> Iterator[Selector]:
    """Every selector anywhere in a pack: stage actors, notifications, advisers, clock owners,
    immediate risk, resource implications, recommendations and panels."""
    if isinstance(node, Selector):
        yield node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from selectors_in(getattr(node, name))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from selectors_in(item)


async def imported_sample(store: TableStore, clock: FakeClock) -> DirectoryStore:
    sample = DirectoryStore(store, now=clock, table=unique_table_name())
    await sample.ensure_tables()
    loaded = load_directory_file(SAMPLE)
    assert await sample.import_records(loaded.people, loaded.agencies) == len(loaded.people)
    return sample


async def test_the_sample_directory_imports(store: TableStore, clock: FakeClock) -> None:
    sample = await imported_sample(store, clock)
    snapshot = await sample.snapshot()
    records = load_directory_file(SAMPLE).people

    assert len(snapshot.people) == len(records)
    for pid, name in PLAYGROUND_USERS.items():
        found = snapshot.person(pid)
        assert found is not None and found.name == name
    assert all("teams_user_id" in r for r in records)  # a place for the lead to fill in
    alex = snapshot.person("alex-wilber")
    assert alex is not None and (alex.agency_id, alex.roles) == (
        "redbridge-asc",
        frozenset({"practitioner"}),
    )
    assert snapshot.line_manager_of("alex-wilber") == snapshot.person("megan-bowen")
    assert snapshot.line_manager_of("adele-vance") == snapshot.person("isaiah-langer")


async def test_the_sample_uses_only_roles_the_packs_define(
    store: TableStore, clock: FakeClock, packs: PackRegistry
) -> None:
    snapshot = await (await imported_sample(store, clock)).snapshot()
    agency_roles = {r.id for pack in packs for r in pack.roles if r.scope == "agency"}

    for someone in snapshot.people.values():
        assert someone.roles <= agency_roles, someone.id
        assert any(pack.agency(someone.agency_id) for pack in packs), someone.id
        for board, role in someone.board_roles:
            found = packs.get(board).role(role)
            assert found is not None and found.scope == "board", (someone.id, board, role)


async def test_the_sample_has_a_holder_for_every_role_each_pack_asks_for(
    store: TableStore, clock: FakeClock, packs: PackRegistry
) -> None:
    snapshot = await (await imported_sample(store, clock)).snapshot()

    for board_id, raiser_id, receiver_id, _track in SAMPLE_CASES:
        pack = packs.get(board_id)
        parties = [snapshot.person(raiser_id), snapshot.person(receiver_id)]
        missing: list[str] = []
        for party in parties:
            assert party is not None and party.holds("practitioner")
            if snapshot.line_manager_of(party.id) is None:
                missing.append(f"line manager of {party.id}")
        # Each role of a stage's actors needs a holder; elsewhere any one role of a selector
        # will do (a clock owned by "senior_manager or named_safeguarding_professional").
        actors = [s for stage in pack.stages for s in stage.actors]
        for selector in [*actors, *selectors_in(pack)]:
            each_role = any(selector is actor for actor in actors)
            if selector.who == "board_role":
                held = [r for r in selector.roles if snapshot.board_holders(board_id, r)]
                if not held or (each_role and len(held) < len(selector.roles)):
                    missing.append(f"{board_id}:{'/'.join(selector.roles)}")
            if selector.who != "agency_role":
                continue
            for party in parties:
                assert party is not None
                agency = pack.agency(party.agency_id)
                assert agency is not None
                if selector.sectors and agency.sector not in selector.sectors:
                    continue
                held = [r for r in selector.roles if snapshot.holders(r, agency.id)]
                if not held or (each_role and len(held) < len(selector.roles)):
                    missing.append(f"{'/'.join(selector.roles)} at {agency.id}")
        copied = any(stage.copy_business_manager for stage in pack.stages)
        if copied and not snapshot.board_holders(board_id, "business_manager"):
            missing.append(f"{board_id}:business_manager")
        assert not missing, f"{board_id}: nobody holds {sorted(set(missing))}"


async def test_every_stage_of_the_sample_cases_resolves_to_people(
    store: TableStore, clock: FakeClock, packs: PackRegistry
) -> None:
    """The directory store as the core's DirectorySource: raise each sample case, then every
    stage's actors, notifications, advisers and clock owners name someone."""
    sample = await imported_sample(store, clock)
    service = EscalationService(
        packs=packs,
        repository=InMemoryCaseRepository(),
        directory=sample,
        notifier=RecordingNotifier(),
        now=clock,
    )
    snapshot = await sample.snapshot()

    for board_id, raiser_id, receiver_id, track in SAMPLE_CASES:
        receiver = snapshot.person(receiver_id)
        assert receiver is not None
        build = redbridge_raise if board_id == "redbridge" else harrow_raise
        outcome = await service.execute(
            build(
                actor_id=raiser_id,
                other_party=OtherParty(agency_id=receiver.agency_id, person_id=receiver_id),
                category="other",
                track=track,
                resource_implications=board_id == "harrow",
            )
        )
        case = outcome.case
        pack = packs.get(board_id)
        assert not unresolved(case, pack, snapshot), (board_id, track)


def unresolved(case: Case, pack: PolicyPack, snapshot: Directory) -> list[str]:
    gaps: list[str] = []
    for stage in pack.stages:
        found = stage_actors(case, pack, snapshot, stage.id).unresolved
        gaps += [f"stage {stage.id} actor: {u.describe}" for u in found]
        for what, selectors in (
            ("notify", stage.notify_on_entry),
            ("adviser", stage.advisers),
            ("clock owner", [s for clock in stage.clocks for s in clock.owner]),
        ):
            found = resolve(selectors, case, pack, snapshot).unresolved
            gaps += [f"stage {stage.id} {what}: {u.describe}" for u in found]
    found = resolve(pack.immediate_risk.notify, case, pack, snapshot).unresolved
    gaps += [f"immediate risk: {u.describe}" for u in found]
    return gaps
