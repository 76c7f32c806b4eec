"""The people-search benchmark still runs: each size imported, every keystroke searched, each
figure printed. It times nothing (speed is for benchmarks/, never for a test)."""

from __future__ import annotations

import re

from benchmarks.people_search import TYPED, keystrokes
from tests.benchmarks.runner import run_benchmark


def test_the_typed_name_is_searched_at_every_keystroke_but_the_space() -> None:
    typed = keystrokes(TYPED)
    assert typed[0] == "a" and typed[-1] == TYPED
    assert len(typed) == len(TYPED) - 1 and not any(q.endswith(" ") for q in typed)


def test_the_people_search_benchmark_runs_each_size_and_reports_its_ratio() -> None:
    done = run_benchmark("benchmarks.people_search", "--people", "8,40", "--repeat", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    for people in (8, 40):
        line = next((x for x in done.stdout.splitlines() if x.split()[:1] == [str(people)]), "")
        assert re.search(r"a keystroke is \d+\.\d+ of it$", line), done.stdout
