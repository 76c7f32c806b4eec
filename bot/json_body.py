"""The JSON of what the bot sends over HTTP: its answers to Teams and its requests to the Bot
Connector.

A card is most of both, and `json.dumps` took about 70 µs to write one (8.5 KB), a card action's
answer and each card the outbox sends alike; orjson writes it in about 4. Its output is compact
UTF-8, as `json.dumps(..., separators=(",", ":"))` with `ensure_ascii=False` would be.
What orjson refuses (an integer past 64 bits, text with a lone surrogate, a key that is not a
string) is written by `json` as before, since such a value is still JSON to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class JsonAnswer:
    """An invoke's answer already in its JSON form, made by the bot of dicts, lists, text and
    numbers (a card): the edge writes it as it is. A botbuilder model is walked first, to write
    exactly what msrest would (bot.wire): for a card action's answer that walk cost several
    times as much as writing the JSON."""

    value: dict[str, Any]


def json_bytes(value: Any) -> bytes:
    """`value` (made of dicts, lists, strings, numbers, booleans and None) as JSON in UTF-8."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, separators=(",", ":")).encode("utf-8")
