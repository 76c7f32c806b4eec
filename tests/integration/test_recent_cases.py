"""A case read or saved before is read again from its last held event on (storage.recent_cases),
on both engines: what comes back is the stored history and its fold, exactly as a whole read
gives them, with another instance's changes, a deletion or a history not as held all seen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest

from escalation.case import fold
from escalation.directory import StaticDirectory
from escalation.packs import PackRegistry
from escalation.ports import StoredCase
from escalation.service import EscalationService
from storage.cases import EVENT_PREFIX, TableCaseRepository, event_row
from storage.tables import ROW_KEY, StoredEntity, TableStore
from testkit.builders import discussion, redbridge_raise
from testkit.fakes import RecordingNotifier
from testkit.people import POLICIES, make_directory
from testkit.round_trips import WrappedStore
from tests.integration.harness import Harness

T = TypeVar("T")


class RowsRead(WrappedStore):
    """Counts the event rows each read of a case brings back."""

    def __init__(self, inner: TableStore) -> None:
        super().__init__(inner)
        self.reads: list[int] = []

    async def around(self, op: str, table: str, key: str, call: Callable[[], Awaitable[T]]) -> T:
        found = await call()
        if op == "query_partition" and isinstance(found, list):
            self.reads.append(sum(1 for r in found if _is_event(r)))
        return found


def _is_event(row: StoredEntity) -> bool:
    return str(row.entity[ROW_KEY]).startswith(EVENT_PREFIX)


def another_instance(tables: Harness) -> tuple[TableCaseRepository, RowsRead]:
    """A second repository on the same tables, as another instance of the app would have."""
    assert tables.store is not None and tables.tables is not None
    counted = RowsRead(tables.store)
    return TableCaseRepository(counted, tables.tables), counted


async def whole(tables: Harness, case_id: str) -> StoredCase:
    """The case read as a fresh instance reads it: every event."""
    fresh, _ = another_instance(tables)
    stored = await fresh.load(case_id)
    assert stored is not None
    return stored


async def opened_and_discussed(service: EscalationService, harness: Harness) -> str:
    opened = await service.execute(redbridge_raise())
    await service.execute(discussion("noah", opened.case.id, harness.clock.now, "continuing"))
    return opened.case.id


async def test_a_case_read_again_brings_back_only_its_last_held_event(tables: Harness) -> None:
    case_id = await opened_and_discussed(tables.service(), tables)
    mine, counted = another_instance(tables)
    first = await mine.load(case_id)
    again = await mine.load(case_id)
    assert first is not None and again is not None
    assert counted.reads == [first.version, 1]
    assert list(again.events) == list((await whole(tables, case_id)).events)
    assert again.case == fold(again.events)


async def test_another_instances_changes_are_read_and_folded_on(tables: Harness) -> None:
    service = tables.service()
    case_id = await opened_and_discussed(service, tables)
    mine, counted = another_instance(tables)
    before = await mine.load(case_id)
    assert before is not None
    held = before.case  # folded here: the next read folds on from it
    tables.clock.now += timedelta(hours=1)
    changed = await service.execute(
        discussion("noah", case_id, tables.clock.now, "not_resolved", summary="Again")
    )
    after = await mine.load(case_id)
    assert after is not None
    assert counted.reads[-1] == 1 + len(changed.events)
    assert list(after.events) == list((await whole(tables, case_id)).events)
    assert after.folded is held
    assert after.case == changed.case == fold(after.events)


async def test_a_case_deleted_elsewhere_reads_as_gone(tables: Harness) -> None:
    case_id = await opened_and_discussed(tables.service(), tables)
    mine, _ = another_instance(tables)
    assert await mine.load(case_id) is not None
    assert isinstance(tables.repository, TableCaseRepository)
    await tables.repository.delete_case(case_id, "redbridge")
    assert await mine.load(case_id) is None


async def test_a_last_event_not_as_held_sends_the_read_back_to_the_whole_history(
    tables: Harness,
) -> None:
    case_id = await opened_and_discussed(tables.service(), tables)
    mine, counted = another_instance(tables)
    held = await mine.load(case_id)
    assert held is not None and tables.store is not None and tables.tables is not None
    # The stored last event is not the one held (as after a restore from another backup).
    row = await tables.store.get(tables.tables.cases, case_id, event_row(held.version))
    assert row is not None
    await tables.store.upsert(tables.tables.cases, {**row.entity, "hash": "0" * 64})
    read = await mine.load(case_id)
    assert read is not None
    assert counted.reads[-2:] == [1, held.version]  # tried from the last event, then whole
    assert read.events[-1].hash == "0" * 64


async def test_a_case_saved_here_is_read_again_with_the_saved_fold(tables: Harness) -> None:
    assert tables.store is not None and tables.tables is not None
    counted = RowsRead(tables.store)
    mine = TableCaseRepository(counted, tables.tables)
    service = EscalationService(
        packs=PackRegistry.from_directory(POLICIES),
        repository=mine,
        directory=StaticDirectory(make_directory()),
        notifier=RecordingNotifier(),
        now=tables.clock,
    )
    opened = await service.execute(redbridge_raise())
    assert counted.reads == []  # a raise reads nothing
    recorded = await service.execute(
        discussion("noah", opened.case.id, tables.clock.now, "continuing")
    )
    assert counted.reads == [1]  # the discussion's read: the raise's last event only
    stored = await mine.load(opened.case.id)
    assert stored is not None and counted.reads == [1, 1]
    assert stored.case is recorded.case
    assert list(stored.events) == list((await whole(tables, opened.case.id)).events)


@pytest.mark.parametrize("split", [0, 1, 2, 3])
async def test_a_fold_held_for_part_of_a_history_folds_on_to_the_whole(
    harness: Harness, split: int
) -> None:
    case_id = await opened_and_discussed(harness.service(), harness)
    harness.clock.now += timedelta(hours=1)
    await harness.service().execute(
        discussion("amara", case_id, harness.clock.now, "not_resolved", summary="Again")
    )
    stored = await harness.repository.load(case_id)
    assert stored is not None
    events = tuple(stored.events)
    folded = fold(events[:split]) if split else None
    assert StoredCase(events, folded=folded).case == fold(events)
    # A fold of more events than the history holds is not a fold of it: folded afresh.
    assert StoredCase(events[:1], folded=fold(events)).case == fold(events[:1])
