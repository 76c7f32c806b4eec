"""The commands that read or change the stored cases.

escalation audit verify [--board B]          check every case's event hash chain
escalation purge [--dry-run] [--now ISO]     remove closed cases past the pack's retention
escalation case export CASE-ID [--out PATH]  the full case record, as Markdown (the export is logged)
escalation case access-log CASE-ID           who has seen the case, and when
escalation backup PATH / restore PATH        every table, to and from a JSON-lines file
escalation sweep [--now ISO]                 queue the nudges that are due
escalation directory import PATH             agencies (Teams tenants) and people, from YAML
escalation directory requests [--all]        requests to join an agency made in Teams
escalation directory approve ID              approve one, as the board
escalation directory decline ID --reason R   decline one, saying why

Arguments and packs are checked before storage is opened, so a typo costs nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from admin.case_access import (
    add_access_log_command,
    cli_user,
    exported_record,
    is_access_log,
    print_access_log,
)
from admin.errors import EXIT_OK, EXIT_PROBLEM, CliError, given_moment, os_problem
from admin.runner import run_on_storage
from bootstrap.build import load_packs, scheduler
from escalation.directory import Directory
from escalation.errors import Refused
from escalation.events import verify_chain
from escalation.joining import BoardAgencies, JoinRequest
from escalation.packs import PackRegistry
from escalation.policy import PolicyPack
from storage.backup import backup, restore
from storage.directory_store import load_directory_file
from storage.purge import DEFAULT_IDLE_DAYS
from storage.purge import purge as purge_stored
from storage.settings import StorageSettings
from storage.stores import Storage

NAMES = ("audit", "purge", "case", "directory", "sweep", "backup", "restore")


def pack_for(packs: PackRegistry, board_id: str) -> PolicyPack:
    try:
        return packs.get(board_id)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None


def add_commands(commands: Any) -> None:
    """Add these commands to `commands` (what `add_subparsers` returned)."""
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
    add_access_log_command(case_actions)

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
        "import",
        help="add or update agencies' Teams tenants and people from a YAML file "
        "({agencies: [...], people: [...]})",
    )
    load.add_argument("path", type=Path)
    listed = directory_actions.add_parser(
        "requests", help="requests to join an agency (or change one's), waiting for approval"
    )
    listed.add_argument("--all", action="store_true", help="decided ones too")
    approve = directory_actions.add_parser(
        "approve", help="approve a request as the board (the person is told)"
    )
    approve.add_argument("request_id", metavar="ID")
    decline = directory_actions.add_parser(
        "decline", help="decline a request (the person is told why)"
    )
    decline.add_argument("request_id", metavar="ID")
    decline.add_argument("--reason", required=True, help="why: the person is told")


def run(args: argparse.Namespace, out: TextIO, settings: StorageSettings | None) -> int:
    # Arguments and packs first: a typo should cost nothing, and open no store.
    now = datetime.now(UTC)
    if getattr(args, "now", None):
        now = given_moment(args.now, "--now")
    packs: PackRegistry | None = None
    if args.command in ("purge", "sweep", "case", "directory") or getattr(args, "board", None):
        packs = load_packs(policy_dir=args.policy_dir)
        if getattr(args, "board", None):
            pack_for(packs, args.board)

    async def work(storage: Storage, _: StorageSettings) -> int:
        return await _run(storage, args, packs, now, out)

    return run_on_storage(settings, work)


async def _run(
    storage: Storage,
    args: argparse.Namespace,
    packs: PackRegistry | None,
    now: datetime,
    out: TextIO,
) -> int:
    if args.command == "audit":
        return await audit_verify(storage, args.board, out)
    if args.command == "directory":
        assert packs is not None
        return await directory_command(storage, packs, args, out)
    if args.command == "backup":
        return await backup_to(storage, args.path, out)
    if args.command == "restore":
        return await restore_from(storage, args.path, args.into_non_empty, out)
    assert packs is not None  # loaded above for these commands
    if args.command == "sweep":
        return await sweep_once(storage, packs, now, out)
    if args.command == "purge":
        return await purge(storage, packs, now, args.board, args.dry_run, out, args.idle_days)
    if is_access_log(args):
        return await print_access_log(storage, packs, args.case_id, out)
    return await export_case(storage, packs, args.case_id, args.out, out)


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
) -> int:
    # The export is a view of the case: logged under who runs the command, and listed in itself.
    text = await exported_record(storage, packs, case_id, who=cli_user(), now=datetime.now(UTC))
    if path is None:
        out.write(text)
        return EXIT_OK
    await _write(path, text)
    print(f"wrote {path}", file=out)
    return EXIT_OK


async def _write(path: Path, text: str) -> None:
    try:
        await asyncio.to_thread(path.write_text, text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {os_problem(exc)}") from None


async def backup_to(storage: Storage, path: Path, out: TextIO) -> int:
    buffer = io.StringIO()
    counts = await backup(storage.store, storage.tables, buffer)
    await _write(path, buffer.getvalue())
    print(f"backup: {sum(counts.values())} entities from {len(counts)} tables to {path}", file=out)
    return EXIT_OK


async def restore_from(storage: Storage, path: Path, force: bool, out: TextIO) -> int:
    if not force and await storage.cases.case_ids():
        raise CliError(
            "this store already holds cases; restore into an empty one (or pass --into-non-empty)"
        )
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = os_problem(exc) if isinstance(exc, OSError) else f"{path}: {exc}"
        raise CliError(f"cannot read {reason}") from None
    try:
        counts = await restore(storage.store, storage.tables, text.splitlines())
    except ValueError as exc:
        raise CliError(f"{path}: {exc}") from None
    print(
        f"restore: {sum(counts.values())} entities into {len(counts)} tables; "
        "run `escalation audit verify` next",
        file=out,
    )
    return EXIT_OK


async def sweep_once(storage: Storage, packs: PackRegistry, now: datetime, out: TextIO) -> int:
    sweeper = await scheduler(storage, packs)
    report = await sweeper.sweep(now)
    if not report.swept:
        print("sweep: another instance is sweeping now; nothing done", file=out)
        return EXIT_OK
    print(
        f"sweep: {report.cases} case(s) with clocks due, {len(report.queued)} nudge(s) queued, "
        f"{report.already_queued} already queued, {report.stale_hints} stale index row(s) removed",
        file=out,
    )
    if report.no_pack:
        print(
            f"sweep: {len(report.no_pack)} case(s) of a board with no pack here were left alone: "
            + ", ".join(report.no_pack),
            file=out,
        )
    return EXIT_OK


async def directory_command(
    storage: Storage, packs: PackRegistry, args: argparse.Namespace, out: TextIO
) -> int:
    boards = BoardAgencies.of(packs)
    action = args.directory_command
    if action == "import":
        return await import_directory(storage, args.path, out, boards)
    if action == "requests":
        return await list_requests(storage, boards, args.all, out)
    try:
        if action == "approve":
            decided = await storage.requests.approve(args.request_id, by=None, boards=boards)
        else:
            decided = await storage.requests.decline(
                args.request_id, by=None, reason=args.reason, boards=boards
            )
    except Refused as refusal:
        raise CliError(refusal.reason) from None
    request = decided.request
    print(
        f"{request.id}: {request.state.value}; {request.name} ({request.person_id}) "
        f"{'is now ' + _roles(request.roles) if request.reason is None else 'holds no role'} "
        f"at {decided.agency_name}. They are told in Teams.",
        file=out,
    )
    return EXIT_OK


def _roles(roles: frozenset[str]) -> str:
    return ", ".join(sorted(roles)) or "no role"


async def list_requests(storage: Storage, boards: BoardAgencies, every: bool, out: TextIO) -> int:
    requests = await storage.requests.requests(open_only=not every)
    directory = await storage.directory.snapshot()
    for request in requests:
        print(_request_line(request, boards, directory), file=out)
    waiting = sum(1 for r in requests if r.is_open)
    print(f"requests: {waiting} waiting" + (f", {len(requests)} in all" if every else ""), file=out)
    return EXIT_OK


def _request_line(request: JoinRequest, boards: BoardAgencies, directory: Directory) -> str:
    manager = directory.person(request.line_manager_id)
    named = manager.name if manager is not None else request.line_manager_id or "none named"
    before = (
        f"; until then {_roles(request.previous_roles)} at {boards.name(request.previous_agency_id)}"
        if request.previous_agency_id
        else ""
    )
    decided = ""
    if not request.is_open:
        decider = directory.person(request.decided_by)
        by = decider.name if decider is not None else request.decided_by
        decided = f" by {by}" if by else ""
        decided += f": {request.reason}" if request.reason else ""
    return (
        f"{request.id} [{request.state.value}{decided}] {request.created_at:%Y-%m-%d %H:%M} "
        f"{request.name} ({request.person_id}) asks to be {_roles(request.roles)} at "
        f"{boards.name(request.agency_id)}, line manager {named}, from tenant "
        f"{request.tenant_id}{before}"
    )


async def import_directory(storage: Storage, path: Path, out: TextIO, boards: BoardAgencies) -> int:
    try:
        loaded = await asyncio.to_thread(load_directory_file, path)
        count = await storage.directory.import_records(loaded.people, loaded.agencies)
    except ValueError as exc:  # the file and the records at fault are named; nothing changed
        raise CliError(str(exc)) from None
    print(
        f"directory: {count} people and {len(loaded.agencies)} agencies imported from {path}",
        file=out,
    )
    directory = await storage.directory.snapshot()
    off_teams = sorted(
        {
            p.agency_id
            for p in directory.people.values()
            if not directory.agency(p.agency_id).tenants
        }
    )
    if off_teams:
        print(
            "directory: these agencies list no Teams tenant, so their people cannot act in Teams "
            "(they can be named as a party, and are reached by hand): "
            + ", ".join(boards.name(a) for a in off_teams),
            file=out,
        )
    return EXIT_OK
