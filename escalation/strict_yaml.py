"""Reading the project's YAML files (policy packs, directories) strictly.

Plain YAML keeps the last of two equal keys without a word, so a pack with `working_days` given
twice would silently take one; here it is an error with the place it happened.
"""

from __future__ import annotations

from typing import Any

import yaml


class YamlError(ValueError):
    """Not valid YAML. `where` is "line L, column C" when known; `problem` says what is wrong."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader (it builds no objects) that refuses a key given twice."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[object, object]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_strict(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no objects built
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlError(where, f"not valid YAML: {problem}") from None
