"""Which of a baseline's two runs each ratio of benchmarks.turns is taken against: always the
one that flatters this bot least (the faster, the shorter tail, the cheaper in CPU)."""

from __future__ import annotations

from benchmarks.harness import Result, Turn
from benchmarks.turns import cheaper, faster, least, shorter_tail


def run(name: str, *millis: float, elapsed: float = 1.0, cpu: float | None = None) -> Result:
    return Result(name, [Turn(ms / 1000, 0, 0) for ms in millis], elapsed, cpu)


def test_faster_takes_the_run_with_more_turns_a_second() -> None:
    slow, quick = run("slow", 10, 10), run("quick", 10, 10, 10)
    assert faster(slow, quick) is quick
    assert faster(quick, slow) is quick
    assert faster(None, slow) is slow and faster(slow, None) is slow
    assert faster(None, None) is None


def test_a_tie_goes_to_the_first_run() -> None:
    first, second = run("first", 10), run("second", 10)
    assert faster(first, second) is first
    assert shorter_tail(first, second) is first


def test_shorter_tail_takes_the_lower_p99_and_skips_a_run_without_turns() -> None:
    long_tail, short_tail = run("long", 5, 200), run("short", 40, 41)
    assert shorter_tail(long_tail, short_tail) is short_tail
    assert shorter_tail(run("empty"), long_tail) is long_tail
    assert shorter_tail(run("empty"), None) is None


def test_cheaper_takes_less_cpu_a_turn_else_the_faster_run() -> None:
    dear, lean = run("dear", 10, 10, cpu=0.02), run("lean", 10, cpu=0.002)
    assert cheaper(dear, lean) is lean  # 2 ms a turn against 10, though it answered fewer
    unmeasured, quick = run("unmeasured", 10), run("quick", 10, 10)
    assert cheaper(unmeasured, quick) is quick  # no CPU figures: the faster run
    assert cheaper(unmeasured, lean) is lean


def test_least_leaves_out_runs_whose_measure_is_none() -> None:
    a, b = run("a", 10), run("b", 10)
    assert least(a, b, lambda r: None if r is a else 1.0) is b
    assert least(a, b, lambda r: None) is None
