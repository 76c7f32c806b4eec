"""The shape of an inbound activity, checked before botbuilder or the bot reads it.

botbuilder's deserializer fails (a 500) on a field of the wrong JSON type, or quietly turns it into
Python's text for it (`"text": ["a"]` becomes "['a']"); the bot then fails mid-turn. So every field
the deserializer or the bot reads is checked here against its JSON type, walking botbuilder's own
models (`_attribute_map`), with stricter rules for the fields the bot relies on.

A refusal names the field by its path (`from`, `entities[0].type`, `channelData.tenant`) and
never repeats what was sent: the path is built from the models' names, not from the body.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from azure.core.exceptions import DeserializationError
from botbuilder.core.serializer_helper import DEPENDICIES_DICT
from botbuilder.schema import Activity
from msrest.serialization import Deserializer

from escalation.json_text import NotQuick, read_json_quickly

# Ids go into reply URLs, an HTTP header (x-ms-conversation-id) and storage keys: visible ASCII,
# no spaces. Teams' are a few hundred characters at most.
MAX_ID: Final = 1024
ID: Final = re.compile(rf"[!-~]{{1,{MAX_ID}}}")
MAX_URL: Final = 2048
URL: Final = re.compile(rf"[!-~]{{1,{MAX_URL}}}")
# Real activities nest a dozen levels at most (a card's inputs inside an invoke's value); the
# limit keeps every later recursive walk (msrest, json.dumps, jsonpickle) far from Python's own.
MAX_DEPTH: Final = 64

# The invokes whose value botbuilder's Teams handler deserializes into a model before the bot
# sees it (botbuilder/core/teams/teams_activity_handler.py, on_invoke_activity).
INVOKE_VALUES: Final[Mapping[str, str]] = {
    "fileConsent/invoke": "FileConsentCardResponse",
    "actionableMessage/executeAction": "O365ConnectorCardActionQuery",
    "composeExtension/queryLink": "AppBasedLinkQuery",
    "composeExtension/anonymousQueryLink": "AppBasedLinkQuery",
    "composeExtension/query": "MessagingExtensionQuery",
    "composeExtension/submitAction": "MessagingExtensionAction",
    "composeExtension/fetchTask": "MessagingExtensionAction",
    "composeExtension/querySettingUrl": "MessagingExtensionQuery",
    "task/fetch": "TaskModuleRequest",
    "task/submit": "TaskModuleRequest",
    "tab/fetch": "TabRequest",
    "tab/submit": "TabSubmit",
}

_PROBLEMS: Final[Mapping[str, str]] = {
    "str": "must be a string",
    "bool": "must be true or false",
    "int": "must be a whole number",
    "iso-8601": "must be an ISO 8601 date and time, as a string",
}


@functools.cache
def _activity_models() -> Mapping[str, Any]:
    """The activity's own models (botbuilder.schema), as its deserializer resolves them."""
    models: Mapping[str, Any] = Activity._infer_class_models()
    return models


def _teams_models() -> Mapping[str, Any]:
    """botbuilder.schema and Teams' models, as its helper resolves channelData and values."""
    models: Mapping[str, Any] = DEPENDICIES_DICT
    return models


class ShapeError(ValueError):
    """An activity that cannot be read; `field` is the path of the first field at fault."""

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        super().__init__(detail)


def _wrong(path: str, predicate: str) -> ShapeError:
    """A field of the wrong type: `entities[0].type must be a string`."""
    return ShapeError(path, f"{path} {predicate}")


def parse_body(raw: bytes) -> object:
    """The request body as JSON, refused if it is not JSON or nests deeper than MAX_DEPTH."""
    try:
        # orjson where it reads exactly as json does: strict JSON in UTF-8, whose text then
        # holds no lone surrogate. Anything else is read, and refused, as json reads it.
        body = read_json_quickly(raw)
    except NotQuick:
        pass
    else:
        _check_tree(body, text_checked=True)
        return body
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:  # the C parser gives up near Python's recursion limit
        raise ShapeError("", "the body nests too deeply") from None
    except ValueError:  # not UTF-8, not JSON, NaN or Infinity, an integer too long to read
        raise ShapeError("", "the body is not valid JSON") from None
    _check_tree(body)
    return body


def _no_constant(_: str) -> object:
    raise ValueError("NaN and Infinity are not JSON")


def _check_tree(value: object, *, text_checked: bool = False) -> None:
    """Refuse arrays and objects nested deeper than MAX_DEPTH (iterative, so it cannot recurse),
    and text with a lone surrogate (JSON's "\\ud800"): valid JSON, but no UTF-8 can hold it, so
    storage, logs and replies would fail on it part-way through a turn. `text_checked`: the
    parser refused any such text already."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if text_checked:
                continue
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise ShapeError("", "the body holds text that is not valid Unicode") from None
            continue
        if isinstance(node, dict):
            children: list[object] = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > MAX_DEPTH:
            raise ShapeError("", "the body nests too deeply")
        stack.extend((child, depth + 1) for child in children)


def check_activity(body: object) -> None:
    """Raise ShapeError for the first field of `body` that the bot or botbuilder could not read."""
    if not isinstance(body, dict):
        raise ShapeError("", "the body must be a JSON object (a Bot Framework activity)")
    if not _is_text(body.get("type")):
        raise ShapeError("type", "the activity has no type")
    conversation = body.get("conversation")
    if not isinstance(conversation, dict) or not _is_text(conversation.get("id")):
        raise ShapeError("conversation.id", "the activity has no conversation id")
    # Without a serviceUrl botbuilder would send the reply to the public Bot Framework; without a
    # channelId it cannot key the conversation's state.
    for required in ("serviceUrl", "channelId"):
        if not _is_text(body.get(required)):
            raise ShapeError(required, f"the activity has no {required}")
    # Replies come from the recipient and go to the sender: botbuilder needs both.
    for account in ("from", "recipient"):
        if not isinstance(body.get(account), dict) or not _is_text(body[account].get("id")):
            raise _wrong(account, "must be an object with a non-empty id")
    if not URL.fullmatch(body["serviceUrl"]):
        raise _wrong("serviceUrl", f"must be a URL: up to {MAX_URL} visible ASCII characters")
    for path, value in (
        ("id", body.get("id")),
        ("replyToId", body.get("replyToId")),
        ("channelId", body["channelId"]),
        ("conversation.id", conversation["id"]),
        ("from.id", body["from"]["id"]),
        ("recipient.id", body["recipient"]["id"]),
    ):
        if isinstance(value, str) and not ID.fullmatch(value):
            raise _wrong(path, f"must be an id: up to {MAX_ID} visible ASCII characters")
    _check_model(body, "Activity", "", _activity_models())
    # Teams sends the tenant as conversation.tenantId (botbuilder's model spells it tenantID).
    if conversation.get("tenantId") is not None and not isinstance(conversation["tenantId"], str):
        raise _wrong("conversation.tenantId", _PROBLEMS["str"])
    channel_data = body.get("channelData")
    if channel_data is not None:
        if not isinstance(channel_data, dict):
            raise _wrong("channelData", "must be an object")
        _check_model(channel_data, "TeamsChannelData", "channelData", _teams_models())
    _check_entities(body.get("entities"))
    _check_tenant_fence(conversation, channel_data)
    if body["type"] == "invoke":
        _check_invoke_value(body)


def _is_text(value: object) -> bool:
    """A string with more than blanks in it."""
    return isinstance(value, str) and bool(value.strip())


def _check_entities(entities: object) -> None:
    """Each entity has a type; a mention names who is mentioned (botbuilder reads both)."""
    if not isinstance(entities, list):
        return  # absent; any other type was refused by the model walk
    for index, entity in enumerate(entities):
        path = f"entities[{index}]"
        if not _is_text(entity.get("type")):
            raise _wrong(f"{path}.type", "must be a non-empty string")
        if entity["type"].lower() != "mention":
            continue
        mentioned = entity.get("mentioned")
        if not isinstance(mentioned, dict) or not _is_text(mentioned.get("id")):
            raise _wrong(f"{path}.mentioned", "must be an object with a non-empty id")
        if entity.get("text") is not None and not isinstance(entity["text"], str):
            raise _wrong(f"{path}.text", _PROBLEMS["str"])
        if mentioned.get("name") is not None and not isinstance(mentioned["name"], str):
            raise _wrong(f"{path}.mentioned.name", _PROBLEMS["str"])


def _check_tenant_fence(conversation: Mapping[str, Any], channel_data: object) -> None:
    """One activity, one tenant: the conversation's and the channel data's must agree."""
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    other = tenant.get("id") if isinstance(tenant, dict) else None
    for key in ("tenantId", "tenantID"):  # Teams' spelling, and botbuilder's
        said = conversation.get(key)
        if isinstance(said, str) and isinstance(other, str) and said != other:
            raise _wrong(
                f"conversation.{key}", "names a different tenant from channelData.tenant.id"
            )


def _check_invoke_value(body: Mapping[str, Any]) -> None:
    model = INVOKE_VALUES.get(body.get("name") or "")
    value = body.get("value")
    if model is None or value is None:
        return
    if not isinstance(value, dict):
        raise _wrong("value", "must be an object")
    _check_model(value, model, "value", _teams_models())


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _check_model(node: Mapping[str, Any], name: str, path: str, models: Mapping[str, Any]) -> None:
    """Each key the model declares, with its JSON type; other keys are left alone."""
    for spec in models[name]._attribute_map.values():
        key: str = spec["key"]
        value = node.get(key)
        if value is not None:
            _check_value(value, spec["type"], _join(path, key), models)


def _check_value(value: object, kind: str, path: str, models: Mapping[str, Any]) -> None:
    if kind.startswith("[") and kind.endswith("]"):
        if not isinstance(value, list):
            raise _wrong(path, "must be an array")
        for index, item in enumerate(value):
            if item is None:  # botbuilder would hand the bot a None in the list
                raise _wrong(f"{path}[{index}]", "must not be null")
            _check_value(item, kind[1:-1], f"{path}[{index}]", models)
    elif kind.startswith("{") and kind.endswith("}"):
        if not isinstance(value, dict):
            raise _wrong(path, "must be an object")
        for item in value.values():  # the keys are the sender's: the path does not repeat them
            if item is None:
                raise _wrong(f"{path}.*", "must not be null")
            _check_value(item, kind[1:-1], f"{path}.*", models)
    elif kind == "object":
        return  # any JSON, depth-limited by parse_body
    elif kind in models:
        if not isinstance(value, dict):
            raise _wrong(path, "must be an object")
        _check_model(value, kind, path, models)
    elif not _is_basic(value, kind):
        raise _wrong(path, _PROBLEMS.get(kind, "has the wrong type"))


def _is_basic(value: object, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "iso-8601":
        if not isinstance(value, str):
            return False
        try:  # the parser botbuilder's deserializer uses, so both agree
            Deserializer.deserialize_iso(value)  # type: ignore[no-untyped-call]
        except (DeserializationError, ValueError, OverflowError, TypeError):
            return False
        return True
    return False  # a type no model uses today: refused rather than guessed
