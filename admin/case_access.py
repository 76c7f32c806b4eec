"""Who has seen a case, on the command line: `escalation case access-log ID`, and the export.

An administrator's export is itself a view of the case: it is logged as `cli:<user>` before the
record is built, so the record it writes lists it too. Reading the access log shows no case text
and is not logged.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import datetime
from typing import Any, TextIO

from admin.errors import EXIT_OK, CliError
from escalation.access_log import AccessEntry, Seen, access_lines, cli_actor, record_access
from escalation.calendar import calendar_for
from escalation.case import fold
from escalation.case_export import case_record_markdown
from escalation.packs import PackRegistry
from storage.stores import Storage

ACCESS_LOG = "access-log"


def add_access_log_command(case_actions: Any) -> None:
    """`case access-log CASE-ID`, beside `case export` (`case_actions`: the `case` command's
    sub-parsers)."""
    access = case_actions.add_parser(
        ACCESS_LOG, help="who has seen a case: one line a view, in UK local time"
    )
    access.add_argument("case_id")


def is_access_log(args: argparse.Namespace) -> bool:
    return args.command == "case" and getattr(args, "case_command", None) == ACCESS_LOG


def cli_user() -> str:
    """Who runs the command, as the access log names them: `cli:<login name>`."""
    try:
        return cli_actor(getpass.getuser())
    except (KeyError, OSError):  # no login name in this environment (a container, a service)
        return cli_actor("")


async def print_access_log(storage: Storage, packs: PackRegistry, case_id: str, out: TextIO) -> int:
    summary = await storage.cases.summary(case_id)
    if summary is None:
        raise CliError(f"there is no case {case_id}")
    try:
        tz = calendar_for(packs.get(summary.board_id)).tz
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    entries = await storage.access_log.entries(case_id)
    if not entries:
        print(f"{case_id}: no view has been recorded", file=out)
        return EXIT_OK
    directory = await storage.directory.snapshot()

    def name(who: str) -> str | None:
        person = directory.person(who)
        return person.name if person is not None else None

    for line in access_lines(entries, tz, name):
        print(line, file=out)
    return EXIT_OK


async def exported_record(
    storage: Storage, packs: PackRegistry, case_id: str, *, who: str, now: datetime
) -> str:
    """The case record as Markdown, with who has seen the case; this export is logged first."""
    stored = await storage.cases.load(case_id)
    if stored is None:
        raise CliError(f"there is no case {case_id}")
    case = fold(stored.events)
    try:
        pack = packs.get(case.board_id)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    await record_access(storage.access_log, AccessEntry(case.id, who, Seen.EXPORT, now, "full"))
    return case_record_markdown(
        case,
        stored.events,
        pack,
        await storage.directory.snapshot(),
        generated_at=now,
        access=await storage.access_log.entries(case.id),
    )
