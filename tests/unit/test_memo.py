"""The identity memo behind calendar_for and case_access."""

from __future__ import annotations

import threading

from escalation.memo import IdentityMemo


class Thing:
    pass


def test_a_value_is_made_once_for_the_same_objects_and_afresh_for_others() -> None:
    made: list[tuple[object, ...]] = []

    def make(*objects: object) -> int:
        made.append(objects)
        return len(made)

    memo: IdentityMemo[int] = IdentityMemo(make, 2)
    a, b, c = Thing(), Thing(), Thing()
    assert memo.get(a, b) == memo.get(a, b) == 1
    assert memo.get(b, a) == 2  # the same objects in another order are other arguments
    assert memo.get(a, c) == 3  # past its size: the oldest, (a, b), goes
    assert memo.get(b, a) == 2
    assert memo.get(a, b) == 4
    assert made == [(a, b), (b, a), (a, c), (a, b)]


def test_threads_asking_while_others_evict_always_get_the_value_of_their_own_objects() -> None:
    """Reports ask from worker threads: a hit is read without the lock, so a value found must
    still be the one made from the very objects asked about, however often others evict."""

    def make(*objects: object) -> tuple[object, ...]:
        return objects

    memo: IdentityMemo[tuple[object, ...]] = IdentityMemo(make, 3)
    pairs = [(Thing(), Thing()) for _ in range(12)]
    wrong: list[tuple[object, ...]] = []

    def ask(offset: int) -> None:
        for n in range(3000):
            pair = pairs[(n * 7 + offset) % len(pairs)]
            if memo.get(*pair) != pair:
                wrong.append(pair)

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
