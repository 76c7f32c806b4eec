"""botbuilder's dialog memory (`DialogContext.state`), made only when something reads it.

Every `DialogContext` botbuilder makes (the bot's, each component dialog's inner one, each
waterfall step's) makes a `DialogStateManager` at once: a dozen memory scopes and path resolvers,
built again each turn, and a manager that holds its context while the context holds it. That
cycle kept the whole turn (the context, the activity, the dialog state) alive until one of the
garbage collector's full collections walked it: about 45 objects a message turn, and full
collections that grew with them, each a pause every turn in flight waited through.

This bot's dialogs keep what they need in their own step state and never read dialog memory, so
the manager is made the first time anything does, for as long as the context lives: a context
that nobody asks about is freed by reference counting when its turn ends.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import botbuilder.dialogs.dialog_context as dialog_context_module
from botbuilder.dialogs import DialogContext
from botbuilder.dialogs.memory import DialogStateManager


class DeferredStateManager:
    """Stands in for a context's `DialogStateManager` until the first use, then is it."""

    __slots__ = ("__weakref__", "_context", "_manager")

    def __init__(self, dialog_context: DialogContext) -> None:
        self._context = weakref.ref(dialog_context)  # weakly: no cycle through the context
        self._manager: DialogStateManager | None = None

    @property
    def manager(self) -> DialogStateManager:
        """The real manager, made now if it has not been."""
        if self._manager is None:
            context = self._context()
            if context is None:
                raise ReferenceError("dialog memory read after its turn's context was freed")
            # Made as botbuilder makes it, holding its context: the cycle exists only for a
            # context whose memory is used.
            self._manager = DialogStateManager(context)
        return self._manager

    def __getattr__(self, name: str) -> Any:
        # Only what the manager has: never this object's own (a copy made without __init__
        # has no slots set, and would ask for them here, again and again) nor Python's
        # protocols.
        if name in _OWN or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.manager, name)

    def __getitem__(self, key: str) -> Any:
        return self.manager[key]

    def __setitem__(self, key: str, value: object) -> None:
        self.manager[key] = value

    def __len__(self) -> int:
        return len(self.manager)

    def __contains__(self, item: object) -> bool:
        return item in self.manager

    def __iter__(self) -> Iterator[Any]:
        return iter(self.manager)


_OWN = frozenset({*DeferredStateManager.__slots__, "manager"})


def defer_dialog_memory() -> None:
    """Make every DialogContext's `state` a DeferredStateManager. botbuilder's DialogContext
    looks `DialogStateManager` up in its module each time it makes one; the name is pointed at
    the deferred one. Idempotent; the app calls it as it is made, never at import."""
    dialog_context_module.DialogStateManager = DeferredStateManager
