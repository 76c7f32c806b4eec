"""A local app with SYNTHETIC cases, for the tabs' tests: the synthetic directory (every person
with an object id, every agency on one tenant), cases raised and driven through the core up to
the app's clock, and what the core says each person may see."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from admin.cli import main as escalation_main
from app import create_app
from bootstrap.build import open_storage
from bot.settings import AppSettings
from escalation.access import ViewLevel, view_level
from escalation.case import Case
from escalation.directory import Directory, Person
from escalation.packs import PackRegistry, default_policy_dir
from reports.load import board_cases
from reports.sample import generate, synthetic_directory
from storage.settings import StorageSettings
from testkit.clocks import RunningClock
from testkit.connector import serve

TENANT = "00000000-0000-0000-0000-0000000000a1"
# The app's clock: a Wednesday, with working days either side.
START = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 4, 1)


def object_id(person_id: str) -> str:
    return f"oid-{person_id}"


def record(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "agency": person.agency_id,
        "roles": sorted(person.roles),
        "board_roles": [f"{b}:{r}" for b, r in sorted(person.board_roles)],
        "line_manager": person.line_manager_id,
        "aad_object_id": object_id(person.id),
    }


@dataclass
class Seeded:
    settings: AppSettings
    packs: PackRegistry
    directory: Directory
    cases: list[Case]

    def visible(self, person_id: str) -> dict[str, ViewLevel]:
        """Every case the core gives the person a view of, with its level."""
        found: dict[str, ViewLevel] = {}
        for case in self.cases:
            level = view_level(case, self.packs.get(case.board_id), self.directory, person_id)
            if level != ViewLevel.NONE:
                found[case.id] = level
        return found


async def seed(tmp_path: Path, cases: int = 60, seed_no: int = 7) -> Seeded:
    packs = PackRegistry.from_directory(default_policy_dir())
    directory = synthetic_directory(list(packs))
    storage_settings = StorageSettings(None, tmp_path / "data")
    storage = await open_storage(storage_settings)
    try:
        agencies = sorted({p.agency_id for p in directory.people.values()})
        agencies = sorted(set(agencies) | {a.id for pack in packs for a in pack.agencies})
        await storage.directory.import_records(
            [record(p) for p in directory.people.values()],
            [{"id": a, "tenants": [TENANT]} for a in agencies],
        )
        days = (START.date() - FIRST_DAY).days
        await generate(
            storage.cases, packs, cases, seed=seed_no, start=FIRST_DAY, days=days, until=START
        )
        loaded: list[Case] = []
        for board_id in packs.board_ids():
            loaded += await board_cases(storage, board_id)
        snapshot = await storage.directory.snapshot()
    finally:
        await storage.close()
    settings = AppSettings(storage=storage_settings, dispatch_interval_seconds=0.05)
    return Seeded(settings, packs, snapshot, loaded)


@dataclass
class Running:
    url: str
    http: aiohttp.ClientSession
    clock: RunningClock
    app: web.Application

    async def token(self, person_id: str) -> str:
        async with self.http.post(f"{self.url}/tabs/local/token", json={"person": person_id}) as r:
            assert r.status == 200, await r.text()
            return str((await r.json())["token"])

    async def get(self, path: str, token: str | None) -> tuple[int, str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(self.url + path, headers=headers) as r:
            return r.status, await r.text(), r.headers


@asynccontextmanager
async def running(settings: AppSettings) -> AsyncIterator[Running]:
    clock = RunningClock(START)
    app = create_app(settings, clock=clock)
    async with serve(app) as url, aiohttp.ClientSession() as http:
        yield Running(url, http, clock, app)


def cli_report(settings: AppSettings, *argv: str) -> dict[str, Any]:
    """`escalation report --format json`, run as from a shell (its own event loop, a thread)."""
    out, err = io.StringIO(), io.StringIO()
    with ThreadPoolExecutor(max_workers=1) as pool:
        code = pool.submit(
            lambda: escalation_main(
                ["report", *argv, "--format", "json"],
                out=out,
                err=err,
                settings=settings.storage,
            )
        ).result()
    assert code == 0, err.getvalue()
    loaded: dict[str, Any] = json.loads(out.getvalue())
    return loaded


def seeded_in_thread(tmp_path: Path, cases: int = 60) -> Seeded:
    """`seed` from a test that is not async (the browser test)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, seed(tmp_path, cases)).result()
