"""The directory's background check: unchanged, against a whole read.

    .venv/bin/python -m benchmarks.directory_refresh [--people 1000,4000] [--repeat 20] [--azurite]

Each instance of the app checks the directory every 5 s (storage/directory_store.py). An
unchanged directory costs one read of its version row; a changed one, a read of every person and
agency and a new snapshot built from them, on the event loop. For each size, the median time of
the check (`DirectoryStore.refresh`) and the event loop thread's CPU for it, with the directory
unchanged, and with it changed before each check (the baseline: what every check cost before).
On the embedded store, or with --azurite on Azure Table Storage's emulator (`npm install`), where
each read is a request and a partition comes back in pages of 1,000 entities.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.directory_options import bounded, directory_parser
from bootstrap.build import open_storage
from storage.directory_store import DirectoryStore
from storage.settings import StorageSettings
from testkit.azurite import AZURITE_TABLE, running_azurite

AGENCIES = ("redbridge-asc", "nelft", "met-police", "redbridge-housing")


def records(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"p{n:05d}",
            "name": f"Person {n:05d}",
            "agency": AGENCIES[n % len(AGENCIES)],
            "roles": ["practitioner"] if n % 10 else ["line_manager"],
            "line_manager": f"p{n - n % 10:05d}" if n % 10 else None,
            "email": f"p{n:05d}@example.org",
            "teams_user_id": f"29:p{n:05d}",
            "aad_object_id": f"aad-p{n:05d}",
        }
        for n in range(count)
    ]


async def timed(
    check: Callable[[], Awaitable[None]], before: Callable[[], Awaitable[None]], repeat: int
) -> tuple[float, float]:
    """The median wall time and loop-thread CPU of `check`, each after `before` (untimed)."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(repeat):
        await before()
        wall, cpu = time.perf_counter(), time.thread_time()
        await check()
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus)


async def measure(people: int, repeat: int, connection_string: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"dir{people}"  # a table of its own on the emulator, for each size
        settings = StorageSettings(connection_string, Path(tmp) / "data", table_prefix=prefix)
        storage = await open_storage(settings)
        try:
            agencies = [{"id": a, "tenants": ["tenant-1"]} for a in AGENCIES]
            await storage.directory.import_records(records(people), agencies)
            # A second instance of the app, checking what the first writes.
            watcher = DirectoryStore(
                storage.store, now=lambda: datetime.now(UTC), table=storage.tables.directory
            )
            await watcher.refresh()

            async def nothing() -> None:
                pass

            async def change() -> None:  # a write elsewhere: the next check reads it all
                await storage.directory.import_records([], agencies)

            same = await timed(watcher.refresh, nothing, repeat)
            changed = await timed(watcher.refresh, change, repeat)
            assert len((await watcher.snapshot()).people) == people
        finally:
            await storage.close()
    print(
        f"{people:>6} people: check {same[0] * 1000:7.2f} ms (loop CPU {same[1] * 1000:6.2f}) "
        f"unchanged, {changed[0] * 1000:7.2f} ms (loop CPU {changed[1] * 1000:6.2f}) changed: "
        f"{changed[0] / same[0]:.0f}x the time, {changed[1] / max(same[1], 1e-6):.0f}x the CPU"
    )


async def main(args: argparse.Namespace) -> None:
    if not args.azurite:
        print("the embedded store:")
        for people in args.people:
            await measure(people, args.repeat, None)
        return
    if not AZURITE_TABLE.exists():
        raise SystemExit(f"Azurite is not installed ({AZURITE_TABLE}): run `npm install`")
    with tempfile.TemporaryDirectory() as work, running_azurite(Path(work)) as connection_string:
        print("Azure Table Storage (Azurite, on this machine):")
        for people in args.people:
            await measure(people, args.repeat, connection_string)


if __name__ == "__main__":
    options = directory_parser(__doc__, repeat=20)
    options.add_argument(
        "--azurite", action="store_true", help="on Azurite, not the embedded store"
    )
    asyncio.run(main(bounded(options.parse_args(), most_repeat=200)))
