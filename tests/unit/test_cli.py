"""The `escalation` command line: check and show packs, and work out a stage's deadlines.

Every expected deadline was counted by hand on a calendar (weekday of each date checked) with the
England and Wales bank holidays, in Europe/London time: 17:00 GMT is +00:00, 17:00 BST is +01:00.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import admin.cli
from admin.cli import console
from escalation.packs import POLICY_DIR_ENV
from testkit.cli import run_cli
from testkit.people import POLICIES
from tests.unit.broken_packs import (
    BROKEN,
    BROKEN_FIXTURES,
    FIXTURE_PARAMS,
    THORNBURY,
    Broken,
    BrokenFixture,
    write_broken,
)

REDBRIDGE = POLICIES / "redbridge.yaml"
HARROW = POLICIES / "harrow.yaml"


def deadlines(policy: str, stage: str, start: str, *extra: str) -> tuple[int, str, str]:
    argv = ["deadlines", "--policy", policy, "--stage", stage, "--from", start, *extra]
    return run_cli("--policy-dir", str(POLICIES), *argv)


def deadlines_json(policy: str, stage: str, start: str) -> list[dict[str, Any]]:
    code, out, err = deadlines(policy, stage, start, "--json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert isinstance(rows, list)
    return rows


# -- policy check ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "summary"),
    [
        pytest.param(
            REDBRIDGE,
            "Redbridge Safeguarding Adults Board — 4 stages on 1 track(s), 12 clocks, 9 roles, "
            "14 clauses",
            id="redbridge",
        ),
        pytest.param(
            HARROW,
            "Harrow Safeguarding Adults Board — 7 stages on 2 track(s), 8 clocks, 11 roles, "
            "12 clauses",
            id="harrow",
        ),
    ],
)
def test_policy_check_accepts_the_shipped_packs(path: Path, summary: str) -> None:
    code, out, err = run_cli("policy", "check", str(path))
    assert code == 0
    assert err == ""
    assert out.startswith(f"ok: {path}: {summary}\n\nWhat it makes the bot do, in plain words")


@pytest.mark.parametrize("broken", [pytest.param(b, id=b.id) for b in BROKEN])
def test_policy_check_rejects_a_broken_pack_naming_file_and_field(
    broken: Broken, tmp_path: Path
) -> None:
    path = write_broken(broken, tmp_path)
    code, out, err = run_cli("policy", "check", str(path))
    assert code == 1
    assert out == ""
    assert err.startswith(f"error: {path}: ")
    if broken.field is not None:
        assert f"{path}: {broken.field}: " in err
    assert broken.problem in err


def test_policy_check_of_a_missing_file(tmp_path: Path) -> None:
    """Nothing was checked: the path is wrong (2), not the pack (1)."""
    path = tmp_path / "missing.yaml"
    code, out, err = run_cli("policy", "check", str(path))
    assert (code, out) == (2, "")
    assert err == f"error: {path}: no such file\n"
    code, out, err = run_cli("policy", "check", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"error: {tmp_path}: is a folder, not a pack file\n"


@pytest.mark.parametrize("fixture", FIXTURE_PARAMS)
def test_policy_check_catches_what_would_break_the_pack_later(fixture: BrokenFixture) -> None:
    path = BROKEN_FIXTURES / f"{fixture.name}.yaml"
    code, out, err = run_cli("policy", "check", str(path))
    assert (code, out) == (1, "")
    assert err == f"error: {path}: {fixture.field}: {fixture.problem}\n"
    # Nor can `deadlines` be reached with it: the same message, no traceback.
    code, out, err = run_cli(
        "deadlines", "--policy", str(path), "--stage", "2", "--from", "2026-12-01"
    )
    assert (code, out) == (2, "")
    assert err == f"error: {path}: {fixture.field}: {fixture.problem}\n"


def test_deadlines_with_a_valid_pack_still_work() -> None:
    """Control for the broken fixtures: the pack they are made from counts its deadlines, to
    its 16:30 end of day."""
    argv = ["deadlines", "--policy", str(THORNBURY), "--stage", "2"]
    code, out, err = run_cli(*argv, "--from", "2026-12-01T10:00:00+00:00", "--json")
    assert (code, err) == (0, "")
    assert {row["clock"]: row["due"] for row in json.loads(out)} == {
        "referral": "2026-12-01T16:30:00+00:00",
        "resolve": "2026-12-04T16:30:00+00:00",
        "confirm": "2026-12-03T16:30:00+00:00",
    }


# -- policy show -------------------------------------------------------------------------------


def show(name: str) -> str:
    code, out, err = run_cli("--policy-dir", str(POLICIES), "policy", "show", name)
    assert (code, err) == (0, "")
    return out


@pytest.mark.clause("RB-4.6", "RB-flow")
def test_policy_show_redbridge_prints_stages_roles_and_clocks() -> None:
    lines = show("redbridge").splitlines()
    assert lines[0] == "Redbridge Safeguarding Adults Board (RSAB, id redbridge)"
    assert "Working days: GB-ENG bank holidays, Europe/London, day ends 17:00" in lines
    for expected in [
        "  Stage 1: Practitioner to practitioner [RB-4.4, RB-2.1]",
        "  Stage 2: Line manager to line manager [RB-4.5]",
        "  Stage 3: Senior managers or named safeguarding professionals [RB-4.6]",
        "  Stage 4: RSAB Independent Chair [RB-4.7, RB-4.9]",
        "    clock raise: Raise the matter with the other professional — 2 WD; "
        "from disagreement_date: 2 WD [RB-4.4]",
        "    clock resolve: Senior managers resolve the disagreement — 2 WD (shortest applies); "
        "from stage_entered: 5 WD [RB-4.6] / 2 WD [RB-flow, flowchart]",
        "    clock referral: Escalate to both line managers — same working day; "
        "from escalation_triggered: same working day [RB-4.5]",
        "    business manager copied [RB-4.6]",
        "    business manager copied [RB-4.7, RB-4.9]",
        "    outcome: recommendations",
        "    escalates to stage 4",
    ]:
        assert expected in lines, expected
    roles = {
        line.split()[0]: line
        for line in lines
        if line.startswith("  ") and ("[agency]" in line or "[board]" in line)
    }
    assert roles["business_manager"].endswith(
        "RSAB Business Manager [board] RB-4.6, RB-4.7, RB-4.9"
    )
    assert roles["senior_manager"].endswith("Senior manager [agency] RB-4.6")
    assert roles["agency_admin"].strip().endswith("Agency administrator [agency]")
    assert len(roles) == 9


@pytest.mark.clause("HW-0", "HW-thr")
def test_policy_show_harrow_marks_local_defaults_and_the_threshold_track() -> None:
    lines = show("harrow").splitlines()
    assert lines[0] == "Harrow Safeguarding Adults Board (HSAB, id harrow)"
    for expected in [
        "Track 'main': Professional disagreement [HW-0]",
        "Track 'threshold': Safeguarding adults team threshold decision [HW-thr]",
        "    clock review: Review whether stage 1 has resolved it — 5 WD — local default, "
        "not policy; from stage_entered: 5 WD [HW-0, local]",
        "    clock review: Review the threshold decision — 1 WD; from stage_entered: 1 WD [HW-thr]",
        "    outcome: panel decision",
        "  then joins stage 3 (HSAB lead to HSAB lead)",
        "Retention: closed cases kept 7 years (local default)",
    ]:
        assert expected in lines, expected
    assert sum("local default, not policy" in line for line in lines) == 6


def test_policy_show_finds_packs_in_the_default_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLICY_DIR_ENV, raising=False)
    code, out, err = run_cli("policy", "show", "redbridge")
    assert (code, err) == (0, "")
    assert out.startswith("Redbridge Safeguarding Adults Board (RSAB, id redbridge)\n")


def test_policy_show_accepts_a_path() -> None:
    code, out, _ = run_cli("policy", "show", str(HARROW))
    assert code == 0
    assert out.startswith("Harrow Safeguarding Adults Board (HSAB, id harrow)\n")


def test_policy_show_unknown_name() -> None:
    code, out, err = run_cli("--policy-dir", str(POLICIES), "policy", "show", "camden")
    assert (code, out) == (2, "")
    assert err == (
        f"error: {POLICIES / 'camden.yaml'}: no pack named 'camden'; "
        "known: ['cumbria', 'harrow', 'lincolnshire', 'redbridge', 'south-ayrshire']\n"
    )


# -- deadlines ---------------------------------------------------------------------------------

# (id, clauses, policy, stage, from, {clock: due})
DEADLINES: list[tuple[str, tuple[str, ...], str, str, str, dict[str, str]]] = [
    (
        # Thu 24 Dec; Fri 25 Christmas, Mon 28 Boxing Day (observed), Fri 1 Jan New Year.
        "rb1-christmas-2026",
        ("RB-4.4", "RB-flow"),
        "redbridge",
        "1",
        "2026-12-24T10:00:00+00:00",
        {
            "raise": "2026-12-30T17:00:00+00:00",
            "respond": "2026-12-31T17:00:00+00:00",
            "resolve": "2027-01-05T17:00:00+00:00",
            "confirm": "2026-12-30T17:00:00+00:00",
        },
    ),
    (
        # After 17:00 the day still never counts for "within N WD": same deadlines.
        "rb1-christmas-eve-after-17",
        ("RB-4.4", "RB-flow"),
        "redbridge",
        "1",
        "2026-12-24T17:30:00+00:00",
        {
            "raise": "2026-12-30T17:00:00+00:00",
            "respond": "2026-12-31T17:00:00+00:00",
            "resolve": "2027-01-05T17:00:00+00:00",
            "confirm": "2026-12-30T17:00:00+00:00",
        },
    ),
    (
        # Fri 27 Mar 16:30 GMT; clocks go forward Sun 29 Mar; Good Friday 3 Apr and Easter
        # Monday 6 Apr: 30, 31 Mar, 1, 2 Apr, then Tue 7 Apr is the 5th working day.
        "rb2-easter-2026-spring-forward",
        ("RB-4.5", "RB-flow"),
        "redbridge",
        "2",
        "2026-03-27T16:30:00Z",
        {
            "referral": "2026-03-27T17:00:00+00:00",
            "resolve": "2026-04-07T17:00:00+01:00",
            "confirm": "2026-03-31T17:00:00+01:00",
        },
    ),
    (
        "rb2-after-17",
        ("RB-4.5", "RB-flow"),
        "redbridge",
        "2",
        "2026-06-10T17:30:00+01:00",
        {
            "referral": "2026-06-11T17:00:00+01:00",
            "resolve": "2026-06-17T17:00:00+01:00",
            "confirm": "2026-06-12T17:00:00+01:00",
        },
    ),
    (
        # The day ends at 17:00: an event at 17:00 exactly is not "before the day's end".
        "rb2-at-17-exactly",
        ("RB-4.5", "RB-flow"),
        "redbridge",
        "2",
        "2026-06-10T17:00:00+01:00",
        {
            "referral": "2026-06-11T17:00:00+01:00",
            "resolve": "2026-06-17T17:00:00+01:00",
            "confirm": "2026-06-12T17:00:00+01:00",
        },
    ),
    (
        "rb2-one-second-before-17",
        ("RB-4.5", "RB-flow"),
        "redbridge",
        "2",
        "2026-06-10T16:59:59+01:00",
        {
            "referral": "2026-06-10T17:00:00+01:00",
            "resolve": "2026-06-17T17:00:00+01:00",
            "confirm": "2026-06-12T17:00:00+01:00",
        },
    ),
    (
        # 16:30 UTC in June is 17:30 BST: after the end of the local working day.
        "rb2-utc-input-after-local-17",
        ("RB-4.5", "RB-flow"),
        "redbridge",
        "2",
        "2026-06-10T16:30:00Z",
        {
            "referral": "2026-06-11T17:00:00+01:00",
            "resolve": "2026-06-17T17:00:00+01:00",
            "confirm": "2026-06-12T17:00:00+01:00",
        },
    ),
    (
        # Christmas Eve after 17:00: the next working day is Tue 29 Dec.
        "rb2-christmas-eve-evening",
        ("RB-4.5", "RB-flow"),
        "redbridge",
        "2",
        "2026-12-24T18:00:00+00:00",
        {
            "referral": "2026-12-29T17:00:00+00:00",
            "resolve": "2027-01-05T17:00:00+00:00",
            "confirm": "2026-12-30T17:00:00+00:00",
        },
    ),
    (
        # Saturday 7 Nov: same-WD runs to Monday; 2 WD is Tuesday.
        "rb3-weekend",
        ("RB-4.6", "RB-flow"),
        "redbridge",
        "3",
        "2026-11-07T11:00:00+00:00",
        {
            "referral": "2026-11-09T17:00:00+00:00",
            "resolve": "2026-11-10T17:00:00+00:00",
            "confirm": "2026-11-10T17:00:00+00:00",
        },
    ),
    (
        # Good Friday 3 Apr 2026: same-WD runs to Tue 7 Apr (Easter Monday 6 Apr).
        "rb3-good-friday-2026",
        ("RB-4.6", "RB-flow"),
        "redbridge",
        "3",
        "2026-04-03T10:00:00+01:00",
        {
            "referral": "2026-04-07T17:00:00+01:00",
            "resolve": "2026-04-08T17:00:00+01:00",
            "confirm": "2026-04-08T17:00:00+01:00",
        },
    ),
    (
        # Fri 23 Oct in BST; clocks go back Sun 25 Oct: deadlines from Monday are in GMT.
        "rb3-october-clock-change",
        ("RB-4.6", "RB-flow"),
        "redbridge",
        "3",
        "2026-10-23T15:00:00+01:00",
        {
            "referral": "2026-10-23T17:00:00+01:00",
            "resolve": "2026-10-27T17:00:00+00:00",
            "confirm": "2026-10-27T17:00:00+00:00",
        },
    ),
    (
        "rb4-october-clock-change",
        ("RB-4.9", "RB-flow"),
        "redbridge",
        "4",
        "2026-10-23T15:00:00+01:00",
        {
            "referral": "2026-10-23T17:00:00+01:00",
            "recommend": "2026-10-30T17:00:00+00:00",
        },
    ),
    (
        # Thu 25 Mar 2027; Good Friday 26 Mar, clocks forward 28 Mar, Easter Monday 29 Mar:
        # 30, 31 Mar, 1, 2 Apr, Mon 5 Apr is the 5th working day, in BST.
        "rb4-easter-2027",
        ("RB-4.9", "RB-flow"),
        "redbridge",
        "4",
        "2027-03-25T12:00:00+00:00",
        {
            "referral": "2027-03-25T17:00:00+00:00",
            "recommend": "2027-04-05T17:00:00+01:00",
        },
    ),
    (
        # Fri 24 Dec 2027; Christmas and Boxing Day fall at the weekend and are observed Mon 27
        # and Tue 28 Dec; New Year's Day (Sat 1 Jan 2028) is observed Mon 3 Jan.
        "rb1-christmas-2027-new-year-2028",
        ("RB-4.4", "RB-flow"),
        "redbridge",
        "1",
        "2027-12-24T09:00:00+00:00",
        {
            "raise": "2027-12-30T17:00:00+00:00",
            "respond": "2027-12-31T17:00:00+00:00",
            "resolve": "2028-01-05T17:00:00+00:00",
            "confirm": "2027-12-30T17:00:00+00:00",
        },
    ),
    (
        # Thu 24 Dec 2026 + 1 WD: Tue 29 Dec.
        "hwT2-christmas-2026",
        ("HW-thr",),
        "harrow",
        "T2",
        "2026-12-24T10:00:00+00:00",
        {"review": "2026-12-29T17:00:00+00:00"},
    ),
    (
        # Fri 31 Dec 2027 + 1 WD: Mon 3 Jan 2028 is New Year's Day (observed), so Tue 4 Jan.
        "hwT2-new-year-2028",
        ("HW-thr",),
        "harrow",
        "T2",
        "2027-12-31T16:00:00+00:00",
        {"review": "2028-01-04T17:00:00+00:00"},
    ),
    (
        "hwT3-new-year-2028",
        ("HW-thr", "HW-0"),
        "harrow",
        "T3",
        "2027-12-31T16:00:00+00:00",
        {
            "referral": "2027-12-31T17:00:00+00:00",
            "review": "2028-01-10T17:00:00+00:00",
        },
    ),
    (
        "hw3-new-year-2028",
        ("HW-0",),
        "harrow",
        "3",
        "2027-12-31T16:00:00+00:00",
        {"review": "2028-01-17T17:00:00+00:00"},
    ),
    (
        # Tue 24 Mar 2026: 25, 26, 27, (clocks forward) 30, 31 Mar.
        "hw2-spring-forward-2026",
        ("HW-0",),
        "harrow",
        "2",
        "2026-03-24T09:00:00Z",
        {"review": "2026-03-31T17:00:00+01:00"},
    ),
    (
        # Thu 2 Apr 2026: Good Friday and Easter Monday skipped: Tue 7, Wed 8 Apr.
        "hwT1-easter-2026",
        ("HW-0",),
        "harrow",
        "T1",
        "2026-04-02T12:00:00+01:00",
        {"review": "2026-04-08T17:00:00+01:00"},
    ),
    (
        "hw1-easter-2027",
        ("HW-0",),
        "harrow",
        "1",
        "2027-03-25T12:00:00+00:00",
        {"review": "2027-04-05T17:00:00+01:00"},
    ),
    (
        # Mon 24 Aug 2026 + 20 WD, skipping the late summer bank holiday Mon 31 Aug.
        "hw4-late-summer-2026",
        ("HW-0",),
        "harrow",
        "4",
        "2026-08-24T10:00:00+01:00",
        {"review": "2026-09-22T17:00:00+01:00"},
    ),
]


@pytest.mark.parametrize(
    ("policy", "stage", "start", "expected"),
    [
        pytest.param(policy, stage, start, expected, id=row_id, marks=pytest.mark.clause(*clauses))
        for row_id, clauses, policy, stage, start, expected in DEADLINES
    ],
)
def test_deadlines_json(policy: str, stage: str, start: str, expected: dict[str, str]) -> None:
    rows = deadlines_json(policy, stage, start)
    assert {row["clock"]: row["due"] for row in rows} == expected
    assert [row["clock"] for row in rows] == list(expected)
    assert all(row["stage"] == stage for row in rows)


@pytest.mark.clause("RB-4.6", "RB-flow")
def test_deadlines_json_row_shape() -> None:
    rows = deadlines_json("redbridge", "3", "2026-10-23T15:00:00+01:00")
    by_clock = {row["clock"]: row for row in rows}
    referral, resolve = by_clock["referral"], by_clock["resolve"]
    assert (referral["working_days"], referral["same_working_day"]) == (None, True)
    assert (resolve["working_days"], resolve["same_working_day"]) == (2, False)
    assert resolve["clauses"] == ["RB-4.6", "RB-flow"]
    assert [(t["working_days"], t["source"]) for t in resolve["timescales"]] == [
        (5, "text"),
        (2, "flowchart"),
    ]
    assert resolve["protective"] is True
    assert resolve["local_default"] is False
    assert resolve["runs_from"] == "stage_entered"
    assert resolve["from"] == "2026-10-23T15:00:00+01:00"
    for row in rows:
        assert {"clock", "working_days", "same_working_day", "due"} <= set(row)
        assert row["working_days"] is None or type(row["working_days"]) is int
        assert type(row["same_working_day"]) is bool


@pytest.mark.clause("HW-0")
def test_deadlines_json_flags_harrow_local_defaults() -> None:
    (row,) = deadlines_json("harrow", "1", "2026-06-10T10:00:00+01:00")
    assert (row["clock"], row["working_days"], row["local_default"]) == ("review", 5, True)
    (t2,) = deadlines_json("harrow", "T2", "2026-06-10T10:00:00+01:00")
    assert (t2["working_days"], t2["local_default"], t2["due"]) == (
        1,
        False,
        "2026-06-11T17:00:00+01:00",
    )


@pytest.mark.parametrize(
    ("start", "local_from", "referral"),
    [
        # 16:30 London time in summer is before the end of the day; as UTC it would be 17:30 BST.
        pytest.param(
            "2026-07-01T16:30:00",
            "2026-07-01T16:30:00+01:00",
            "2026-07-01T17:00:00+01:00",
            id="summer",
        ),
        pytest.param(
            "2026-12-01T16:59:00",
            "2026-12-01T16:59:00+00:00",
            "2026-12-01T17:00:00+00:00",
            id="winter",
        ),
    ],
)
def test_naive_from_is_london_local_time(start: str, local_from: str, referral: str) -> None:
    rows = deadlines_json("redbridge", "2", start)
    assert rows[0]["clock"] == "referral"
    assert rows[0]["from"] == local_from
    assert rows[0]["due"] == referral


def test_the_same_instant_in_utc_falls_after_the_summer_day_end() -> None:
    rows = deadlines_json("redbridge", "2", "2026-07-01T16:30:00+00:00")
    assert rows[0]["from"] == "2026-07-01T17:30:00+01:00"
    assert rows[0]["due"] == "2026-07-02T17:00:00+01:00"


def test_deadlines_human_output_lists_every_clock_with_its_clauses() -> None:
    code, out, err = deadlines("redbridge", "1", "2026-12-24T10:00:00+00:00")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "Redbridge Safeguarding Adults Board, stage 1 (Practitioner to practitioner), "
        "from Thu 24 Dec 2026 10:00 GMT"
    )
    clock_lines = {line.split()[0]: line for line in lines[1:]}
    assert list(clock_lines) == ["raise", "respond", "resolve", "confirm"]
    assert clock_lines["raise"].endswith(
        "due Wed 30 Dec 2026 17:00 GMT  Raise the matter with the other professional [RB-4.4]"
    )
    assert "2 WD" in clock_lines["raise"]
    assert clock_lines["respond"].endswith("[RB-4.4]")
    assert "due Thu 31 Dec 2026 17:00 GMT" in clock_lines["respond"]
    assert clock_lines["resolve"].endswith("[RB-flow]")
    assert "due Tue 05 Jan 2027 17:00 GMT" in clock_lines["resolve"]
    assert clock_lines["confirm"].endswith("[RB-4.4, RB-flow]")


@pytest.mark.clause("HW-0", "HW-thr")
def test_deadlines_human_output_marks_local_defaults_and_same_day() -> None:
    code, out, _ = deadlines("harrow", "T3", "2027-12-31T16:00:00+00:00")
    assert code == 0
    lines = out.splitlines()
    referral = next(line for line in lines if line.strip().startswith("referral"))
    review = next(line for line in lines if line.strip().startswith("review"))
    assert "same working day" in referral
    assert "due Fri 31 Dec 2027 17:00 GMT" in referral
    assert referral.endswith("[HW-thr]")
    assert "(local default)" not in referral
    assert "due Mon 10 Jan 2028 17:00 GMT" in review
    assert review.endswith("(local default) [HW-0]")


def test_deadlines_unknown_stage_lists_the_stages() -> None:
    code, out, err = deadlines("harrow", "5", "2026-06-10T10:00:00+01:00")
    assert (code, out) == (2, "")
    assert err == "error: harrow has no stage '5' (stages: 1, 2, 3, 4, T1, T2, T3)\n"


@pytest.mark.parametrize("start", ["yesterday", "2026-02-30T10:00:00", "24/12/2026 10:00"])
def test_deadlines_bad_from(start: str) -> None:
    code, out, err = deadlines("redbridge", "1", start)
    assert (code, out) == (2, "")
    assert err == (
        f"error: --from {start!r} is not an ISO 8601 date-time (e.g. 2026-12-03T09:30:00+00:00)\n"
    )


@pytest.mark.parametrize("start", ["9999-12-31T23:00:00", "0001-01-01T00:00:00+05:00"])
def test_deadlines_from_beyond_the_years_a_calendar_can_count(start: str) -> None:
    code, out, err = deadlines("redbridge", "1", start)
    assert (code, out) == (2, "")
    assert err == f"error: --from {start!r} is outside the years 1900 to 2999\n"


def test_deadlines_unknown_policy() -> None:
    code, out, err = deadlines("camden", "1", "2026-06-10T10:00:00+01:00")
    assert (code, out) == (2, "")
    assert (
        "no pack named 'camden'; known: ['cumbria', 'harrow', 'lincolnshire', 'redbridge', 'south-ayrshire']"
        in err
    )


def test_deadlines_accepts_a_pack_path() -> None:
    argv = ["deadlines", "--policy", str(REDBRIDGE), "--stage", "3"]
    code, out, _ = run_cli(*argv, "--from", "2026-11-07T11:00:00+00:00", "--json")
    assert code == 0
    assert [row["due"] for row in json.loads(out)] == [
        "2026-11-09T17:00:00+00:00",
        "2026-11-10T17:00:00+00:00",
        "2026-11-10T17:00:00+00:00",
    ]


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli("deadlines", "--policy", "redbridge")
    assert code == 2
    assert out == ""
    # argparse writes usage errors to the process's stderr (not to `err`).
    message = err + capsys.readouterr().err
    assert "the following arguments are required: --stage, --from" in message


# -- the installed console script --------------------------------------------------------------


def console_script() -> str:
    beside_python = Path(sys.executable).with_name("escalation")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("escalation")
    assert found is not None, "the `escalation` console script is not installed (pip install -e .)"
    return found


def test_console_script_entry_point(tmp_path: Path) -> None:
    script = console_script()
    checked = subprocess.run(
        [script, "policy", "check", str(REDBRIDGE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"ok: {REDBRIDGE}: Redbridge Safeguarding Adults Board")

    argv = ["deadlines", "--policy", str(REDBRIDGE), "--stage", "1"]
    computed = subprocess.run(
        [script, *argv, "--from", "2026-12-24T10:00:00+00:00", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert computed.returncode == 0, computed.stderr
    assert {row["clock"]: row["due"] for row in json.loads(computed.stdout)} == {
        "raise": "2026-12-30T17:00:00+00:00",
        "respond": "2026-12-31T17:00:00+00:00",
        "resolve": "2027-01-05T17:00:00+00:00",
        "confirm": "2026-12-30T17:00:00+00:00",
    }

    broken = write_broken(next(b for b in BROKEN if b.id == "stage-loop"), tmp_path)
    failed = subprocess.run(
        [script, "policy", "check", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 1
    assert f"{broken}: tracks.0: stages loop (1 -> 2 -> 1)" in failed.stderr


# -- no traceback, whatever the arguments ----------------------------------------------------------


def script(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["deadlines", "--policy", "redbridge", "--stage", "1", "--from", "yesterday"],
            "error: --from 'yesterday' is not an ISO 8601 date-time",
            id="bad-from",
        ),
        pytest.param(
            ["deadlines", "--policy", "redbridge", "--stage", "1", "--from", "9999-12-31T23:00"],
            "error: --from '9999-12-31T23:00' is outside the years 1900 to 2999",
            id="from-out-of-range",
        ),
        pytest.param(
            ["deadlines", "--policy", "redbridge", "--stage", "9", "--from", "2026-12-01"],
            "error: redbridge has no stage '9' (stages: 1, 2, 3, 4)",
            id="unknown-stage",
        ),
        pytest.param(
            ["deadlines", "--policy", "camden", "--stage", "1", "--from", "2026-12-01"],
            "no pack named 'camden'",
            id="unknown-board",
        ),
        pytest.param(
            ["--policy-dir", "/nonexistent-policies", "policy", "show", "redbridge"],
            "error: /nonexistent-policies: no such folder of policy packs",
            id="missing-policy-dir",
        ),
        pytest.param(
            ["policy", "show", "/nonexistent/pack.yaml"],
            "error: /nonexistent/pack.yaml: no such file",
            id="missing-pack-file",
        ),
        pytest.param(
            ["policy", "check", str(POLICIES)],
            f"error: {POLICIES}: is a folder, not a pack file",
            id="folder-as-pack",
        ),
        pytest.param(
            [
                *("deadlines", "--policy", str(BROKEN_FIXTURES / "unknown-timezone.yaml")),
                *("--stage", "1", "--from", "2026-12-01"),
            ],
            "calendar.timezone: unknown time zone 'Europe/Londn'",
            id="broken-pack",
        ),
        pytest.param(["deadlines", "--policy"], "expected one argument", id="usage"),
    ],
)
def test_a_bad_argument_is_one_message_and_exit_2(argv: list[str], message: str) -> None:
    done = script(*argv)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert message in done.stderr


def test_a_broken_pack_checked_is_exit_1_with_no_traceback() -> None:
    path = BROKEN_FIXTURES / "unquoted-end-of-working-day.yaml"
    done = script("policy", "check", str(path))
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    assert done.stderr == (
        f"error: {path}: calendar.end_of_working_day: is the number 1020: YAML reads an "
        'unquoted 17:00 as a number (in base 60); quote the time: "17:00"\n'
    )


@pytest.mark.parametrize(
    ("error", "code", "expected"),
    [
        (RuntimeError("boom\nsecond line"), 2, "error: unexpected RuntimeError: boom\n"),
        (KeyError(), 2, "error: unexpected KeyError: (no message)\n"),
        (KeyboardInterrupt(), 130, "interrupted\n"),
    ],
)
def test_the_last_resort_is_one_line_naming_the_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    code: int,
    expected: str,
) -> None:
    def fails(*_: object, **__: object) -> int:
        raise error  # a command failing in a way no one foresaw

    monkeypatch.setattr(admin.cli, "main", fails)
    with pytest.raises(SystemExit) as exited:
        console()
    assert exited.value.code == code
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", expected)
