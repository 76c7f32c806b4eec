"""The directory-check benchmark still runs: each size read, both checks made, each figure
printed. It times nothing (speed is for benchmarks/, never for a test)."""

from __future__ import annotations

import re

from tests.benchmarks.runner import run_benchmark


def test_the_directory_check_benchmark_runs_each_size_and_reports_its_ratios() -> None:
    done = run_benchmark("benchmarks.directory_refresh", "--people", "5,40", "--repeat", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    for people in (5, 40):
        line = next((x for x in done.stdout.splitlines() if x.split()[:1] == [str(people)]), "")
        assert re.search(r"unchanged, .* changed: \d+x the time, \d+x the CPU$", line), done.stdout
