"""Reading stored JSON (escalation.json_text): the very values `json.loads` gives, type for type,
whichever reader reads it."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from escalation.json_text import NotQuick, _long_number_in, read_json, read_json_quickly
from storage.sqlite_engine import _decode, _encode_props, _encode_value, _key


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1 == 1.0 == True would hide a change), and
    NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


TEXTS = [
    '{"case_id":"RB-2026-K7QX2M","seq":3,"details":{"issue":"Zoë\u2019s falls — twice"}}',
    '{"a":[1,-2,3.5,1e-7,-0.0,0,true,false,null,""],"b":{"c":{"d":[[]]}}}',
    '"\\ud83d\\ude00 and \\u00e9 and \\n\\t\\u0000"',
    '{"a":1,"a":2}',  # the last of two keys wins in both
    " [1, 2] ",
    # What orjson reads otherwise, or not at all, and json reads:
    "18446744073709551616",  # past 64 bits: orjson would make it a float
    "-9223372036854775809",
    '{"n":123456789012345678901234567890}',
    "9223372036854775807",
    "[NaN, Infinity, -Infinity]",
    "1e400",
    '"\\ud800 alone"',  # a lone surrogate, as ensure_ascii writes one
    '["\ud800 itself"]',  # and as the character itself
    '{"reference": "ASC-1234567890123456789", "n": 1}',  # 19 digits in a string: json reads it
    # A run just after a quote is text, read by orjson; one anywhere else may be a number.
    f'{{"prev_hash":["s","{"0" * 64}"],"seq":["i",1]}}',
    f'{{"h":"{"0" * 64}","n":12345678901234567890}}',
    f'["{"1" * 20}",-12345678901234567890]',
    f'["{"1" * 20}",\t12345678901234567890]',
    f'{{"{"2" * 20}":[{"3" * 25}]}}',
    '"a\\\\"',  # text ending in a backslash
    f'["a\\\\",{"9" * 21}]',  # a quote that ends text, then a number
    f'"a\\\\"{"9" * 21}',  # not JSON: refused by both
]


@pytest.mark.parametrize("text", TEXTS)
def test_reads_what_json_reads(text: str) -> None:
    try:
        expected = json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            read_json(text)
        return
    assert same(read_json(text), expected)


@pytest.mark.parametrize("text", TEXTS)
def test_bytes_read_quickly_only_as_json_reads_them(text: str) -> None:
    """A request body comes as bytes: orjson reads those it reads exactly as json does, and
    gives the others (NotQuick) back to json."""
    raw = text.encode("utf-8", "surrogatepass")
    try:
        quick = read_json_quickly(raw)
    except NotQuick:
        return
    assert same(quick, json.loads(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":"\\ud800"}',  # a lone surrogate's escape
        b'{"a":"\xed\xa0\x80"}',  # a lone surrogate as bytes: not UTF-8
        b"\xef\xbb\xbf{}",  # a byte-order mark
        b'{"a":' + b"1" * 20 + b"}",  # past 64 bits
        b"[NaN]",
        b"1e400",
        b'"\xff"',
    ],
)
def test_what_orjson_might_read_otherwise_is_left_to_json(raw: bytes) -> None:
    with pytest.raises(NotQuick):
        read_json_quickly(raw)


@pytest.mark.parametrize(
    ("text", "long"),
    [
        (f'{{"prev_hash":"{"0" * 64}"}}', False),  # text from its first digit
        (f'{{"a":"{"0" * 18}"}}', False),
        (f'{{"a":{"0" * 18}}}', False),
        (f'{{"a":{"1" * 19}}}', True),
        (f'{{"a":-{"1" * 19}}}', True),
        (f'{{"a":"x{"1" * 19}"}}', True),  # text, but not from its first digit: json reads it
        (f'{{"h":"{"0" * 64}","a":[1,{"2" * 19}]}}', True),
    ],
)
def test_which_texts_may_hold_a_number_past_64_bits(text: str, long: bool) -> None:
    assert _long_number_in(text) is long


@pytest.mark.parametrize("text", ["", "{", "[1,]", "{'a': 1}", "nul"])
def test_what_is_not_json_fails_as_json_fails(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        read_json(text)


def test_an_entity_reads_back_from_sqlite_exactly_as_written() -> None:
    entity: dict[str, Any] = {
        "PartitionKey": "RB-2026-K7QX2M",
        "RowKey": "event-00000001",
        "text": "Zoë\u2019s \U0001f600 line\nnext",
        "seq": 2**63 - 1,
        "low": -(2**63),
        "flag": True,
        "ratio": float("nan"),
        "score": 1e16,
        "at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        "blob": b"\x00\xff",
    }
    props = _encode_props(entity)
    # Byte for byte what json wrote before: a file written by either reads the same.
    tagged = {k: _encode_value(v) for k, v in entity.items() if k not in ("PartitionKey", "RowKey")}
    assert props == json.dumps(tagged, ensure_ascii=False, separators=(",", ":"))
    back = _decode(_key(entity["PartitionKey"]), _key(entity["RowKey"]), "etag", props)
    assert same(dict(back.entity), entity)


def test_random_texts_with_long_digit_runs_read_as_json_reads_them() -> None:
    """Seeded: digit runs in text (from its first character or not, quotes and backslashes
    about) beside numbers of every length, as json writes them."""
    rnd = random.Random(20261202)

    def value(depth: int) -> Any:
        pick = rnd.random()
        if depth > 3 or pick < 0.4:
            return rnd.choice(
                [
                    rnd.choice([1, -1]) * rnd.randint(0, 10 ** rnd.randint(1, 30)),
                    "".join(rnd.choice('0123456789"\\ab') for _ in range(rnd.randint(0, 40))),
                    "0" * rnd.randint(15, 70),
                    rnd.random() * 10 ** rnd.randint(-5, 25),
                    None,
                ]
            )
        if pick < 0.7:
            return [value(depth + 1) for _ in range(rnd.randint(0, 4))]
        return {str(value(4)): value(depth + 1) for _ in range(rnd.randint(0, 4))}

    for _ in range(2000):
        text = json.dumps(value(0), ensure_ascii=rnd.random() < 0.5)
        assert same(read_json(text), json.loads(text)), text
