"""The `escalation` command line: the core's commands plus those that need the stored cases.

escalation audit verify [--board B]          check every case's event hash chain
escalation purge [--dry-run] [--now ISO]     remove closed cases past the pack's retention
escalation case export CASE-ID [--out PATH]  the full case record, as Markdown
"""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from escalation.case import fold
from escalation.cli import EXIT_OK, EXIT_PROBLEM
from escalation.cli import console as core_console
from escalation.cli import main as core_main
from escalation.events import verify_chain
from escalation.packs import PackRegistry, default_policy_dir
from escalation.record import case_record_markdown
from reports.cli import ReportCommands
from storage.backup import backup, restore
from storage.directory_store import load_directory_file
from storage.purge import DEFAULT_IDLE_DAYS
from storage.purge import purge as purge_stored
from storage.scheduler import Scheduler
from storage.settings import Storage, StorageSettings, open_storage


@dataclass
class StorageCommands:
    """The commands that read or change stored cases."""

    settings: StorageSettings | None = None

    def add_commands(self, commands: Any) -> None:
        audit = commands.add_parser("audit", help="check the integrity of stored cases")
        audit_actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
        verify = audit_actions.add_parser("verify", help="check every case's event hash chain")
        verify.add_argument("--board", help="only this board's cases")

        purge = commands.add_parser(
            "purge", help="remove closed cases past their pack's retention period"
        )
        purge.add_argument("--dry-run", action="store_true", help="list, remove nothing")
        purge.add_argument("--board", help="only this board's cases")
        purge.add_argument("--now", help="ISO 8601 date-time to judge retention by (default: now)")
        purge.add_argument(
            "--idle-days",
            type=idle_days,
            default=DEFAULT_IDLE_DAYS,
            help=f"remove dialog state unused for this many days (default: {DEFAULT_IDLE_DAYS})",
        )

        case = commands.add_parser("case", help="one stored case")
        case_actions = case.add_subparsers(dest="case_command", required=True, metavar="ACTION")
        export = case_actions.add_parser("export", help="the full case record as Markdown")
        export.add_argument("case_id")
        export.add_argument("--out", type=Path, help="write to this file (default: print)")

        backup = commands.add_parser("backup", help="write every table to a JSON-lines file")
        backup.add_argument("path", type=Path)
        restore = commands.add_parser(
            "restore", help="rebuild the tables from a backup file (into an empty store)"
        )
        restore.add_argument("path", type=Path)
        restore.add_argument(
            "--into-non-empty", action="store_true", help="restore over cases already stored"
        )

        sweep = commands.add_parser(
            "sweep", help="queue the nudges that are due (for a timer job); the app also sweeps"
        )
        sweep.add_argument("--now", help="ISO 8601 date-time with offset (default: now)")

        directory = commands.add_parser("directory", help="the people the bot knows")
        directory_actions = directory.add_subparsers(
            dest="directory_command", required=True, metavar="ACTION"
        )
        load = directory_actions.add_parser(
            "import", help="add or update people from a YAML file ({people: [...]})"
        )
        load.add_argument("path", type=Path)

    def run(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> int | None:
        if args.command not in (
            "audit",
            "purge",
            "case",
            "directory",
            "sweep",
            "backup",
            "restore",
        ):
            return None
        return asyncio.run(self._run(args, out, err))

    async def _run(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        settings = self.settings or StorageSettings.from_env()
        storage = await open_storage(settings)
        try:
            if args.command == "audit":
                return await audit_verify(storage, args.board, out)
            if args.command == "directory":
                return await import_directory(storage, args.path, out, err)
            if args.command == "backup":
                return await backup_to(storage, args.path, out)
            if args.command == "restore":
                return await restore_from(storage, args.path, args.into_non_empty, out, err)
            packs = PackRegistry.from_directory(args.policy_dir or default_policy_dir())
            if args.command == "sweep":
                now = _moment(args.now) if args.now else datetime.now(UTC)
                return await sweep_once(storage, packs, now, out)
            if args.command == "purge":
                now = _moment(args.now) if args.now else datetime.now(UTC)
                return await purge(
                    storage, packs, now, args.board, args.dry_run, out, args.idle_days
                )
            return await export_case(storage, packs, args.case_id, args.out, out, err)
        finally:
            await storage.close()


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"--now needs a UTC offset: {text!r}")
    return moment


async def audit_verify(storage: Storage, board: str | None, out: TextIO) -> int:
    checked = events = 0
    problems: list[str] = []
    for case_id in await storage.cases.case_ids(board):
        stored = await storage.cases.load(case_id)
        if stored is None:
            continue  # an index hint for a change that was never saved
        checked += 1
        events += len(stored.events)
        problems += [
            f"{b.case_id} event {b.seq}: {b.problem}" for b in verify_chain(case_id, stored.events)
        ]
        summary = await storage.cases.summary(case_id)
        if summary is None or summary.version != len(stored.events):
            seen = "missing" if summary is None else f"version {summary.version}"
            problems.append(
                f"{case_id}: state row is {seen}, history has {len(stored.events)} events"
            )
    for line in problems:
        print(f"BROKEN {line}", file=out)
    verdict = "every chain verifies" if not problems else f"{len(problems)} problem(s)"
    print(f"audit: {checked} case(s), {events} event(s): {verdict}", file=out)
    return EXIT_OK if not problems else EXIT_PROBLEM


def idle_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days < 1:
        raise argparse.ArgumentTypeError(f"a whole number of days, at least 1: {text!r}")
    return days


async def purge(
    storage: Storage,
    packs: PackRegistry,
    now: datetime,
    board: str | None,
    dry_run: bool,
    out: TextIO,
    idle: int = DEFAULT_IDLE_DAYS,
) -> int:
    report = await purge_stored(
        storage, packs, now=now, board=board, idle_days=idle, dry_run=dry_run
    )
    verb = "would remove" if dry_run else "removed"
    for case in report.cases:
        detail = "" if dry_run else f", {case.rows} rows"
        print(
            f"{verb} {case.case_id} ({case.board_id}, closed {case.closed_at:%Y-%m-%d}, "
            f"retention {case.years} years ended {case.ended:%Y-%m-%d}{detail})",
            file=out,
        )
    # Counts only: dialog state holds what people typed.
    state, what = report.dialog_state, "would be removed" if dry_run else "removed"
    line = (
        f"dialog state: {state.removed} conversation(s) idle since before "
        f"{report.idle_before:%Y-%m-%d} {what}"
    )
    if state.stamped:
        line += f"; {state.stamped} with no write time yet, idle from now"
    print(line, file=out)
    print(f"purge: {len(report.cases)} closed case(s) {what}", file=out)
    return EXIT_OK


async def export_case(
    storage: Storage,
    packs: PackRegistry,
    case_id: str,
    path: Path | None,
    out: TextIO,
    err: TextIO,
) -> int:
    stored = await storage.cases.load(case_id)
    if stored is None:
        print(f"error: there is no case {case_id}", file=err)
        return EXIT_PROBLEM
    case = fold(stored.events)
    text = case_record_markdown(
        case,
        stored.events,
        packs.get(case.board_id),
        await storage.directory.snapshot(),
        generated_at=datetime.now(UTC),
    )
    if path is None:
        out.write(text)
    else:
        await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        print(f"wrote {path}", file=out)
    return EXIT_OK


async def backup_to(storage: Storage, path: Path, out: TextIO) -> int:
    buffer = io.StringIO()
    counts = await backup(storage.store, storage.tables, buffer)
    await asyncio.to_thread(path.write_text, buffer.getvalue(), encoding="utf-8")
    print(f"backup: {sum(counts.values())} entities from {len(counts)} tables to {path}", file=out)
    return EXIT_OK


async def restore_from(storage: Storage, path: Path, force: bool, out: TextIO, err: TextIO) -> int:
    if not force and await storage.cases.case_ids():
        print(
            "error: this store already holds cases; restore into an empty one "
            "(or pass --into-non-empty)",
            file=err,
        )
        return EXIT_PROBLEM
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        counts = await restore(storage.store, storage.tables, text.splitlines())
    except (OSError, ValueError) as exc:
        print(f"error: {path}: {exc}", file=err)
        return EXIT_PROBLEM
    print(
        f"restore: {sum(counts.values())} entities into {len(counts)} tables; "
        "run `escalation audit verify` next",
        file=out,
    )
    return EXIT_OK


async def sweep_once(storage: Storage, packs: PackRegistry, now: datetime, out: TextIO) -> int:
    scheduler = Scheduler(
        store=storage.store,
        tables=storage.tables,
        cases=storage.cases,
        packs=packs,
        directory=storage.directory,
        conversations=storage.conversations,
    )
    await scheduler.ensure_tables()
    report = await scheduler.sweep(now)
    if not report.swept:
        print("sweep: another instance is sweeping now; nothing done", file=out)
        return EXIT_OK
    print(
        f"sweep: {report.cases} case(s) with clocks due, {len(report.queued)} nudge(s) queued, "
        f"{report.already_queued} already queued, {report.stale_hints} stale index row(s) removed",
        file=out,
    )
    return EXIT_OK


async def import_directory(storage: Storage, path: Path, out: TextIO, err: TextIO) -> int:
    try:
        records = await asyncio.to_thread(load_directory_file, path)
        count = await storage.directory.import_records(records)
    except ValueError as exc:  # the file and the records at fault are named; nothing changed
        print(f"error: {exc}", file=err)
        return EXIT_PROBLEM
    print(f"directory: {count} people imported from {path}", file=out)
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    settings: StorageSettings | None = None,
) -> int:
    return core_main(
        argv, out=out, err=err, extensions=[StorageCommands(settings), ReportCommands(settings)]
    )


def console() -> None:
    core_console([StorageCommands(), ReportCommands()])
