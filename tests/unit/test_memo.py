"""The identity memo behind calendar_for and case_access."""

from __future__ import annotations

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
