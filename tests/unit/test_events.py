"""The case history is append-only and chained by hash, so tampering is detectable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from escalation.events import GENESIS, Event, EventDraft, append, event_hash, verify_chain

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def history() -> list[Event]:
    first = append(
        "RB-1",
        [],
        [EventDraft("CaseRaised", {"a": 1}), EventDraft("StageEntered", {"stage": "1"})],
        at=T0,
        author="amara",
    )
    second = append(
        "RB-1",
        first,
        [EventDraft("DiscussionRecorded", {"summary": "talked"})],
        at=T0 + timedelta(hours=1),
        author="noah",
    )
    return first + second


def test_events_are_numbered_and_chained() -> None:
    events = history()
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert len({e.hash for e in events}) == 3
    assert verify_chain("RB-1", events) == []


@pytest.mark.clause("RB-2.1")
def test_every_event_is_dated_with_its_author() -> None:
    events = history()
    assert [(e.author, e.at) for e in events] == [
        ("amara", T0),
        ("amara", T0),
        ("noah", T0 + timedelta(hours=1)),
    ]


def test_edited_content_is_detected() -> None:
    events = history()
    events[1] = replace(events[1], data={"stage": "4"})
    breaks = verify_chain("RB-1", events)
    assert [(b.seq, b.problem) for b in breaks] == [(2, "content changed after it was written")]


def test_edited_author_or_time_is_detected() -> None:
    events = history()
    events[2] = replace(events[2], author="someone-else")
    assert [b.seq for b in verify_chain("RB-1", events)] == [3]
    events = history()
    events[0] = replace(events[0], at=T0 - timedelta(days=1))
    assert [b.seq for b in verify_chain("RB-1", events)] == [1]


def test_removed_event_is_detected() -> None:
    events = history()
    del events[1]
    problems = {b.problem for b in verify_chain("RB-1", events)}
    assert "out of order: expected event 2" in problems
    assert "does not follow the event before it" in problems


def test_reordered_events_are_detected() -> None:
    events = history()
    events[1], events[2] = events[2], events[1]
    assert verify_chain("RB-1", events)


def test_rehashed_forgery_breaks_the_link_to_the_next_event() -> None:
    """Recomputing a forged event's own hash is not enough: the next event still points at the old one."""
    from escalation.events import event_hash

    events = history()
    forged = replace(events[1], data={"stage": "4"})
    forged = replace(
        forged,
        hash=event_hash(
            case_id=forged.case_id,
            seq=forged.seq,
            type=forged.type,
            at=forged.at,
            author=forged.author,
            data=forged.data,
            prev_hash=forged.prev_hash,
        ),
    )
    events[1] = forged
    assert [(b.seq, b.problem) for b in verify_chain("RB-1", events)] == [
        (3, "does not follow the event before it")
    ]


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        append("RB-1", [], [EventDraft("CaseRaised", {})], at=datetime(2026, 12, 1, 10), author="a")


def test_the_hashed_form_is_the_one_every_stored_hash_was_made_with() -> None:
    """Sorted keys, no spaces, text as it is (not escaped): a change of form would read every
    stored history as tampered with. The digest is pinned, and the text spelled out."""
    data = {
        "summary": "Zoë\u2019s falls — talked",
        "n": [1, 2.5, None, True],
        "b": {"z": 1, "a": 2},
    }
    digest = event_hash(
        case_id="RB-2026-K7QX2M",
        seq=2,
        type="DiscussionRecorded",
        at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        author="amara",
        data=data,
        prev_hash=GENESIS,
    )
    text = (
        '{"at":"2026-12-01T10:00:00+00:00","author":"amara","case_id":"RB-2026-K7QX2M",'
        '"data":{"b":{"a":2,"z":1},"n":[1,2.5,null,true],"summary":"Zoë\u2019s falls — talked"},'
        f'"prev_hash":"{GENESIS}","seq":2,"type":"DiscussionRecorded"}}'
    )
    assert digest == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest == "94831b06439896774fc16afd43585686bd2344bfebda4d04b4cb1ca834d4fec0"


def test_append_hashes_and_keeps_the_very_text_a_whole_event_encodes_to() -> None:
    """`append` writes the data's canonical text once, for the hash and for storage: the hash
    must be the one encoding the whole event gives (verify_chain's), and the kept text the data's
    own canonical form, whatever shape the draft's data had."""
    canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    int_keys: dict[Any, Any] = {2: "two", 10: "ten"}  # not what a rule writes: keys become text
    drafts = [
        EventDraft("CaseRaised", {"z": 1, "a": {"y": (1, 2), "b": "Zoë\u2019s"}, "m": None}),
        EventDraft("DiscussionRecorded", int_keys),
        EventDraft("ClockStarted", {"due": "2026-12-08", "n": [1.5, -0.0, 10**20, True]}),
        EventDraft("Empty", {}),
        # What the faster reader of the round trip leaves to `json`: the data must be the same.
        EventDraft("Awkward", {"x": [float("nan"), float("inf"), 2**64, -(2**70)]}),
        EventDraft("Wide", {"emoji": "\U0001f600", "quote": '"\\', "big": 1e300}),
    ]
    events = append("RB-1", [], drafts, at=T0, author="amara\u00e9")
    for draft, event in zip(drafts, events, strict=True):
        # As storage gives it back, type for type (repr tells 2**64 from its float, and NaN).
        assert repr(event.data) == repr(json.loads(json.dumps(dict(draft.data))))
        whole = {
            "case_id": event.case_id,
            "seq": event.seq,
            "type": event.type,
            "at": event.at.isoformat(),
            "author": event.author,
            "data": event.data,
            "prev_hash": event.prev_hash,
        }
        expected = hashlib.sha256(canonical.encode(whole).encode("utf-8")).hexdigest()
        assert event.hash == expected
        assert event.data_json == canonical.encode(event.data)
    assert events[1].data == {"2": "two", "10": "ten"}
    assert not verify_chain("RB-1", events)


def test_a_draft_appended_again_is_hashed_as_it_was_the_first_time() -> None:
    """A raise folds its opening event before deciding the rest, then appends it again with
    them: the draft's stored form, worked out once, must chain the same as a fresh draft's."""
    opening = EventDraft("CaseRaised", {"details": "Zoë\u2019s falls", "n": (1, 2)})
    first = append("RB-1", [], [opening], at=T0, author="amara")
    again = append(
        "RB-1", [], [opening, EventDraft("StageEntered", {"stage": "1"})], at=T0, author="amara"
    )
    fresh = append(
        "RB-1",
        [],
        [
            EventDraft("CaseRaised", {"details": "Zoë\u2019s falls", "n": [1, 2]}),
            EventDraft("StageEntered", {"stage": "1"}),
        ],
        at=T0,
        author="amara",
    )
    assert first[0].hash == again[0].hash == fresh[0].hash
    assert [e.hash for e in again] == [e.hash for e in fresh]
    assert again[0].data == {"details": "Zoë\u2019s falls", "n": [1, 2]}
    assert not verify_chain("RB-1", again)
