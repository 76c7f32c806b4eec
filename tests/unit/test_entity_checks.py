"""An entity is checked against Azure's limits the same way the first time its property names
are seen and every time after, when the common kinds of value take a shorter path."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from storage.tables import MAX_ENTITY_BYTES, MAX_STRING_UTF16, _wire_size, checked_entity

_fresh = itertools.count()


def fresh(name: str) -> str:
    """A property name no check has seen yet in this process."""
    return f"{name}_{next(_fresh)}_{id(_fresh)}"


def entity(**props: Any) -> dict[str, Any]:
    return {"PartitionKey": "p", "RowKey": "r", **props}


def renamed(props: dict[str, Any]) -> dict[str, Any]:
    return {fresh(name): value for name, value in props.items()}


VALUES: dict[str, Any] = {
    "text": "plain",
    "accented": "Zoë\u2019s \U0001f600 notes",
    "empty": "",
    "count": 7,
    "big": 2**63 - 1,
    "flag": True,
    "ratio": 0.25,
    "raw": b"\x00\xff" * 10,
    "when": datetime(2026, 12, 1, 10, tzinfo=UTC),
    "local": datetime(2026, 12, 1, 10, tzinfo=timezone(timedelta(hours=1))),
}


def test_first_sight_and_known_names_give_the_same_copy_and_a_true_bound() -> None:
    props = renamed(VALUES)
    first = checked_entity(entity(**props))
    again = checked_entity(entity(**props))
    assert first == again
    copy, wire = again
    assert list(copy) == ["PartitionKey", "RowKey", *props]
    assert wire >= _wire_size(entity(**props))  # an upper bound of the body Azurite measures
    local = copy[next(n for n in props if n.startswith("local"))]
    assert local == VALUES["local"] and local.tzinfo is UTC and type(local) is datetime


@pytest.mark.parametrize("seen_before", [False, True])
def test_text_is_measured_in_utf16_units_on_either_path(seen_before: bool) -> None:
    name = fresh("s")
    if seen_before:
        checked_entity(entity(**{name: "x"}))
    at_limit = "\U0001f600" * (MAX_STRING_UTF16 // 2)  # exactly the limit in UTF-16 units
    checked_entity(entity(**{name: at_limit}))
    with pytest.raises(ValueError, match="UTF-16"):
        checked_entity(entity(**{name: at_limit + "x"}))
    with pytest.raises(ValueError, match="surrogate"):
        checked_entity(entity(**{name: "lone \udc00"}))


@pytest.mark.parametrize("seen_before", [False, True])
def test_numbers_out_of_range_and_whole_entities_over_the_limit_are_refused(
    seen_before: bool,
) -> None:
    names = [fresh("n") for _ in range(16)]
    if seen_before:
        checked_entity(entity(**dict.fromkeys(names, 1)))
    with pytest.raises(ValueError, match="64 bits"):
        checked_entity(entity(**{names[0]: 2**63}))
    with pytest.raises(ValueError, match="1 MiB"):
        checked_entity(entity(**{n: "x" * MAX_STRING_UTF16 for n in names}))
    with pytest.raises(ValueError, match="1 MiB"):  # half the characters, as many UTF-16 units
        checked_entity(entity(**{n: "\U0001f600" * (MAX_STRING_UTF16 // 2) for n in names}))
    fits = {n: "x" * MAX_STRING_UTF16 for n in names[:15]}
    _, wire = checked_entity(entity(**fits))
    assert wire <= MAX_ENTITY_BYTES
