"""Seeding real (embedded SQLite) storage with SYNTHETIC cases: stored, indexed, no messages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bootstrap.build import open_storage
from escalation.case import fold
from escalation.events import verify_chain
from escalation.packs import PackRegistry
from reports.sample import seed_storage
from storage.settings import StorageSettings


async def test_seed_storage_writes_cases_that_verify(packs: PackRegistry, tmp_path: Path) -> None:
    storage = await open_storage(StorageSettings(connection_string=None, data_dir=tmp_path))
    try:
        ids = await seed_storage(storage, packs, 25, seed=4)
        assert len(ids) == 25 and len(set(ids)) == 25
        stored = set(await storage.cases.case_ids("redbridge")) | set(
            await storage.cases.case_ids("harrow")
        )
        assert stored == set(ids)
        now = datetime.now(UTC)
        for case_id in ids:
            loaded = await storage.cases.load(case_id)
            assert loaded is not None and verify_chain(case_id, loaded.events) == []
            assert fold(loaded.events).id == case_id
            assert all(e.at <= now for e in loaded.events)
        items, _ = await storage.outbox.due(datetime(2100, 1, 1, tzinfo=UTC))
        assert items == []  # nothing queued for the invented people
    finally:
        await storage.close()
