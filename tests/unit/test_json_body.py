"""The JSON the bot sends over HTTP (bot.json_body): what json would write, read back the same."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.json_body import json_bytes

CARD: dict[str, Any] = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Zoë Ó Briain\u2019s case — stage 2", "wrap": True},
        {"type": "FactSet", "facts": [{"title": "Due", "value": "Fri 4 Dec, 17:00"}]},
    ],
    "actions": [{"type": "Action.Execute", "verb": "refresh", "data": {"version": 3}}],
    "refresh": {"userIds": ["29:alex"]},
    "msteams": {"width": "Full"},
    "score": 0.5,
    "big": 2**62,
    "none": None,
    "flags": [True, False],
}


def test_a_card_reads_back_as_it_was_written_and_as_json_writes_it() -> None:
    written = json_bytes(CARD)
    assert json.loads(written) == CARD == json.loads(json.dumps(CARD))
    # Compact, and text outside ASCII as UTF-8 (the Content-Type says charset=utf-8).
    compact = json.dumps(CARD, separators=(",", ":"), ensure_ascii=False)
    assert written == compact.encode("utf-8")
    assert "Zoë Ó Briain\u2019s".encode() in written


@pytest.mark.parametrize(
    "value",
    [
        {"n": 2**70},  # past 64 bits
        {"text": "half a pair \ud800"},  # a lone surrogate
        {1: "a key that is not a string"},
    ],
    ids=["big-int", "lone-surrogate", "int-key"],
)
def test_what_orjson_refuses_is_written_by_json(value: dict[Any, Any]) -> None:
    written = json_bytes(value)
    assert written == json.dumps(value, separators=(",", ":")).encode("utf-8")
    assert json.loads(written) == json.loads(json.dumps(value))


def test_what_is_not_json_is_refused() -> None:
    with pytest.raises(TypeError):
        json_bytes({"what": object()})
