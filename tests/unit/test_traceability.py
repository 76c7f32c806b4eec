"""Every rule traces from the policy to a pack and a test, and back (POLICY-CLAUSES.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from escalation.policy import PolicyPack

TESTS = Path(__file__).resolve().parents[1]
# The customer's clause table, kept with the packs that cite it.
CLAUSES_MD = Path(__file__).resolve().parents[2] / "policies" / "POLICY-CLAUSES.md"
MARKER = re.compile(r"mark\.clause\(([^)]*)\)")
QUOTED = re.compile(r"""["']([A-Z]{2,4}-[A-Za-z0-9.]+)["']""")


def policy_clause_ids() -> set[str]:
    ids = set()
    for line in CLAUSES_MD.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*((?:RB|HW)-[A-Za-z0-9.]+)\s*\|", line)
        if match:
            ids.add(match.group(1))
    return ids


def cited_by_tests() -> set[str]:
    cited: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        for args in MARKER.findall(path.read_text(encoding="utf-8")):
            cited.update(QUOTED.findall(args))
    return cited


def test_the_policy_lists_clauses_for_both_boards() -> None:
    ids = policy_clause_ids()
    assert {"RB-4.4", "RB-flow", "HW-4.4", "HW-thr"} <= ids
    assert len(ids) >= 25


def test_every_policy_clause_has_a_test_that_cites_it() -> None:
    missing = sorted(policy_clause_ids() - cited_by_tests())
    assert missing == [], f"clauses with no test: {missing}"


def test_tests_cite_only_clauses_that_exist() -> None:
    unknown = sorted(c for c in cited_by_tests() - policy_clause_ids() if c[:2] in ("RB", "HW"))
    assert unknown == []


@pytest.mark.parametrize("board", ["redbridge", "harrow"])
def test_every_clause_of_the_board_is_in_its_pack_and_no_other(
    board: str, request: pytest.FixtureRequest
) -> None:
    pack: PolicyPack = request.getfixturevalue(board)
    prefix = {"redbridge": "RB-", "harrow": "HW-"}[board]
    expected = {c for c in policy_clause_ids() if c.startswith(prefix)}
    assert pack.clause_ids() == expected
