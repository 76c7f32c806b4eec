"""A bounded memo of values made from immutable objects, found again by those objects' identity.

The objects are kept with the value, so their ids cannot be reused while the value is kept. A
lock keeps it whole when reports ask from worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityMemo(Generic[V]):
    def __init__(self, make: Callable[..., V], size: int) -> None:
        self._make = make
        self._size = size
        self._kept: dict[tuple[int, ...], tuple[tuple[object, ...], V]] = {}
        self._lock = threading.Lock()

    def get(self, *objects: object) -> V:
        """`make(*objects)`, made once while these very objects are asked about again."""
        key = tuple(map(id, objects))
        # A hit needs no lock: one dict read is whole under the GIL, and what it finds keeps
        # its objects alive. Making and evicting are done under it.
        found = self._kept.get(key)
        if found is not None:
            return found[1]
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                return found[1]
            value = self._make(*objects)
            if len(self._kept) >= self._size:
                del self._kept[next(iter(self._kept))]  # the oldest
            self._kept[key] = (objects, value)
            return value
