"""`escalation policy check|show` and `escalation deadlines`: the commands that read packs only.

escalation policy check PATH     validate a pack, and tell it back in plain words
escalation policy show NAME      a pack's stages, roles and clocks
escalation deadlines --policy NAME --stage ID --from ISO [--json]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from admin.errors import EXIT_OK, EXIT_PROBLEM, CliError, given_moment
from escalation.calendar import calendar_for, earliest
from escalation.explain import explain
from escalation.packs import PackError, PackNotFound, load_pack, resolve_pack
from escalation.policy import Clock, PolicyPack, Selector

NAMES = ("policy", "deadlines")


def add_commands(commands: Any) -> None:
    """Add these commands to `commands` (what `add_subparsers` returned)."""
    policy = commands.add_parser("policy", help="check or show a policy pack")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_commands.add_parser(
        "check",
        help="validate a pack file, and say what it makes the bot do, in plain words",
        description="Validate a pack file. A valid pack is then told back in plain words, stage "
        "by stage (who acts, every deadline and what meets it, who is told, what the board set "
        "rather than the protocol), each line citing its clauses: check it against the protocol.",
    )
    check.add_argument("path", type=Path)
    show = policy_commands.add_parser("show", help="print a pack's stages, roles and clocks")
    show.add_argument("name", help="board id (e.g. redbridge) or path to a pack")

    deadlines = commands.add_parser(
        "deadlines", help="every clock of a stage, as if its starting event happened at a moment"
    )
    deadlines.add_argument("--policy", required=True, help="board id or path to a pack")
    deadlines.add_argument(
        "--stage", required=True, help="a stage id of the pack (`policy show` lists them)"
    )
    deadlines.add_argument(
        "--from",
        dest="start",
        required=True,
        help="ISO 8601 date-time; without an offset it is read as the board's local time",
    )
    deadlines.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "deadlines":
        return _deadlines(args, out)
    if args.policy_command == "check":
        return _check(args.path, out, err)
    _show(resolve_pack(args.name, args.policy_dir), out)
    return EXIT_OK


def _check(path: Path, out: TextIO, err: TextIO) -> int:
    try:
        pack = load_pack(path)
    except PackNotFound:
        raise  # nothing was checked: the path is wrong
    except PackError as exc:  # the check's verdict: this pack is broken
        print(f"error: {exc}", file=err)
        return EXIT_PROBLEM
    clocks = sum(len(s.clocks) for s in pack.stages)
    print(
        f"ok: {path}: {pack.board.name} — {len(pack.stages)} stages on {len(pack.tracks)} "
        f"track(s), {clocks} clocks, {len(pack.roles)} roles, {len(pack.clauses)} clauses",
        file=out,
    )
    print("", file=out)
    print(
        "What it makes the bot do, in plain words (check each line against the protocol):", file=out
    )
    print("", file=out)
    for line in explain(pack):
        print(line, file=out)
    return EXIT_OK


def _selectors(pack: PolicyPack, selectors: Sequence[Selector]) -> str:
    words = []
    for sel in selectors:
        if sel.who in ("raiser", "receiver"):
            words.append(
                {"raiser": "raising professional", "receiver": "other professional"}[sel.who]
            )
            continue
        side = "" if sel.side.value == "both" else f" ({sel.side.value}'s side)"
        if sel.who == "line_manager":
            words.append(f"line managers{side}")
            continue
        names = " or ".join((pack.role(r).name if pack.role(r) else r) for r in sel.roles)  # type: ignore[union-attr]
        sectors = f" in {'/'.join(sel.sectors)}" if sel.sectors else ""
        words.append(f"{names}{side}{sectors}")
    return "; ".join(words) or "-"


def _timescale_text(clock: Clock) -> str:
    parts = []
    for t in clock.timescales:
        parts.append(
            f"{t.short} [{', '.join(t.clauses)}{', ' + t.source if t.source != 'text' else ''}]"
        )
    chosen = clock.effective.short
    note = " (shortest applies)" if len(clock.timescales) > 1 else ""
    local = " — local default, not policy" if clock.local_default else ""
    return f"{chosen}{note}{local}; from {clock.runs_from.value}: " + " / ".join(parts)


def _show(pack: PolicyPack, out: TextIO) -> None:
    def p(*parts: object) -> None:
        print(*parts, file=out)

    p(f"{pack.board.name} ({pack.board.short_name}, id {pack.board.id})")
    p(f"Source: {pack.source.title}")
    cal = pack.calendar
    p(
        f"Working days: {cal.country}-{cal.subdivision} bank holidays, {cal.timezone}, "
        f"day ends {cal.end_of_working_day:%H:%M}"
    )
    p("")
    p("Roles:")
    for role in pack.roles:
        p(f"  {role.id:<32} {role.name} [{role.scope.value}] {', '.join(role.clauses)}")
    for track in pack.tracks:
        p("")
        p(f"Track '{track.id}': {track.name} [{', '.join(track.clauses)}]")
        for stage in pack.stage_path(track.id):
            if stage.track != track.id and track.id != pack.default_track:
                p(f"  then joins stage {stage.id} ({stage.name})")
                break
            p(f"  Stage {stage.id}: {stage.name} [{', '.join(stage.clauses)}]")
            p(f"    acts: {_selectors(pack, stage.actors)}")
            if stage.notify_on_entry:
                p(f"    told on entry: {_selectors(pack, stage.notify_on_entry)}")
            if stage.advisers:
                p(f"    advisers: {_selectors(pack, stage.advisers)}")
            if stage.copy_business_manager:
                p(f"    business manager copied [{', '.join(stage.copy_clauses)}]")
            if stage.outcome.value != "agreement":
                p(f"    outcome: {stage.outcome.value.replace('_', ' ')}")
            for clock in stage.clocks:
                p(f"    clock {clock.id}: {clock.label} — {_timescale_text(clock)}")
            if stage.escalates_to:
                p(f"    escalates to stage {stage.escalates_to}")
    p("")
    p("Categories: " + "; ".join(c.label for c in pack.categories))
    p("Signposts: " + "; ".join(s.title for s in pack.signposts))
    p(
        f"Retention: closed cases kept {pack.retention.closed_case_years} years"
        + (" (local default)" if pack.retention.local_default else "")
    )


def _deadlines(args: argparse.Namespace, out: TextIO) -> int:
    pack = resolve_pack(args.policy, args.policy_dir)
    try:
        stage = pack.stage(args.stage)
    except KeyError:
        known = ", ".join(s.id for s in pack.stages)
        raise CliError(f"{pack.board.id} has no stage {args.stage!r} (stages: {known})") from None
    calendar = calendar_for(pack)
    start = given_moment(args.start, "--from", local=calendar.tz)
    rows: list[dict[str, Any]] = []
    dues: list[datetime] = []
    for clock in stage.clocks:
        due, effective = earliest(calendar, clock.timescales, start)
        dues.append(due)
        rows.append(
            {
                "clock": clock.id,
                "label": clock.label,
                "stage": stage.id,
                "working_days": effective.working_days,
                "same_working_day": effective.same_working_day,
                "hours": effective.hours,
                "immediately": effective.immediately,
                "_short": effective.short,
                "runs_from": clock.runs_from.value,
                "from": start.astimezone(calendar.tz).isoformat(),
                "due": due.isoformat(),
                "protective": clock.protective,
                "local_default": clock.local_default,
                "clauses": clock.clauses,
                "timescales": [
                    t.model_dump(mode="json", exclude_none=True) for t in clock.timescales
                ],
            }
        )
    if args.json:
        json.dump(
            [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows], out, indent=2
        )
        out.write("\n")
        return EXIT_OK
    local_start = start.astimezone(calendar.tz)
    print(
        f"{pack.board.name}, stage {stage.id} ({stage.name}), from {local_start:%a %d %b %Y %H:%M %Z}",
        file=out,
    )
    if not rows:
        print("  This stage has no clocks.", file=out)
    for row, due in zip(rows, dues, strict=True):
        length = row["_short"]
        flags = " (local default)" if row["local_default"] else ""
        print(
            f"  {row['clock']:<12} {length:<17} due {due:%a %d %b %Y %H:%M %Z}  "
            f"{row['label']}{flags} [{', '.join(row['clauses'])}]",
            file=out,
        )
    return EXIT_OK
