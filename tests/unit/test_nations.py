"""Working days in each of the four nations: the pack's calendar (country GB, subdivision ENG,
WLS, SCT or NIR) decides which days are bank holidays, and a pack may add its area's local
holidays or take away a day its agencies work.

Every expected date was counted by hand on a calendar (weekday of each date checked) with the
nation's published bank holidays.
"""

from __future__ import annotations

import copy
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from admin.cli import main
from escalation.calendar import WorkingCalendar
from escalation.packs import parse_pack

THORNBURY = Path(__file__).resolve().parents[1] / "fixtures" / "packs" / "thornbury.yaml"


@pytest.mark.parametrize(
    ("subdivision", "day", "name"),
    [
        ("SCT", "2026-01-02", "New Year Holiday"),
        ("SCT", "2026-11-30", "Saint Andrew's Day"),
        ("SCT", "2027-01-04", "New Year Holiday (observed)"),  # 2 January 2027 is a Saturday
        ("SCT", "2026-08-03", "Summer Bank Holiday"),  # the first Monday of August
        ("NIR", "2026-03-17", "Saint Patrick's Day"),
        ("NIR", "2026-07-13", "Battle of the Boyne (observed)"),  # 12 July 2026 is a Sunday
        ("WLS", "2026-04-06", "Easter Monday"),
        ("WLS", "2026-08-31", "Late Summer Bank Holiday"),
    ],
)
def test_each_nations_own_bank_holidays(subdivision: str, day: str, name: str) -> None:
    cal = WorkingCalendar(subdivision=subdivision)
    assert not cal.is_working_day(date.fromisoformat(day)), name


@pytest.mark.parametrize(
    ("day", "england", "scotland", "northern_ireland"),
    [
        # Easter Monday is a working day in Scotland only.
        ("2026-04-06", False, True, False),
        # St Andrew's Day, 2 January: Scotland only.
        ("2026-11-30", True, False, True),
        ("2026-01-02", True, False, True),
        # The first Monday of August (Scotland) and the last (the others).
        ("2026-08-03", True, False, True),
        ("2026-08-31", False, True, False),
        # St Patrick's Day and the Boyne holiday: Northern Ireland only.
        ("2026-03-17", True, True, False),
        ("2026-07-13", True, True, False),
    ],
)
def test_one_day_in_three_nations(
    day: str, england: bool, scotland: bool, northern_ireland: bool
) -> None:
    on = date.fromisoformat(day)
    assert [WorkingCalendar(subdivision=s).is_working_day(on) for s in ("ENG", "SCT", "NIR")] == [
        england,
        scotland,
        northern_ireland,
    ]


def pack_text(subdivision: str, **calendar: Any) -> str:
    data = yaml.safe_load(THORNBURY.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["calendar"].update(subdivision=subdivision, end_of_working_day="17:00", **calendar)
    return yaml.safe_dump(data, sort_keys=False)


def deadlines(tmp_path: Path, text: str, stage: str, start: str) -> dict[str, str]:
    path = tmp_path / "pack.yaml"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    argv = ["deadlines", "--policy", str(path), "--stage", stage, "--from", start, "--json"]
    assert main(argv, out=out, err=err) == 0, err.getvalue()
    return {row["clock"]: row["due"] for row in json.loads(out.getvalue())}


@pytest.mark.parametrize(
    ("subdivision", "start", "expected"),
    [
        # Thu 31 Dec 2026 + 3 WD (stage 2 'resolve'). England: Mon 4, Tue 5, Wed 6 Jan.
        ("ENG", "2026-12-31T10:00:00+00:00", "2027-01-06T17:00:00+00:00"),
        # Scotland also keeps 2 January, on Monday 4 January 2027: Tue 5, Wed 6, Thu 7.
        ("SCT", "2026-12-31T10:00:00+00:00", "2027-01-07T17:00:00+00:00"),
        # Fri 27 Nov 2026 + 3 WD: England Mon 30, Tue 1, Wed 2 Dec; Scotland skips St Andrew's.
        ("ENG", "2026-11-27T10:00:00+00:00", "2026-12-02T17:00:00+00:00"),
        ("SCT", "2026-11-27T10:00:00+00:00", "2026-12-03T17:00:00+00:00"),
        # Fri 10 Jul 2026 + 3 WD: Northern Ireland skips Monday 13 July (the Boyne, observed).
        ("NIR", "2026-07-10T10:00:00+01:00", "2026-07-16T17:00:00+01:00"),
        ("WLS", "2026-07-10T10:00:00+01:00", "2026-07-15T17:00:00+01:00"),
        # Mon 16 Mar 2026 + 3 WD: Northern Ireland skips St Patrick's Day.
        ("NIR", "2026-03-16T10:00:00+00:00", "2026-03-20T17:00:00+00:00"),
        # Thu 2 Apr 2026 + 3 WD: Good Friday everywhere; Easter Monday in Wales, not Scotland.
        ("WLS", "2026-04-02T10:00:00+01:00", "2026-04-09T17:00:00+01:00"),
        ("SCT", "2026-04-02T10:00:00+01:00", "2026-04-08T17:00:00+01:00"),
    ],
)
def test_a_packs_nation_moves_its_deadlines(
    tmp_path: Path, subdivision: str, start: str, expected: str
) -> None:
    assert deadlines(tmp_path, pack_text(subdivision), "2", start)["resolve"] == expected


def test_a_pack_adds_local_holidays_and_takes_away_a_day_its_agencies_work(
    tmp_path: Path,
) -> None:
    # Fri 17 Jul 2026 + 3 WD in Scotland: Mon 20, Tue 21, Wed 22 July; with Monday 20 July a
    # local holiday, Thursday 23. 15 June 2026 is in the package's Scottish calendar; a pack
    # whose agencies work it says so.
    local = pack_text("SCT", local_holidays=[{"date": "2026-07-20", "name": "Fair Monday"}])
    assert deadlines(tmp_path, local, "2", "2026-07-17T10:00:00+01:00")["resolve"] == (
        "2026-07-23T17:00:00+01:00"
    )
    with_day = pack_text("SCT")
    assert deadlines(tmp_path, with_day, "2", "2026-06-12T10:00:00+01:00")["resolve"] == (
        "2026-06-18T17:00:00+01:00"
    )
    worked = pack_text("SCT", not_holidays=["2026-06-15"])
    assert deadlines(tmp_path, worked, "2", "2026-06-12T10:00:00+01:00")["resolve"] == (
        "2026-06-17T17:00:00+01:00"
    )
    assert parse_pack(local).calendar.nation == "Scotland"
