"""The scheduler's sweep with few and with many open cases, on the embedded store.

    .venv/bin/python -m benchmarks.sweep [--small 1000] [--large 100000] [--due 100] [--repeat 5]

Each run has `--due` real cases (raised through the service) whose clocks fall due today, plus
background open cases whose clocks fall due months ahead: their due-index and case-index rows
are written directly, in batches, since raising 100,000 cases one by one would take hours on a
laptop and only their index rows can reach a sweep. A sweep's cost should follow the cases due,
not the cases open: the ratio of the two medians is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bootstrap.build import open_storage
from escalation.directory import StaticDirectory
from escalation.packs import PackRegistry
from escalation.service import EscalationService
from storage.cases import due_partition
from storage.scheduler import Scheduler
from storage.settings import StorageSettings
from storage.stores import Storage
from storage.tables import PARTITION_KEY, ROW_KEY, Op
from testkit.builders import redbridge_raise
from testkit.fakes import RecordingNotifier
from testkit.people import make_directory

POLICIES = Path(__file__).resolve().parents[1] / "policies"
RAISED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday
SWEEP_AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)  # 'respond' falls due today at 17:00


async def seed_background(storage: Storage, count: int) -> None:
    far = RAISED + timedelta(days=120)
    for start in range(0, count, 100):
        ids = [f"RB-2026-BG{n:07d}" for n in range(start, min(start + 100, count))]
        due = far + timedelta(hours=start // 100 % 500)
        await storage.store.transact(
            storage.tables.due_index,
            [
                Op.upsert(
                    {
                        PARTITION_KEY: due_partition(due),
                        ROW_KEY: f"{i}|1|resolve",
                        "case_id": i,
                        "due": due,
                    }
                )
                for i in ids
            ],
        )
        await storage.store.transact(
            storage.tables.case_index,
            [Op.upsert({PARTITION_KEY: "redbridge", ROW_KEY: i, "case_id": i}) for i in ids],
        )


async def measure(background: int, due: int, repeat: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        storage = await open_storage(StorageSettings(None, Path(tmp) / "data"))
        try:
            packs = PackRegistry.from_directory(POLICIES)
            directory = StaticDirectory(make_directory())
            service = EscalationService(
                packs=packs,
                repository=storage.cases,
                directory=directory,
                notifier=RecordingNotifier(),
                now=lambda: RAISED,
            )
            for _ in range(due):
                await service.execute(redbridge_raise())
            await seed_background(storage, background)
            times: list[float] = []
            queued = 0
            for n in range(repeat):
                scheduler = Scheduler(
                    store=storage.store,
                    tables=storage.tables,
                    cases=storage.cases,
                    packs=packs,
                    directory=directory,
                    holder=f"bench-{n}",
                )
                await scheduler.ensure_tables()
                started = time.perf_counter()
                report = await scheduler.sweep(SWEEP_AT)
                times.append(time.perf_counter() - started)
                queued = max(queued, len(report.queued))
            return statistics.median(times), queued
        finally:
            await storage.close()


async def main(args: argparse.Namespace) -> None:
    small, small_queued = await measure(args.small, args.due, args.repeat)
    large, large_queued = await measure(args.large, args.due, args.repeat)
    print(
        f"{args.small + args.due:>7} open cases, {args.due} due: sweep {small * 1000:8.1f} ms (median of {args.repeat}), {small_queued} nudges queued"
    )
    print(
        f"{args.large + args.due:>7} open cases, {args.due} due: sweep {large * 1000:8.1f} ms (median of {args.repeat}), {large_queued} nudges queued"
    )
    print(f"large / small: {large / small:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
