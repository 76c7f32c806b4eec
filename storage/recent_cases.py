"""The cases this instance read or saved last, with their histories and folds, so that reading
one again asks storage only for the events after the last one it holds, and folds only those.

A case card's action reads its case, and the outbox reads it again to render the cards the action
sends: each read had brought back every event of the case, decoded every one and folded them all,
and a case's history only grows. Events are never changed once written (each carries the hash
of the one before), so the history held here is the stored history's start. Whether it still is
the start, and what follows, is read each time: another instance's writes are always seen, and a
case deleted meanwhile is read as gone (`TableCaseRepository.load`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from escalation.ports import StoredCase

# Enough for the cases in hand on a busy board's instance; least recently used go first.
DEFAULT_KEPT: Final = 256


class RecentCases:
    def __init__(self, kept: int = DEFAULT_KEPT) -> None:
        self._kept = kept
        self._cases: OrderedDict[str, StoredCase] = OrderedDict()

    def get(self, case_id: str) -> StoredCase | None:
        found = self._cases.get(case_id)
        if found is not None:
            self._cases.move_to_end(case_id)
        return found

    def keep(self, case_id: str, stored: StoredCase) -> None:
        self._cases[case_id] = stored
        self._cases.move_to_end(case_id)
        while len(self._cases) > self._kept:
            self._cases.popitem(last=False)

    def forget(self, case_id: str) -> None:
        self._cases.pop(case_id, None)

    def __len__(self) -> int:
        return len(self._cases)
