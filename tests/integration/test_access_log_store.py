"""The access log (who has seen a case), against both engines: the same contract on each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bootstrap.build import open_storage
from escalation.access_log import AccessEntry, Seen, board_subject
from storage.access_log import CASE_ACCESS, TableAccessLog, access_row
from storage.settings import StorageSettings
from storage.tables import StorageError, TableStore
from testkit.azurite import unique_table_name
from testkit.round_trips import CallLog

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
CASE = "RB-2026-K7QX2M"


def seen(
    who: str, minutes: int, what: str = Seen.CARD, *, subject: str = CASE, view: str = "full"
) -> AccessEntry:
    return AccessEntry(subject, who, what, AT + timedelta(minutes=minutes), view)


async def access_log(store: TableStore, suffix: Callable[[], str] | None = None) -> TableAccessLog:
    table = unique_table_name()
    log = (
        TableAccessLog(store, table=table)
        if suffix is None
        else TableAccessLog(store, table=table, suffix=suffix)
    )
    await log.ensure_tables()
    return log


async def test_views_are_kept_with_who_what_and_when_and_read_oldest_first(
    store: TableStore,
) -> None:
    log = await access_log(store)
    later, earlier = seen("noah", 30, Seen.REFRESH), seen("amara", 5, Seen.CASE)
    await log.record(later)
    await log.record(earlier)
    await log.record(seen("cli:admin", 60, Seen.EXPORT, view=""))
    entries = await log.entries(CASE)
    assert entries == [earlier, later, seen("cli:admin", 60, Seen.EXPORT, view="")]
    assert all(e.at.tzinfo == UTC for e in entries)
    # Another case's views, and a board's report views, are kept apart.
    await log.record(seen("sam", 1, subject="RB-2026-AAAAAA"))
    report = seen("rb-bm", 2, Seen.REPORT, subject=board_subject("redbridge"), view="")
    await log.record(report)
    assert [e.who for e in await log.entries(CASE)] == ["amara", "noah", "cli:admin"]
    assert await log.entries(board_subject("redbridge")) == [report]
    assert await log.entries("RB-2026-NOTHING") == []


async def test_two_views_in_the_same_microsecond_are_both_kept(store: TableStore) -> None:
    suffixes: Iterator[str] = iter(["aaaa", "aaaa", "bbbb"])  # the second draw collides once
    log = await access_log(store, suffix=lambda: next(suffixes))
    await log.record(seen("amara", 0))
    await log.record(seen("noah", 0))
    assert sorted(e.who for e in await log.entries(CASE)) == ["amara", "noah"]


async def test_several_views_of_a_case_are_kept_in_one_write(store: TableStore) -> None:
    calls = CallLog(store)
    log = TableAccessLog(calls, table=unique_table_name())
    await log.ensure_tables()
    views = [seen("amara", 0), seen("noah", 0), seen("channel:redbridge", 0, Seen.COPY)]
    await log.record_all(views)
    assert sorted(await log.entries(CASE), key=lambda e: e.who) == sorted(
        views, key=lambda e: e.who
    )
    assert [op for op, _ in calls.writes] == ["transact"]
    with pytest.raises(ValueError, match="one subject"):
        await log.record_all([seen("amara", 1), seen("amara", 1, subject="RB-2026-AAAAAA")])


async def test_views_whose_row_collides_are_kept_one_by_one(store: TableStore) -> None:
    # The batch's first row is already taken: the batch writes nothing, then each view is
    # recorded alone, drawing a new suffix where its row is taken.
    suffixes: Iterator[str] = iter(["aaaa", "aaaa", "bbbb", "aaaa", "cccc", "bbbb", "dddd"])
    log = await access_log(store, suffix=lambda: next(suffixes))
    await log.record(seen("sam", 0))
    await log.record_all([seen("amara", 0), seen("noah", 0)])
    assert sorted(e.who for e in await log.entries(CASE)) == ["amara", "noah", "sam"]


async def test_a_row_that_never_comes_free_is_a_storage_error(store: TableStore) -> None:
    log = await access_log(store, suffix=lambda: "same")
    await log.record(seen("amara", 0))
    with pytest.raises(StorageError, match="no free row"):
        await log.record(seen("noah", 0))


async def test_keys_sort_by_time_whatever_the_offset_of_the_time_given(store: TableStore) -> None:
    log = await access_log(store)
    london = ZoneInfo("Europe/London")
    summer = AccessEntry(CASE, "amara", Seen.CASE, datetime(2026, 7, 1, 9, 0, tzinfo=london))
    utc_first = AccessEntry(CASE, "noah", Seen.CASE, datetime(2026, 7, 1, 7, 59, tzinfo=UTC))
    await log.record(summer)
    await log.record(utc_first)
    assert [e.who for e in await log.entries(CASE)] == ["noah", "amara"]
    assert access_row(summer.at, "x") == "20260701T080000.000000Z-x"


async def test_a_cases_access_rows_are_removed_with_it_and_no_others(store: TableStore) -> None:
    log = await access_log(store)
    for n in range(105):  # more than one transaction's worth
        await log.record(seen(f"p{n}", n))
    await log.record(seen("sam", 1, subject="RB-2026-AAAAAA"))
    assert await log.delete_case(CASE) == 105
    assert await log.entries(CASE) == []
    assert [e.who for e in await log.entries("RB-2026-AAAAAA")] == ["sam"]
    assert await log.delete_case(CASE) == 0  # a second purge finds nothing, and no error


async def test_open_storage_opens_the_access_log_under_the_deployments_prefix(
    tmp_path: Path,
) -> None:
    settings = StorageSettings(connection_string=None, data_dir=tmp_path, table_prefix="test")
    storage = await open_storage(settings)
    try:
        assert storage.access_log.table == f"test{CASE_ACCESS}"
        await storage.access_log.record(seen("amara", 0))
        assert [e.who for e in await storage.access_log.entries(CASE)] == ["amara"]
    finally:
        await storage.close()
