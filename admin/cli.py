"""`escalation`: the command line for board administrators and anyone checking the rules.

Each group of commands is a module with `NAMES`, `add_commands` and `run`:
  admin/policy_commands.py   policy check, policy show, deadlines (packs only)
  admin/store_commands.py    audit, purge, case, backup, restore, sweep, directory
  reports/cli.py             report, sample
Those that need storage run through admin/runner.py. Exit statuses: admin/errors.py.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import reports.cli as report_commands
from admin import policy_commands, store_commands
from admin.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError
from admin.runner import run_on_storage
from escalation.packs import PackError
from storage.settings import StorageSettings
from storage.stores import Storage


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="escalation",
        description="Safeguarding escalation policies: check packs and work out deadlines.",
        epilog="Exit status: 0 done; 1 a check found a problem (a broken pack, a broken audit "
        "chain); 2 the command could not run (a bad argument, an unreadable file, an unknown "
        "board, unreachable storage).",
    )
    parser.add_argument(
        "--policy-dir",
        type=Path,
        default=None,
        help="folder of policy packs (default: $ESCALATION_POLICY_DIR, else the packs installed with the app: the repository's policies/)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    policy_commands.add_commands(commands)
    store_commands.add_commands(commands)
    report_commands.add_commands(commands)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    settings: StorageSettings | None = None,
) -> int:
    """Run one command; its exit status. `settings`: the store (default: the environment's)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _parser()
    try:
        # argparse prints help and usage errors itself: send them to the streams given.
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return int(exc.code or 0)
    try:
        if args.command in policy_commands.NAMES:
            return policy_commands.run(args, out, err)
        if args.command in store_commands.NAMES:
            return store_commands.run(args, out, settings)
        if args.command in report_commands.NAMES:

            async def report(storage: Storage, opened: StorageSettings) -> int:
                return await report_commands.run(storage, opened, args, out, err)

            return run_on_storage(settings, report)
    except (PackError, CliError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    parser.print_usage(err)
    return EXIT_USAGE


def console() -> None:
    """Entry point of the console script."""
    # The Azure SDK logs each failed retry and credential attempt as a warning; the command's
    # own error line already says what failed, so only its errors are let through.
    logging.getLogger("azure").setLevel(logging.ERROR)
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        code = EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except Exception as exc:
        # Last resort: the known failures have their own messages in main(); a traceback would
        # only bury what went wrong for the administrator reading it.
        print(f"error: unexpected {type(exc).__name__}: {_first_line(exc)}", file=sys.stderr)
        code = EXIT_ERROR
    raise SystemExit(code)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else "(no message)"


if __name__ == "__main__":
    console()
