"""Charts drawn in threads at once (as the report page draws them) come out as drawn alone."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from escalation.packs import PackRegistry
from reports.charts import render_charts
from reports.figures import BoardReport, board_report
from reports.render import to_html
from reports.sample import generate
from testkit.fakes import InMemoryCaseRepository
from testkit.people import ROOT

ROUNDS = 6  # pyplot's shared state spoilt about one round in two of this (measured)
AT_ONCE = 4  # two requests for each of two boards


@pytest.fixture(scope="module")
def two_reports(packs: PackRegistry) -> list[BoardReport]:
    repository = InMemoryCaseRepository()
    # In a thread of its own: asyncio.run on the test's thread would replace the event loop
    # pytest-asyncio keeps there, leaving it unclosed.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, generate(repository, packs, 150, seed=7)).result()
    return [
        board_report(
            repository.states.values(),
            packs.get(board),
            start=date(2025, 4, 1),
            end=date(2026, 3, 31),
        )
        for board in ("redbridge", "harrow")
    ]


def page(report: BoardReport) -> str:
    """What the report page serves: the HTML with the charts drawn for it."""
    return to_html(report, render_charts(report))


def test_reports_drawn_at_once_in_threads_equal_each_drawn_alone(
    two_reports: list[BoardReport],
) -> None:
    alone = [page(report) for report in two_reports]
    assert alone[0] != alone[1]  # two different pages, so a mix-up would show
    assert [page(report) for report in two_reports] == alone  # drawing is repeatable
    requests = two_reports * (AT_ONCE // len(two_reports))
    expected = alone * (AT_ONCE // len(two_reports))
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        for round_ in range(ROUNDS):
            drawn = list(pool.map(page, requests))
            for index, (got, want) in enumerate(zip(drawn, expected, strict=True)):
                assert got == want, f"round {round_}: request {index} differs from its own render"


PYPLOT = re.compile(r"^\s*(import matplotlib\.pyplot|from matplotlib import pyplot)", re.M)


def test_no_code_imports_pyplot() -> None:
    sources = [ROOT / "app.py", *ROOT.glob("*/**/*.py")]
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources
        if not path.is_relative_to(ROOT / ".venv")
        and not path.is_relative_to(ROOT / "node_modules")
        and PYPLOT.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []


def test_drawing_charts_never_loads_pyplot() -> None:
    """In a fresh interpreter, where nothing else could have imported it."""
    program = (
        "import sys\n"
        "from datetime import date\n"
        "from escalation.packs import load_pack\n"
        "from reports.charts import render_charts\n"
        "from reports.figures import board_report\n"
        "pack = load_pack('policies/redbridge.yaml')\n"
        "charts = render_charts(board_report([], pack, start=date(2026, 4, 1), "
        "end=date(2026, 4, 30)))\n"
        "assert len(charts) == 4 and all(c.png.startswith(b'\\x89PNG') for c in charts)\n"
        "print('matplotlib.pyplot' in sys.modules, 'matplotlib' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False True\n"
