"""Bot state to and from JSON in jsonpickle's own format, without jsonpickle's cost.

botbuilder keeps a dialog's stack as objects: ``DialogState``, ``DialogInstance``,
``PromptOptions``, the schema's ``Activity`` and its enums. jsonpickle flattens and restores any
object by introspection, which costs about 0.3 ms each way for the state of a raise dialog: a
good part of a dialog turn. This codec does the same for plain botbuilder classes and enums,
writing exactly what jsonpickle writes without back-references (``Pickler(make_refs=False)``),
which jsonpickle reads as well. So a row written before this codec existed is read, and a row it
writes is read by jsonpickle alone, should a release be rolled back.

Anything else it hands to jsonpickle, whole: a class outside botbuilder (or with pickling hooks
of its own), a dict whose keys are not strings, an object that appears twice in the state (which
jsonpickle restores as one object, by reference), a back-reference in a stored row.
"""

from __future__ import annotations

import importlib
from enum import Enum
from functools import cache, lru_cache
from typing import Any, Final

from jsonpickle.pickler import Pickler
from jsonpickle.unpickler import Unpickler

# Only these classes are written and built here; jsonpickle takes the rest.
_MODULES: Final = "botbuilder."
_OBJECT: Final = "py/object"
_REDUCE: Final = "py/reduce"
_TYPE: Final = "py/type"
_TUPLE: Final = "py/tuple"
_TAG: Final = "py/"
# Deeper than any dialog stack nests: past it, jsonpickle (which has its own limit) decides.
_MAX_DEPTH: Final = 64


class _NotPlain(Exception):
    """The state holds something this codec leaves to jsonpickle."""


def _importable_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@cache
def _kind(cls: type) -> str | None:
    """ "enum", "object" or None (jsonpickle's): an object is plain when jsonpickle would write
    its ``__dict__`` and nothing else, and build it with ``__new__`` and ``setattr``."""
    if not cls.__module__.startswith(_MODULES) or "." in cls.__qualname__:
        return None
    if issubclass(cls, Enum):
        return "enum"
    hooks = ("__getnewargs__", "__getnewargs_ex__", "__getinitargs__", "__setstate__")
    plain = (
        all(base is object or not base.__module__.startswith("builtins") for base in cls.__mro__)
        and cls.__reduce_ex__ is object.__reduce_ex__
        and cls.__reduce__ is object.__reduce__
        and getattr(cls, "__getstate__", object.__getstate__) is object.__getstate__
        and not any(hasattr(cls, hook) for hook in hooks)
        and not any("__slots__" in vars(base) for base in cls.__mro__)
    )
    return "object" if plain else None


@lru_cache(maxsize=256)
def _class(name: object) -> Any:  # a class, built as jsonpickle builds it
    if type(name) is not str:
        raise _NotPlain("name")
    module, _, qualname = name.rpartition(".")
    if not module.startswith(_MODULES):
        raise _NotPlain(name)
    try:
        found = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError) as exc:
        raise _NotPlain(name) from exc
    if not isinstance(found, type) or _importable_name(found) != name:
        raise _NotPlain(name)
    return found


def flatten(item: object) -> Any:
    """What ``jsonpickle.Pickler().flatten(item)`` gives, as JSON-ready values."""
    try:
        return _Flattener().walk(item, 0)
    except _NotPlain:
        return Pickler().flatten(item)


def restore(flat: Any) -> Any:
    """What ``jsonpickle.Unpickler().restore(flat)`` gives."""
    try:
        return _restore(flat, 0)
    except _NotPlain:
        return Unpickler().restore(flat)


class _Flattener:
    def __init__(self) -> None:
        # Every container and object met: one met twice is shared, and only jsonpickle's
        # references keep it so.
        self._seen: set[int] = set()

    def _once(self, obj: object) -> None:
        if id(obj) in self._seen:
            raise _NotPlain("shared")
        self._seen.add(id(obj))

    def walk(self, obj: object, depth: int) -> Any:
        kind: type = type(obj)
        if obj is None or kind is str or kind is int or kind is float or kind is bool:
            return obj
        if depth > _MAX_DEPTH:
            raise _NotPlain("deep")
        depth += 1
        if kind is dict:
            self._once(obj)
            return self._fields(obj, {}, depth)  # type: ignore[arg-type]
        if kind is list:
            self._once(obj)
            return [self.walk(value, depth) for value in obj]  # type: ignore[attr-defined]
        if kind is tuple:  # immutable: one met twice is no different from two alike
            return {_TUPLE: [self.walk(value, depth) for value in obj]}  # type: ignore[attr-defined]
        found = _kind(kind)
        if found == "enum":
            value = self.walk(obj._value_, depth)  # type: ignore[attr-defined]
            return {_REDUCE: [{_TYPE: _importable_name(kind)}, {_TUPLE: [value]}]}
        if found == "object":
            self._once(obj)
            out = {_OBJECT: _importable_name(kind)}
            return self._fields(vars(obj), out, depth)
        raise _NotPlain(kind.__name__)

    def _fields(self, fields: dict[Any, Any], out: dict[str, Any], depth: int) -> dict[str, Any]:
        for key, value in fields.items():
            if type(key) is not str or key.startswith((_TAG, "__")):
                raise _NotPlain("key")
            out[key] = self.walk(value, depth)
        return out


def _restore(flat: Any, depth: int) -> Any:
    kind = type(flat)
    if kind is not list and kind is not dict:
        return flat
    if depth > _MAX_DEPTH:
        raise _NotPlain("deep")
    depth += 1
    if kind is list:
        return [_restore(value, depth) for value in flat]
    if _OBJECT in flat:
        cls = _class(flat[_OBJECT])
        if _kind(cls) != "object":
            raise _NotPlain(flat[_OBJECT])
        instance = cls.__new__(cls)
        for key, value in flat.items():
            if key.startswith(_TAG):
                if key == _OBJECT:
                    continue
                raise _NotPlain(key)  # state, newargs, ...: jsonpickle's to build
            if key.startswith("__"):
                raise _NotPlain(key)
            setattr(instance, key, _restore(value, depth))
        return instance
    if _REDUCE in flat:
        return _enum(flat)
    if _TUPLE in flat and len(flat) == 1 and type(flat[_TUPLE]) is list:
        return tuple(_restore(value, depth) for value in flat[_TUPLE])
    out = {}
    for key, value in flat.items():
        if key.startswith(_TAG):
            raise _NotPlain(key)  # a reference, a set, bytes, ...
        out[key] = _restore(value, depth)
    return out


def _enum(flat: dict[str, Any]) -> Enum:
    reduce = flat[_REDUCE]
    if len(flat) != 1 or type(reduce) is not list or len(reduce) != 2:
        raise _NotPlain(_REDUCE)
    of, args = reduce
    if type(of) is not dict or list(of) != [_TYPE] or type(args) is not dict:
        raise _NotPlain(_REDUCE)
    if list(args) != [_TUPLE] or type(args[_TUPLE]) is not list or len(args[_TUPLE]) != 1:
        raise _NotPlain(_REDUCE)
    cls = _class(of[_TYPE])
    value = args[_TUPLE][0]
    if _kind(cls) != "enum" or type(value) not in (str, int):
        raise _NotPlain(of[_TYPE])
    member: Enum = cls(value)
    return member
