"""Rules every card of this product keeps, beyond the Adaptive Card schema.

`problems(card)` lists what is wrong (an empty list means the card is fine). The tests run it on
every card, beside the official 1.5 JSON schema (`cards/schema/`); the bot may run it in
development. Pure Python, no dependencies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cards.elements import CARD_VERSION, MAX_REFRESH_USERS, Json

# What an action may carry back: ids (a case's, a record's, a join request's), the version the
# person saw, and the verb. Nothing else.
ACTION_DATA_KEYS = frozenset({"case_id", "version", "verb", "record_id", "request_id"})


def nodes(value: Any) -> Iterator[Json]:
    """Every object in a card, depth first."""
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from nodes(child)


def of_type(value: Any, prefix: str) -> list[Json]:
    return [n for n in nodes(value) if str(n.get("type", "")).startswith(prefix)]


def actions(value: Any) -> list[Json]:
    """Every action: buttons, fallbacks, and the refresh action."""
    return of_type(value, "Action.")


def inputs(value: Any) -> list[Json]:
    return of_type(value, "Input.")


def problems(built: Json) -> list[str]:
    found: list[str] = []
    if built.get("type") != "AdaptiveCard":
        found.append("the root is not an AdaptiveCard")
    if built.get("version") != CARD_VERSION:
        found.append(f"version is {built.get('version')!r}, not {CARD_VERSION!r}")
    for key in ("fallbackText", "speak"):
        if not str(built.get(key, "")).strip():
            found.append(f"no {key}")

    seen_ids: set[str] = set()
    for item in inputs(built):
        where = f"{item.get('type')} {item.get('id')!r}"
        if not item.get("id"):
            found.append(f"{where}: no id")
        elif item["id"] in seen_ids:
            found.append(f"{where}: id used twice")
        seen_ids.add(str(item.get("id")))
        if not str(item.get("label", "")).strip():
            found.append(f"{where}: no label")
        if not str(item.get("errorMessage", "")).strip():
            found.append(f"{where}: no errorMessage")
        if not isinstance(item.get("isRequired"), bool):
            found.append(f"{where}: isRequired not stated")

    for action in actions(built):
        kind = action["type"]
        if not str(action.get("title", "")).strip():
            found.append(f"{kind}: no title")
        if kind in ("Action.Execute", "Action.Submit"):
            data = action.get("data")
            if not isinstance(data, dict):
                found.append(f"{kind} {action.get('title')!r}: data is not an object")
                continue
            extra = set(data) - ACTION_DATA_KEYS
            if extra:
                found.append(f"{kind} {action.get('title')!r}: data carries {sorted(extra)}")
            if any(not isinstance(v, (str, int)) for v in data.values()):
                found.append(f"{kind} {action.get('title')!r}: data holds more than ids")
            if not data.get("verb"):
                found.append(f"{kind} {action.get('title')!r}: no verb in data")
        if kind == "Action.Execute":
            fallback = action.get("fallback")
            if not isinstance(fallback, dict) or fallback.get("type") != "Action.Submit":
                found.append(f"Execute {action.get('title')!r}: no Action.Submit fallback")
            else:
                if fallback.get("title") != action.get("title"):
                    found.append(f"Execute {action.get('title')!r}: fallback title differs")
                if fallback.get("data") != action.get("data"):
                    found.append(f"Execute {action.get('title')!r}: fallback data differs")
            if action.get("data", {}).get("verb") != action.get("verb"):
                found.append(f"Execute {action.get('title')!r}: data verb differs from verb")

    refresh = built.get("refresh")
    if isinstance(refresh, dict) and len(refresh.get("userIds", [])) > MAX_REFRESH_USERS:
        found.append(f"refresh.userIds lists more than {MAX_REFRESH_USERS} users")
    return found
