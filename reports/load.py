"""The cases of a board, from storage, for a report."""

from __future__ import annotations

from escalation.case import Case
from storage.stores import Storage


async def board_cases(storage: Storage, board_id: str) -> list[Case]:
    cases: list[Case] = []
    for case_id in await storage.cases.case_ids(board_id):
        stored = await storage.cases.load(case_id)
        if stored is not None and stored.events:  # an index hint may point at nothing
            cases.append(stored.case)
    return cases
