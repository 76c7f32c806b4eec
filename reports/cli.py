"""`escalation report` and `escalation sample`, registered in the command line (admin/cli.py).

escalation report --policy NAME --from DATE --to DATE [--format html|md|json|csv] [--out PATH]
                  [--agency ID] [--category ID] [--stage ID]
escalation sample --cases N [--seed S]     SYNTHETIC cases into storage (never on live data)
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from bootstrap.build import load_packs
from escalation.packs import resolve_pack
from reports.figures import board_report
from reports.filters import CaseFilter, FilterError
from reports.load import board_cases
from reports.render import Format, to_csv, to_json, to_markdown, write_report
from reports.sample import seed_storage
from storage.settings import StorageSettings
from storage.stores import Storage

EXIT_OK = 0
EXIT_PROBLEM = 2  # the command could not run (as every escalation command)

NAMES = ("report", "sample")


def add_commands(commands: Any) -> None:
    """Add these commands to `commands` (what `add_subparsers` returned)."""
    report = commands.add_parser("report", help="a board's escalation report for a period")
    report.add_argument("--policy", required=True, help="board id (e.g. redbridge) or pack")
    report.add_argument("--from", dest="start", required=True, type=date.fromisoformat)
    report.add_argument("--to", dest="end", required=True, type=date.fromisoformat)
    report.add_argument("--format", choices=("html", "md", "json", "csv"), default="html")
    report.add_argument("--out", type=Path, help="file to write (md/json/csv: default print)")
    report.add_argument("--agency", default="", help="only cases with this agency (id) as a party")
    report.add_argument("--category", default="", help="only cases of this category (id)")
    report.add_argument("--stage", default="", help="only cases that reached this stage (id)")
    sample = commands.add_parser(
        "sample", help="add SYNTHETIC sample cases to storage (for demonstrations)"
    )
    sample.add_argument("--cases", type=int, required=True)
    sample.add_argument("--seed", type=int, default=1)


async def run(
    storage: Storage,
    storage_settings: StorageSettings,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
) -> int:
    """Run `report` or `sample` on the opened store (admin.runner opens and closes it)."""
    if args.command == "sample":
        if not 1 <= args.cases <= 100_000:
            print("error: --cases must be between 1 and 100000", file=err)
            return EXIT_PROBLEM
        if storage_settings.engine != "sqlite":
            # Synthetic cases in a board's live store would be counted in its reports.
            print("error: sample data goes only into the embedded store, never Azure", file=err)
            return EXIT_PROBLEM
        packs = load_packs(policy_dir=args.policy_dir)
        ids = await seed_storage(storage, packs, args.cases, args.seed)
        print(f"sample: {len(ids)} SYNTHETIC cases added", file=out)
        return EXIT_OK
    pack = resolve_pack(args.policy, args.policy_dir)
    try:
        chosen = CaseFilter(args.agency, args.category, args.stage).check(pack)
    except FilterError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_PROBLEM
    cases = chosen.select(await board_cases(storage, pack.board.id))
    if args.end < args.start:
        print("error: --to is before --from", file=err)
        return EXIT_PROBLEM
    report = chosen.note(board_report(cases, pack, start=args.start, end=args.end), pack)
    fmt: Format = args.format
    if args.out is None:
        if fmt == "html":
            print("error: an HTML report needs --out PATH", file=err)
            return EXIT_PROBLEM
        writers = {"json": to_json, "md": to_markdown, "csv": to_csv}
        out.write(writers[fmt](report))
        return EXIT_OK
    # Drawing the charts and writing the files is blocking work: off the event loop.
    paths = await asyncio.to_thread(write_report, report, fmt, args.out)
    for path in paths:
        print(f"wrote {path}", file=out)
    return EXIT_OK
