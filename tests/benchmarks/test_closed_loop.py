"""The load generator's closed loop: warm-up turns run in the same loop and are not counted."""

from __future__ import annotations

import asyncio

from benchmarks.harness import Turn, closed_loop


async def test_the_warm_up_runs_in_the_loop_and_only_the_timed_turns_count() -> None:
    sent: list[tuple[int, int, bool]] = []  # worker, turn number, timing started yet
    timed: list[int] = []

    async def turn(worker: int, n: int) -> Turn:
        sent.append((worker, n, bool(timed)))
        await asyncio.sleep(0)
        return Turn(seconds=n / 1000, sequential=0, calls=0)

    result = await closed_loop(
        "t", 3, 12, 30, turn, warm=5, when_timed=lambda: timed.append(len(sent))
    )

    assert [n for _, n, _ in sent] == list(range(17))
    assert timed == [5]  # once, as the first timed turn was handed out
    assert all(started == (n >= 5) for _, n, started in sent)
    # Every worker was busy before timing began, and each counted turn is a timed one.
    assert {w for w, n, _ in sent if n < 5} == {0, 1, 2}
    assert sorted(t.seconds for t in result.turns) == [n / 1000 for n in range(5, 17)]
    assert result.elapsed > 0


async def test_without_a_warm_up_timing_starts_at_once() -> None:
    timed: list[bool] = []

    async def turn(worker: int, n: int) -> Turn:
        assert timed  # already started
        return Turn(seconds=0.0, sequential=0, calls=0)

    result = await closed_loop("t", 2, 4, 30, turn, when_timed=lambda: timed.append(True))

    assert timed == [True] and len(result.turns) == 4
