"""Bot Framework models to and from JSON, as msrest does it, without msrest's generic walk.

botbuilder's models (`botbuilder.schema`) are msrest models: every inbound activity is read by
msrest's Deserializer, every reply written by its Serializer, and both rediscover each model's
attribute map, key extractors and type rules on every call (about 0.1 ms for an activity, more
for a reply with a card: a large share of a turn). Here each model class's map is read once,
and the same rules are applied directly:

* `to_json(model)`: what `Serializer(models).body(model, "Activity")` (the connector's request
  body) and `model.serialize()` give: attributes that are None left out, enums as their values,
  `object` values walked as msrest walks them (and anything else as `str()`), each model by its
  own class's map.
* `from_json(cls, data)`: what `cls.deserialize(data)` gives: every attribute of the map given
  (None when absent), unknown keys in `additional_properties`.
* `reference_json(activity)`: `to_json(TurnContext.get_conversation_reference(activity))`, the
  reference the bot stores to message a conversation later.

Anything outside what these models use (flattened keys, subtypes, validation, XML, dates in
`object`, bytes, a dict where a model belongs) is handed to msrest itself, so the answer is
always msrest's. tests/unit/test_wire.py holds the two to the same output.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from enum import Enum
from functools import cache
from typing import Any, TypeVar

import botbuilder.schema
import msrest
from botbuilder.schema import Activity, ActivityTypes, ConversationReference
from botframework.connector import Channels
from msrest.serialization import Model

_MSREST: Any = msrest  # untyped: its Serializer and Deserializer are the reference

M = TypeVar("M", bound=Model)

_BASIC = frozenset({"str", "int", "float", "bool"})


class _Unsupported(Exception):
    """Something msrest itself must do."""


@cache
def _models() -> dict[str, type]:
    """The classes msrest resolves type names against for botbuilder's models."""
    return {k: v for k, v in botbuilder.schema.__dict__.items() if isinstance(v, type)}


@cache
def _plan(cls: Any) -> tuple[tuple[str, str, str], ...] | None:
    """(attribute, JSON key, msrest type) for each attribute, or None when msrest must do it."""
    model: Any = cls
    if (
        not issubclass(cls, Model)
        or model._subtype_map
        or model._validation
        or model.is_xml_model()
    ):
        return None
    plan = []
    for attr, desc in model._attribute_map.items():
        key, kind = desc.get("key"), desc.get("type")
        if not isinstance(key, str) or not key or "." in key or not isinstance(kind, str):
            return None
        plan.append((attr, key, kind))
    return tuple(plan)


@cache
def _known_keys(cls: Any) -> frozenset[str]:
    return frozenset(key for _, key, _ in _plan(cls) or ())


# -- to JSON ------------------------------------------------------------------------------------


def to_json(
    model: Model, fallback: Callable[[Model], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The model as the Bot Connector is sent it (msrest's output, see the module's notes);
    `fallback` serializes what this cannot (msrest with the class's own models by default)."""
    try:
        return _model_out(model)
    except _Unsupported:
        return (fallback or _msrest_out)(model)


def reference_json(activity: Activity) -> dict[str, Any]:
    """The activity's conversation reference as JSON, as botbuilder's
    `TurnContext.get_conversation_reference` gives it, sharing the activity's accounts where
    botbuilder copies each one first: the reference is only written out (the copies took 1% of a
    raise)."""
    plain = activity.type != ActivityTypes.conversation_update and activity.channel_id not in (
        Channels.direct_line,
        Channels.webchat,
    )
    return to_json(
        ConversationReference(
            activity_id=activity.id if plain else None,
            user=activity.from_property,
            bot=activity.recipient,
            conversation=activity.conversation,
            channel_id=activity.channel_id,
            locale=activity.locale,
            service_url=activity.service_url,
        )
    )


def _msrest_out(model: Model) -> dict[str, Any]:
    found: Any = model
    serializer = _MSREST.Serializer(found._infer_class_models())
    out: dict[str, Any] = serializer._serialize(model)
    return out


def _model_out(obj: Any) -> dict[str, Any]:
    kind: Any = type(obj)
    plan = _plan(kind)
    if plan is None:
        raise _Unsupported
    out: dict[str, Any] = {}
    for attr, key, kind in plan:
        value = getattr(obj, attr)
        if value is not None:
            out[key] = _out(value, kind)
    return out


def _unicode(value: Any) -> Any:
    if type(value) is str:  # the common case, without the AttributeError below
        return value
    try:  # an enum gives its value, as in msrest's serialize_unicode
        return value.value
    except AttributeError:
        return str(value)


def _out(value: Any, kind: str) -> Any:
    if kind in _BASIC:
        if kind == "str":
            return _unicode(value)
        return {"int": int, "float": float, "bool": bool}[kind](value)
    if kind == "object":
        return _object_out(value)
    if kind[0] == "[" and kind[-1] == "]":
        if isinstance(value, str):
            raise _Unsupported
        inner = kind[1:-1]
        return [None if item is None else _out(item, inner) for item in value]
    if kind[0] == "{" and kind[-1] == "}":
        inner = kind[1:-1]
        return {
            _unicode(k): None if item is None else _out(item, inner) for k, item in value.items()
        }
    target = _models().get(kind)
    if target is None or issubclass(target, Enum) or not isinstance(value, Model):
        raise _Unsupported  # an enum type, a date, bytes, or a dict where a model belongs
    return _model_out(value)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> bool:
    """Whether `value` is JSON made of exactly dict, list, str, int, float, bool and None,
    which msrest would copy as it is. (Loops, not generators: this walks whole cards.)"""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            inner = type(item)
            if inner in _SCALARS:
                continue
            if (inner is dict or inner is list) and _plain(item):
                continue
            return False
        return True
    if kind is list:
        for item in value:
            inner = type(item)
            if inner in _SCALARS:
                continue
            if (inner is dict or inner is list) and _plain(item):
                continue
            return False
        return True
    return kind in _SCALARS


def _object_out(value: Any) -> Any:
    if _plain(value):
        return value  # nothing to convert: msrest's copy would be equal to it
    kind = type(value)
    if kind is str:
        return value
    if kind is bool or kind is int or kind is float:
        return value
    if kind in (datetime.datetime, datetime.date, datetime.time, datetime.timedelta):
        raise _Unsupported
    if isinstance(value, Model):
        return _model_out(value)
    if kind is dict:
        return {_unicode(k): None if v is None else _object_out(v) for k, v in value.items()}
    if kind is list:
        return [None if v is None else _object_out(v) for v in value]
    if kind.__module__ == "decimal":
        raise _Unsupported
    return str(value)


# -- from JSON ----------------------------------------------------------------------------------


def from_json(cls: type[M], data: Any) -> M:
    """`cls.deserialize(data)`, as msrest gives it (see the module's notes)."""
    try:
        found = _model_in(cls, data)
    except (_Unsupported, ValueError, TypeError, KeyError, AttributeError):
        model: Any = cls
        found = _MSREST.Deserializer(model._infer_class_models())(cls.__name__, data)
    assert isinstance(found, cls)
    return found


def _model_in(cls: type, data: Any) -> Any:
    plan = _plan(cls)
    if plan is None or type(data) is not dict:
        raise _Unsupported
    attrs = {attr: _in(data.get(key), kind) for attr, key, kind in plan}
    found = cls(**attrs)
    extra = data.keys() - _known_keys(cls)
    if extra:
        found.additional_properties = {key: data[key] for key in extra}
    return found


def _in(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "str":
        return value if isinstance(value, str | Enum) else str(value)
    if kind == "bool":
        if value in (True, False, 1, 0):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        raise _Unsupported
    if kind == "int" or kind == "float":
        return int(value) if kind == "int" else float(value)
    if kind == "object":
        return _object_in(value)
    if kind == "iso-8601":
        if isinstance(value, datetime.datetime):
            return value
        return _MSREST.Deserializer.deserialize_iso(value)
    if kind[0] == "[" and kind[-1] == "]":
        if not isinstance(value, list | set):
            raise _Unsupported
        return [_in(item, kind[1:-1]) for item in value]
    if kind[0] == "{" and kind[-1] == "}":
        if type(value) is not dict:
            raise _Unsupported
        return {k: _in(item, kind[1:-1]) for k, item in value.items()}
    target = _models().get(kind)
    if target is None or issubclass(target, Enum):
        raise _Unsupported
    return _model_in(target, value)


def _object_in(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or kind is int or kind is float:
        return value
    if kind is dict:
        return {k: None if v is None else _object_in(v) for k, v in value.items()}
    if kind is list:
        return [None if v is None else _object_in(v) for v in value]
    raise _Unsupported
