"""The case's history: append-only events, each chained to the one before by hash.

The hash covers everything an event says and the previous event's hash, so editing, removing or
reordering any event breaks the chain from that point on, and `verify_chain` finds it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from escalation.json_text import read_json

GENESIS = "0" * 64

# The hashed text's form: fixed for good, as every stored hash depends on it. Made once, as
# json.dumps() makes an encoder on every call that passes options.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# What that encoder gives for a str, called directly (json's C function).
_TEXT: Callable[[str], str] = json.encoder.encode_basestring


@dataclass(frozen=True)
class EventDraft:
    """An event a rule decided on, before `append` numbers, dates and chains it. Its data is not
    changed once the draft is made: its stored form is worked out once (`stored`), however many
    times the draft is appended (a raise folds its opening event before the rest are decided)."""

    type: str
    data: Mapping[str, Any]

    @cached_property
    def stored(self) -> tuple[dict[str, Any], str]:
        """The data as storage will give it back (a JSON round trip), and its canonical text."""
        data: dict[str, Any] = read_json(json.dumps(dict(self.data)))
        return data, _CANONICAL.encode(data)


@dataclass(frozen=True)
class Event:
    case_id: str
    seq: int  # 1-based position in the case's history; the case's version after it
    type: str
    at: datetime  # aware, UTC
    author: str  # person id, or "system"
    data: Mapping[str, Any]  # JSON-compatible
    prev_hash: str
    hash: str
    # `data` in the hash's form, as `append` hashed it: storage writes this text rather than
    # encoding the data again. Empty for an event read back (its data is checked by its hash).
    # An event copied with other data (dataclasses.replace) must be given its text, or "".
    data_json: str = field(default="", repr=False, compare=False)


def event_hash(
    *,
    case_id: str,
    seq: int,
    type: str,
    at: datetime,
    author: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    return _digest(_head(case_id, at, author), seq, type, _CANONICAL.encode(data), prev_hash)


def _head(case_id: str, at: datetime, author: str) -> str:
    """The canonical text's first keys, the same for every event one `append` makes."""
    return (
        f'{{"at":{_TEXT(at.astimezone(UTC).isoformat())},"author":{_TEXT(author)},'
        f'"case_id":{_TEXT(case_id)},"data":'
    )


def _digest(head: str, seq: int, type: str, data_json: str, prev_hash: str) -> str:
    """The text that encoding the whole event with sorted keys gives, written out key by key."""
    canonical = (
        f'{head}{data_json},"prev_hash":{_TEXT(prev_hash)},"seq":{seq:d},"type":{_TEXT(type)}}}'
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(
    case_id: str,
    history: Sequence[Event],
    drafts: Sequence[EventDraft],
    *,
    at: datetime,
    author: str,
) -> list[Event]:
    """Chain new events onto a history (which is not changed)."""
    if at.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    at = at.astimezone(UTC)
    prev = history[-1].hash if history else GENESIS
    seq = len(history)
    head = _head(case_id, at, author)
    events: list[Event] = []
    for draft in drafts:
        seq += 1
        # What is hashed is exactly what storage will give back.
        data, data_json = draft.stored
        digest = _digest(head, seq, draft.type, data_json, prev)
        events.append(Event(case_id, seq, draft.type, at, author, data, prev, digest, data_json))
        prev = digest
    return events


@dataclass(frozen=True)
class ChainBreak:
    case_id: str
    seq: int
    problem: str


def verify_chain(case_id: str, events: Sequence[Event]) -> list[ChainBreak]:
    """Every place where the history is not what was written."""
    breaks: list[ChainBreak] = []
    prev = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.case_id != case_id:
            breaks.append(ChainBreak(case_id, event.seq, f"belongs to case {event.case_id}"))
        if event.seq != expected_seq:
            breaks.append(
                ChainBreak(case_id, event.seq, f"out of order: expected event {expected_seq}")
            )
        if event.prev_hash != prev:
            breaks.append(ChainBreak(case_id, event.seq, "does not follow the event before it"))
        digest = event_hash(
            case_id=event.case_id,
            seq=event.seq,
            type=event.type,
            at=event.at,
            author=event.author,
            data=event.data,
            prev_hash=event.prev_hash,
        )
        if digest != event.hash:
            breaks.append(ChainBreak(case_id, event.seq, "content changed after it was written"))
        prev = event.hash
    return breaks
