"""One contract for the case repository, run against the in-memory fake and both real engines."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalation.commands import ApproveRecord, Escalate, SetProtectiveDeadline
from escalation.errors import ConcurrencyConflict, RefusalCode, Refused
from escalation.events import verify_chain
from storage.azure_engine import AzureTableStore
from storage.cases import TableCaseRepository, TableNames
from storage.tables import TableStore
from testkit.builders import discussion, redbridge_raise
from testkit.fakes import InMemoryCaseRepository
from tests.integration.harness import Harness


async def test_an_unknown_case_is_none(harness: Harness) -> None:
    assert await harness.repository.load("RB-2026-NONE") is None


async def test_a_saved_case_loads_exactly_as_it_was_written(harness: Harness) -> None:
    service = harness.service()
    opened = await service.execute(
        redbridge_raise(issue="Café | “quotes” — and a very long line " * 40)
    )
    harness.clock.set("2026-12-02T11:00:00+00:00")
    recorded = await service.execute(
        discussion("noah", opened.case.id, harness.clock.now, "not_resolved")
    )
    stored = await harness.repository.load(opened.case.id)
    assert stored is not None
    assert list(stored.events) == list(opened.events) + list(recorded.events)
    assert verify_chain(opened.case.id, stored.events) == []
    assert await service.case(opened.case.id) == recorded.case


async def test_a_stale_save_is_refused_and_changes_nothing(harness: Harness) -> None:
    service = harness.service()
    opened = await service.execute(redbridge_raise())
    first = await service.execute(
        discussion("noah", opened.case.id, harness.clock.now, "continuing")
    )
    before = await harness.repository.load(opened.case.id)
    # A second instance decided on the version it had read, which is now out of date.
    from escalation.case import evolve
    from escalation.events import EventDraft, append

    stale = append(
        opened.case.id,
        opened.events,
        [EventDraft("SignpostShown", {"signpost": "x"})],
        at=harness.clock.now,
        author="amara",
    )
    with pytest.raises(ConcurrencyConflict):
        await harness.repository.save(
            evolve(opened.case, stale), stale, [], expected_version=opened.case.version
        )
    assert await harness.repository.load(opened.case.id) == before
    assert before is not None and before.version == first.case.version


async def test_two_instances_acting_at_once_cannot_both_win(harness: Harness) -> None:
    one, two = harness.service(), harness.service()
    case_id = (await one.execute(redbridge_raise())).case.id
    shown = (
        await one.execute(discussion("noah", case_id, harness.clock.now, "not_resolved"))
    ).case.version
    results = await asyncio.gather(
        one.execute(
            Escalate(actor_id="amara", case_id=case_id, reason="a", expected_version=shown)
        ),
        two.execute(Escalate(actor_id="noah", case_id=case_id, reason="b", expected_version=shown)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Outcome", "Refused"]
    [loser] = [r for r in results if isinstance(r, Refused)]
    assert loser.code in (RefusalCode.STALE, RefusalCode.CONFLICT)
    case = await one.case(case_id)
    assert [v.stage for v in case.stages] == ["1", "2"]


async def test_many_instances_approving_the_same_record_approve_it_once(harness: Harness) -> None:
    services = [harness.service() for _ in range(4)]
    case_id = (await services[0].execute(redbridge_raise())).case.id
    await services[0].execute(discussion("noah", case_id, harness.clock.now, "continuing"))
    results = await asyncio.gather(
        *(
            s.execute(ApproveRecord(actor_id="amara", case_id=case_id, record_id="R1"))
            for s in services
        ),
        return_exceptions=True,
    )
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, Refused) for r in results if isinstance(r, BaseException))
    case = await services[0].case(case_id)
    assert len(case.records[0].approvals) == 1


async def test_the_notifications_of_a_change_are_saved_with_it(harness: Harness) -> None:
    service = harness.service()
    opened = await service.execute(redbridge_raise())
    keys = {n.key for n in opened.notifications}
    if isinstance(harness.repository, InMemoryCaseRepository):
        assert set(harness.repository.outbox) == keys
        return
    from storage.outbox import TableOutbox

    assert isinstance(harness.repository, TableCaseRepository) and harness.store is not None
    outbox = TableOutbox(harness.store, harness.repository._t)
    due, _ = await outbox.due(harness.clock.now + timedelta(seconds=1))
    assert {i.key for i in due} == keys
    assert {i.notification for i in due} == set(opened.notifications)


async def test_queries_find_cases_by_board_person_and_due_time(tables: Harness) -> None:
    repo = tables.repository
    assert isinstance(repo, TableCaseRepository)
    service = tables.service()
    rb = (await service.execute(redbridge_raise())).case
    assert await repo.case_ids("redbridge") == [rb.id]
    assert await repo.case_ids("harrow") == []
    [mine] = await repo.cases_of_person("noah")
    assert (mine.case_id, mine.stage, mine.status, mine.version) == (rb.id, "1", "open", rb.version)
    assert mine.next_due == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    assert await repo.cases_of_person("rb-chair") == []
    # Only clocks due by the time asked for are read.
    assert await repo.due_hints(datetime(2026, 12, 3, 0, 0, tzinfo=UTC)) == []
    due = await repo.due_hints(datetime(2026, 12, 4, 17, 0, tzinfo=UTC))
    assert [h["RowKey"] for h in due] == [f"{rb.id}|1|respond"]


def test_a_table_endpoint_uses_the_managed_identity_and_no_key(tmp_path: Path) -> None:
    from storage.settings import StorageSettings

    settings = StorageSettings.from_env(
        {"STORAGE_TABLE_ENDPOINT": "https://acct.table.core.windows.net/", "AZURE_CLIENT_ID": "cid"}
    )
    assert (settings.engine, settings.connection_string, settings.managed_identity_client_id) == (
        "azure",
        None,
        "cid",
    )
    assert "managed identity" in settings.describe()
    with pytest.raises(ValueError, match="https:// table endpoint"):
        StorageSettings.from_env({"STORAGE_TABLE_ENDPOINT": "http://acct.table.core.windows.net/"})


async def test_the_managed_identity_client_is_built_without_connecting() -> None:
    from azure.identity.aio import ManagedIdentityCredential

    from storage.factory import open_table_store

    store = open_table_store(
        None,
        Path("unused"),
        table_endpoint="https://acct.table.core.windows.net/",
        managed_identity_client_id="cid",
    )
    assert isinstance(store, AzureTableStore)
    assert isinstance(store._credential, ManagedIdentityCredential)
    await store.close()


async def rows_naming(store: TableStore, tables: TableNames, case_id: str) -> dict[str, int]:
    """How many rows of each of the repository's tables mention `case_id` anywhere."""
    found: dict[str, int] = {}
    for table in tables.all():
        rows = await store.query_range(table, None, None)
        named = [r for r in rows if case_id in json.dumps(r.entity, default=str)]
        if named:
            found[table.removeprefix(tables.prefix)] = len(named)
    return found


async def test_deleting_a_case_removes_every_row_that_names_it(tables: Harness) -> None:
    repo, store = tables.repository, tables.store
    assert isinstance(repo, TableCaseRepository) and store is not None
    service = tables.service()
    case_id = await at_stage_2_with_a_protective_deadline(tables)
    other = (await service.execute(redbridge_raise(adult_reference="ASC-2"))).case.id
    before = await rows_naming(store, repo._t, case_id)
    # Line managers were told at stage 2; the moved deadline left its old hint behind.
    assert before["PersonCases"] >= 4 and before["DueIndex"] >= 2 and before["CaseIndex"] == 1
    others = await rows_naming(store, repo._t, other)

    removed = await repo.delete_case(case_id, "redbridge")

    assert removed == before["Cases"]
    assert await rows_naming(store, repo._t, case_id) == {}
    assert await rows_naming(store, repo._t, other) == others  # nothing else touched
    assert await repo.load(case_id) is None and await repo.case_ids("redbridge") == [other]
    assert [s.case_id for s in await repo.cases_of_person("lena")] == []
    # Again (a purge stopped part-way and run again): nothing left, nothing fails.
    assert await repo.delete_case(case_id, "redbridge") == 0


async def at_stage_2_with_a_protective_deadline(harness: Harness) -> str:
    service, clock = harness.service(), harness.clock
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    clock.set("2026-12-02T14:00:00+00:00")
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    await service.execute(
        SetProtectiveDeadline(
            actor_id="lena",
            case_id=case_id,
            clock_id="resolve",
            due=datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
            reason="Discharge from hospital on Friday",
        )
    )
    return case_id
