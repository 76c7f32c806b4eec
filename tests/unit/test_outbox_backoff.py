"""The outbox's wait before trying a message again."""

from __future__ import annotations


def test_backoff_grows_is_capped_and_jittered() -> None:
    import random

    from storage.outbox import jittered_backoff

    rng = random.Random(7)
    waits = [jittered_backoff(n, rng=rng).total_seconds() for n in (1, 2, 3, 20, 20)]
    assert 1.6 <= waits[0] <= 2.4 and 3.2 <= waits[1] <= 4.8 and 6.4 <= waits[2] <= 9.6
    assert all(720 <= w <= 1080 for w in waits[3:])  # 15 minutes at most, before jitter
    assert waits[3] != waits[4]  # two instances failing together do not retry in step
