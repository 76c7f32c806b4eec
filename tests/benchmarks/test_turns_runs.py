"""The turns benchmark still runs end to end: a few turns of each kind, every server started and
stopped, each figure printed. It times nothing (speed is for benchmarks/, never for a test)."""

from __future__ import annotations

import re

from tests.benchmarks.runner import run_benchmark


def test_the_turns_benchmark_runs_each_kind_and_reports_its_figures() -> None:
    done = run_benchmark(
        "benchmarks.turns",
        *("--users", "2", "--requests", "6", "--seconds", "10"),
        *("--kinds", "help,card,raise"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for kind in ("echo", "help", "card", "raise"):
        line = next((x for x in lines if x.startswith(f"{kind} ")), None)
        assert line is not None, done.stdout
        assert re.search(r"turns/s .* cpu +\d+\.\d+ ms/turn", line), line
    assert "p99, as a multiple of" in done.stdout, done.stdout
    for kind in ("help", "card", "raise"):  # the bot's, as ratios to the echo bot's
        ratios = [x for x in lines if re.match(rf"  {kind} +/ echo +\d+\.\d+x", x)]
        # turns a second (twice) and p99 always; CPU a turn only when /proc's ticks could tell
        assert len(ratios) >= 3, done.stdout
        # against the echo bot's runs just before and just after the kind, each printed
        beside = rf"  {kind} +/ echo +\d+\.\d+x +\(\d+\.\d, \d+\.\d\)$"
        assert any(re.match(beside, x) for x in lines), done.stdout
