"""Small builders for Adaptive Card 1.5 elements and actions, as plain dicts (JSON).

Text that people typed (the risk, the issue, names) goes into `TextRun`s, which are never read as
markdown, so nobody's words can turn into a link or change the layout. Text the product writes
goes into `TextBlock`s.

Every `Action.Execute` carries an `Action.Submit` fallback with the same title and data, for
clients without the Universal Action Model. Action data carries ids, the case version and the
verb only: a card never carries case content back, and the bot loads the case afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from escalation.rules.text import MAX_TEXT  # an input allows what the core accepts, no more

Json = dict[str, Any]

CARD_VERSION = "1.5"
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_REFRESH_USERS = 60  # Teams refreshes a card automatically for at most 60 users
MAX_SUMMARY = 240  # a chat-list or notification preview shows far less; the rest is cut


# -- the card ---------------------------------------------------------------------------------------


def card(
    body: Sequence[Json],
    *,
    fallback_text: str,
    speak: str,
    actions: Sequence[Json] = (),
    refresh: Json | None = None,
) -> Json:
    built: Json = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": CARD_VERSION,
        "fallbackText": fallback_text,
        "speak": speak_text(speak),
        "body": list(body),
    }
    if actions:
        built["actions"] = list(actions)
    if refresh is not None:
        built["refresh"] = refresh
    return built


def card_summary(built: Json) -> str:
    """The plain text to send as `Activity.summary` with a message carrying `built`, which Teams
    shows in the chat list and in notifications instead of "Sent a card": the card's
    `fallbackText` (what the card is, with no typed text), cut on a word to a preview's length.
    """
    said = " ".join(str(built.get("fallbackText") or "").split())
    if len(said) <= MAX_SUMMARY:
        return said
    return said[: MAX_SUMMARY - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def and_list(items: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def sub_card(body: Sequence[Json], actions: Sequence[Json]) -> Json:
    """The card inside an `Action.ShowCard` (no version: it belongs to its parent)."""
    return {"type": "AdaptiveCard", "body": list(body), "actions": list(actions)}


def sentence(value: str) -> str:
    """Typed text as a sentence: ends with a full stop unless it already ends a sentence."""
    value = value.strip()
    return value if not value or value[-1] in ".!?" else f"{value}."


def speak_text(text: str) -> str:
    """`speak` may be SSML: escape what people typed so it stays plain speech."""
    return escape(" ".join(text.split()), quote=False)


# -- elements ---------------------------------------------------------------------------------------


def heading(text: str, *, size: str = "medium") -> Json:
    return {
        "type": "TextBlock",
        "text": text,
        "style": "heading",
        "weight": "bolder",
        "size": size,
        "wrap": True,
    }


def text(value: str, **extra: Any) -> Json:
    return {"type": "TextBlock", "text": value, "wrap": True, **extra}


def run(value: str, *, bold: bool = False, **extra: Any) -> Json:
    inline: Json = {"type": "TextRun", "text": value, **extra}
    if bold:
        inline["weight"] = "bolder"
    return inline


def rich(*inlines: Json, **extra: Any) -> Json:
    return {"type": "RichTextBlock", "inlines": list(inlines), **extra}


def labelled(label: str, value: str) -> Json:
    """'Label: value', where the value is what a person typed (never markdown)."""
    return rich(run(f"{label}: ", bold=True), run(value or "—"))


def facts(pairs: Iterable[tuple[str, str]]) -> Json:
    """A FactSet of product-written values (stage names, deadlines): never typed text."""
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def container(items: Sequence[Json], *, style: str | None = None, **extra: Any) -> Json:
    built: Json = {"type": "Container", "items": list(items), **extra}
    if style is not None:
        built["style"] = style
    return built


def action_set(actions: Sequence[Json]) -> Json:
    return {"type": "ActionSet", "actions": list(actions)}


# -- actions ----------------------------------------------------------------------------------------


def case_data(case_id: str, version: int, verb: str, **ids: str) -> Json:
    """The whole of what a case action sends back: ids, the version the person saw, the verb."""
    return {"case_id": case_id, "version": version, "verb": verb, **ids}


def execute(title: str, verb: str, data: Mapping[str, Any], *, style: str | None = None) -> Json:
    payload = {**data, "verb": verb}
    action: Json = {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": payload,
        "fallback": {"type": "Action.Submit", "title": title, "data": dict(payload)},
    }
    if style is not None:
        action["style"] = style
        action["fallback"]["style"] = style
    return action


def submit(title: str, data: Mapping[str, Any]) -> Json:
    return {"type": "Action.Submit", "title": title, "data": dict(data)}


def show_card(title: str, body: Sequence[Json], actions: Sequence[Json]) -> Json:
    return {"type": "Action.ShowCard", "title": title, "card": sub_card(body, actions)}


def refresh(case_id: str, version: int, user_ids: Sequence[str]) -> Json:
    """Refresh for each listed user on sight, so each person gets their own view of the card."""
    users = list(dict.fromkeys(u for u in user_ids if u))[:MAX_REFRESH_USERS]
    built: Json = {"action": execute("Refresh", "refresh", case_data(case_id, version, "refresh"))}
    if users:
        built["userIds"] = users
    return built


# -- inputs (each labelled, with an error message; required where the policy requires) -------------


def _input(kind: str, input_id: str, label: str, required: bool, error: str, **extra: Any) -> Json:
    built: Json = {
        "type": kind,
        "id": input_id,
        "label": label,
        "isRequired": required,
        "errorMessage": error,
    }
    built.update({k: v for k, v in extra.items() if v is not None})
    return built


def text_input(
    input_id: str,
    label: str,
    *,
    required: bool = False,
    multiline: bool = False,
    placeholder: str | None = None,
    max_length: int = MAX_TEXT,
) -> Json:
    need = f"{label} is required. " if required else ""
    return _input(
        "Input.Text",
        input_id,
        label,
        required,
        f"{need}At most {max_length} characters.",
        isMultiline=multiline or None,
        placeholder=placeholder,
        maxLength=max_length,
    )


def date_input(
    input_id: str,
    label: str,
    *,
    required: bool = True,
    value: str | None = None,
    min_date: str | None = None,
    max_date: str | None = None,
) -> Json:
    bounds = ""
    if min_date:
        bounds += f" from {min_date}"
    if max_date:
        bounds += f" up to {max_date}"
    return _input(
        "Input.Date",
        input_id,
        label,
        required,
        f"Give a date{bounds}.",
        value=value,
        min=min_date,
        max=max_date,
    )


def time_input(
    input_id: str, label: str, *, required: bool = True, value: str | None = None
) -> Json:
    return _input(
        "Input.Time",
        input_id,
        label,
        required,
        "Give a time (HH:MM, local time).",
        value=value,
    )


def choice_input(
    input_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    *,
    required: bool = True,
    value: str | None = None,
    expanded: bool = False,
    multi: bool = False,
    error: str | None = None,
) -> Json:
    return _input(
        "Input.ChoiceSet",
        input_id,
        label,
        required,
        error or f"Choose: {label.lower()}.",
        choices=[{"title": title, "value": val} for val, title in choices],
        style="expanded" if expanded else "compact",
        isMultiSelect=multi or None,
        value=value,
    )


def toggle_input(input_id: str, label: str, title: str) -> Json:
    return _input(
        "Input.Toggle",
        input_id,
        label,
        False,
        "Tick the box or leave it clear.",
        title=title,
        valueOn="true",
        valueOff="false",
        value="false",
    )
