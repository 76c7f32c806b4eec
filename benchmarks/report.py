"""The board report over 10,000 SYNTHETIC cases: generation, aggregation and HTML, timed apart.

    .venv/bin/python -m benchmarks.report [--cases 10000] [--seed 1] [--out DIR]

Cases are made in memory by `reports.sample.generate` (real commands through the service).
Aggregation (`board_report`) and rendering (charts + HTML) are timed separately for each board;
the HTML and its PNG charts are written to --out (default: a temporary folder). Bounded: the
case count is capped at 50,000.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from escalation.packs import PackRegistry, default_policy_dir
from reports.figures import board_report
from reports.render import write_report
from reports.sample import generate
from testkit.fakes import InMemoryCaseRepository

MAX_CASES = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    n = max(1, min(args.cases, MAX_CASES))
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "sab-matplotlib"))
    packs = PackRegistry.from_directory(default_policy_dir())
    repository = InMemoryCaseRepository()
    started = time.perf_counter()
    asyncio.run(generate(repository, packs, n, seed=args.seed, start=date(2025, 4, 1)))
    generated = time.perf_counter() - started
    events = sum(len(e) for e in repository.events.values())
    print(f"generate   {n:>6} cases, {events} events: {generated:7.2f} s")
    out = args.out or Path(tempfile.mkdtemp(prefix="sab-report-"))
    cases = list(repository.states.values())
    for pack in packs:
        started = time.perf_counter()
        report = board_report(cases, pack, start=date(2025, 4, 1), end=date(2026, 3, 31))
        aggregated = time.perf_counter() - started
        started = time.perf_counter()
        write_report(report, "html", out / f"{pack.board.id}.html")
        rendered = time.perf_counter() - started
        print(
            f"{pack.board.id:<10} {report.raised:>6} cases: aggregate {aggregated:6.3f} s, "
            f"charts + HTML {rendered:6.3f} s"
        )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
