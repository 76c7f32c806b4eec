"""The people of the tests' directory, as the core sees them and as a board's import lists them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from escalation.directory import Directory, Person
from escalation.packs import PackRegistry

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"


def person(
    pid: str, agency: str, *roles: str, manager: str | None = None, board: tuple[str, ...] = ()
) -> Person:
    return Person(
        id=pid,
        name=pid.replace("-", " ").title(),
        agency_id=agency,
        roles=frozenset(roles),
        board_roles=frozenset((b.partition(":")[0], b.partition(":")[2]) for b in board),
        line_manager_id=manager,
        email=f"{pid}@example.org",
    )


def make_directory() -> Directory:
    return Directory.of(
        [
            # Redbridge: adult social care (raiser side) and NELFT (receiver side)
            person("amara", "redbridge-asc", "practitioner", manager="lena"),
            person("lena", "redbridge-asc", "line_manager", manager="sam"),
            person("sam", "redbridge-asc", "senior_manager", "head_of_service"),
            person("sgl-asc", "redbridge-asc", "safeguarding_lead"),
            person("noah", "nelft", "practitioner", manager="nadia"),
            person("nadia", "nelft", "line_manager"),
            person("nina", "nelft", "named_safeguarding_professional"),
            person("sgl-nelft", "nelft", "safeguarding_lead"),
            person("rb-bm", "redbridge-asc", board=("redbridge:business_manager",)),
            person("rb-chair", "redbridge-cvs", board=("redbridge:independent_chair",)),
            # Harrow: LBH (raiser side) and CNWL (receiver side)
            person("hana", "harrow-council", "practitioner", manager="harry"),
            person("harry", "harrow-council", "line_manager", "resource_manager"),
            person("hsl", "harrow-council", "safeguarding_lead"),
            person("hbm", "harrow-council", "board_member"),
            person("tm", "harrow-council", "sat_team_manager"),
            person("dols", "harrow-council", "threshold_reviewer"),
            person("colin", "cnwl", "practitioner", manager="cara"),
            person("cara", "cnwl", "line_manager", "resource_manager"),
            person("cbm", "cnwl", "board_member"),
            person("csl", "cnwl", "safeguarding_lead"),
            person("clead", "cnwl", "threshold_reviewer"),
            person("hssp", "met-police", board=("harrow:hssp_chair",)),
            person("hw-chair", "harrow-voluntary", board=("harrow:independent_chair",)),
            person("hw-bm", "harrow-council", board=("harrow:business_manager",)),
        ]
    )


def agencies_for(
    people: Iterable[Mapping[str, Any]], *tenants: str, also: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The `agencies:` records of a test directory: every agency of the shipped packs, of
    `people` and of `also`, each listing `tenants`, as a board registers the Microsoft Entra
    tenants its agencies sign in from. People act for an agency in Teams only from one of them.
    """
    ids = {agency.id for pack in PackRegistry.from_directory(POLICIES) for agency in pack.agencies}
    ids |= {str(p["agency"]) for p in people if "agency" in p}
    ids |= set(also)
    return [{"id": agency_id, "tenants": list(tenants)} for agency_id in sorted(ids)]
