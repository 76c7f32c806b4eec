"""Packs made broken, each one way, and the fault `policy check` must name: a shipped pack with one
change (BROKEN), and the files under tests/fixtures/packs/broken (FIXTURES). The pack tests and
the CLI tests both load them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit.people import POLICIES, ROOT

Mutator = Callable[[dict[str, Any]], None]


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def set_(path: tuple[Any, ...], value: Any) -> Mutator:
    def mutate(data: dict[str, Any]) -> None:
        _at(data, path[:-1])[path[-1]] = value

    return mutate


def delete(path: tuple[Any, ...]) -> Mutator:
    def mutate(data: dict[str, Any]) -> None:
        del _at(data, path[:-1])[path[-1]]

    return mutate


def rename(path: tuple[Any, ...], new: str) -> Mutator:
    def mutate(data: dict[str, Any]) -> None:
        parent = _at(data, path[:-1])
        parent[new] = parent.pop(path[-1])

    return mutate


def append(path: tuple[Any, ...], value: Any) -> Mutator:
    def mutate(data: dict[str, Any]) -> None:
        _at(data, path).append(copy.deepcopy(value))

    return mutate


def extra_stage(data: dict[str, Any]) -> None:
    stage = copy.deepcopy(data["stages"][3])
    stage["id"] = "5"
    data["stages"].append(stage)


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@dataclass(frozen=True)
class Broken:
    id: str
    base: str  # the real pack it is made from
    make: Callable[[dict[str, Any], str], str]  # (parsed pack, original text) -> broken text
    field: str | None  # the field path the error names (None: the whole file)
    problem: str


def mutated(mutator: Mutator) -> Callable[[dict[str, Any], str], str]:
    def make(data: dict[str, Any], _text: str) -> str:
        mutator(data)
        return dump(data)

    return make


def _bad_yaml(_data: dict[str, Any], text: str) -> str:
    # "RSAB: extra" opens a mapping inside a plain scalar: a syntax error on that line.
    assert "\n  short_name: RSAB\n" in text
    return text.replace("\n  short_name: RSAB\n", "\n  short_name: RSAB: extra\n", 1)


def _line_of_short_name() -> int:
    lines = (POLICIES / "redbridge.yaml").read_text(encoding="utf-8").splitlines()
    return lines.index("  short_name: RSAB") + 1


TIMESCALE = ("stages", 0, "clocks", 0, "timescales", 0)
TIMESCALE_FIELD = "stages.0.clocks.0.timescales.0"

BROKEN: list[Broken] = [
    Broken(
        "missing-required-field",
        "redbridge",
        mutated(delete(("board", "name"))),
        "board.name",
        "is required but missing",
    ),
    Broken(
        "missing-required-section",
        "redbridge",
        mutated(delete(("closure",))),
        "closure",
        "is required but missing",
    ),
    Broken(
        "misspelt-key",
        "redbridge",
        mutated(rename(("stages", 0, "escalates_to"), "escalate_to")),
        "stages.0.escalate_to",
        "is not a field here (misspelt?)",
    ),
    Broken(
        "wrong-type",
        "redbridge",
        mutated(set_((*TIMESCALE, "working_days"), "two")),
        f"{TIMESCALE_FIELD}.working_days",
        "Input should be a valid integer",
    ),
    Broken(
        "negative-working-days",
        "redbridge",
        mutated(set_((*TIMESCALE, "working_days"), -2)),
        f"{TIMESCALE_FIELD}.working_days",
        "Input should be greater than or equal to 1",
    ),
    Broken(
        "both-working-days-and-same-working-day",
        "redbridge",
        mutated(set_((*TIMESCALE, "same_working_day"), True)),
        TIMESCALE_FIELD,
        "give exactly one of working_days, same_working_day: true, hours or immediately: true",
    ),
    Broken(
        "escalates-to-unknown-stage",
        "redbridge",
        mutated(set_(("stages", 0, "escalates_to"), "9")),
        "stages.0 (stage '1').escalates_to",
        "no stage '9'",
    ),
    Broken(
        "selector-names-unknown-role",
        "redbridge",
        mutated(set_(("stages", 2, "actors", 0, "roles"), ["chief_executive"])),
        "stages.2 (stage '3').actors.0",
        "role 'chief_executive' is not in 'roles'",
    ),
    Broken(
        "agency-selector-names-board-role",
        "redbridge",
        mutated(set_(("stages", 2, "actors", 0, "roles"), ["business_manager"])),
        "stages.2 (stage '3').actors.0",
        "role 'business_manager' is a board role, but 'agency_role' needs an agency role",
    ),
    Broken(
        "board-selector-names-agency-role",
        "redbridge",
        mutated(set_(("stages", 3, "actors", 0, "roles"), ["safeguarding_lead"])),
        "stages.3 (stage '4').actors.0",
        "role 'safeguarding_lead' is an agency role, but 'board_role' needs a board role",
    ),
    Broken(
        "clause-cited-not-listed",
        "redbridge",
        mutated(append(("stages", 0, "clauses"), "RB-9.9")),
        "stages.0 (stage '1')",
        "clause 'RB-9.9' is not listed in 'clauses'",
    ),
    Broken(
        "clock-clause-cited-not-listed",
        "harrow",
        mutated(append(("stages", 5, "clocks", 0, "timescales", 0, "clauses"), "HW-9")),
        "stages.5 (stage 'T2').clocks ('review')",
        "clause 'HW-9' is not listed in 'clauses'",
    ),
    Broken(
        "malformed-clause-id",
        "redbridge",
        mutated(set_(("clauses", 0, "id"), "rb 1.4")),
        "clauses.0.id",
        "String should match pattern",
    ),
    Broken(
        "stage-loop",
        "redbridge",
        mutated(set_(("stages", 1, "escalates_to"), "1")),
        "tracks.0",
        "stages loop (1 -> 2 -> 1)",
    ),
    Broken(
        "stage-unreachable",
        "redbridge",
        mutated(extra_stage),
        "stages.4 (stage '5')",
        "no track reaches this stage",
    ),
    Broken(
        "duplicate-stage-ids",
        "redbridge",
        mutated(set_(("stages", 1, "id"), "1")),
        "stages",
        "id '1' is used more than once",
    ),
    Broken(
        "invalid-yaml",
        "redbridge",
        _bad_yaml,
        f"line {_line_of_short_name()}, column 19",
        "not valid YAML: mapping values are not allowed here",
    ),
    Broken(
        "top-level-list",
        "redbridge",
        lambda data, _text: dump([data]),
        None,
        "a pack must be a YAML mapping at the top level",
    ),
    Broken(
        "panel-larger-than-membership",
        "harrow",
        mutated(set_(("stages", 3, "panel", "min_agencies"), 8)),
        "stages.3 (stage '4').panel.min_agencies",
        "8 uninvolved agencies cannot be found among 9 board members",
    ),
]


def write_broken(broken: Broken, directory: Path) -> Path:
    original = (POLICIES / f"{broken.base}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(original)
    path = directory / f"{broken.id}.yaml"
    path.write_text(broken.make(data, original), encoding="utf-8")
    return path


def expected_line(path: Path, broken: Broken) -> str:
    """The start of the error line that names the file and the field."""
    return f"{path}: {broken.field}: " if broken.field is not None else f"{path}: "


BROKEN_PARAMS = [pytest.param(b, id=b.id) for b in BROKEN]


BROKEN_FIXTURES = ROOT / "tests" / "fixtures" / "packs" / "broken"
THORNBURY = ROOT / "tests" / "fixtures" / "packs" / "thornbury.yaml"


@dataclass(frozen=True)
class BrokenFixture:
    name: str  # file stem under tests/fixtures/packs/broken
    field: str
    problem: str


FIXTURES: list[BrokenFixture] = [
    BrokenFixture(
        "unknown-timezone",
        "calendar.timezone",
        "unknown time zone 'Europe/Londn': give an IANA name such as Europe/London",
    ),
    BrokenFixture(
        "unknown-country",
        "calendar.country",
        "the holidays package has no country 'XX' (an ISO 3166 code, e.g. GB)",
    ),
    BrokenFixture(
        "unknown-subdivision",
        "calendar.subdivision",
        "GB has no holiday subdivision 'XYZ' (it has: ENG, NIR, SCT, WLS)",
    ),
    BrokenFixture(
        "unquoted-end-of-working-day",
        "calendar.end_of_working_day",
        "is the number 1020: YAML reads an unquoted 17:00 as a number (in base 60); quote the "
        'time: "17:00"',
    ),
    BrokenFixture(
        "end-of-working-day-with-offset",
        "calendar.end_of_working_day",
        'must be a local time written "HH:MM" (e.g. "17:00"), not \'16:30+01:00\'',
    ),
    BrokenFixture(
        "unquoted-send-at",
        "nudges.send_at",
        "is the number 540: YAML reads an unquoted 9:00 as a number (in base 60); quote the "
        'time: "09:00"',
    ),
    BrokenFixture(
        "board-role-selector-names-agency-role",
        "stages.2 (stage '3').actors.0",
        "role 'designated_lead' is an agency role, but 'board_role' needs a board role",
    ),
    BrokenFixture(
        "referral-clock-at-entry-stage",
        "stages.0 (stage '1').clocks ('referral').runs_from",
        "is escalation_triggered, but no stage escalates to stage '1': this clock would never "
        "start",
    ),
    BrokenFixture(
        "confirm-clock-at-recommendations-stage",
        "stages.2 (stage '3').clocks ('confirm').until",
        "is outcome_confirmed, but stage '3' ends with recommendations, where no outcome is "
        "confirmed: this clock could never be met",
    ),
]
FIXTURE_PARAMS = [pytest.param(f, id=f.name) for f in FIXTURES]
