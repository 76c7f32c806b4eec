"""Which of a board's cases a report counts beyond its period: one agency's, one category's, or
those that reached one stage. The board tab and `escalation report` filter alike, then run the
same aggregation (reports.figures.board_report) on what is left.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from escalation.case import Case
from escalation.policy import PolicyPack
from reports.figures import BoardReport

__all__ = ["CaseFilter", "FilterError"]


class FilterError(ValueError):
    """A filter naming an agency, category or stage the board's pack does not have."""


@dataclass(frozen=True)
class CaseFilter:
    agency: str = ""  # an agency id: a party on either side
    category: str = ""  # a category id
    stage: str = ""  # a stage id the case reached (entered at least once)

    @property
    def applies(self) -> bool:
        return bool(self.agency or self.category or self.stage)

    def check(self, pack: PolicyPack) -> CaseFilter:
        """The filter, once its ids are known to the pack (else FilterError)."""
        if self.agency and pack.agency(self.agency) is None:
            raise FilterError(f"{pack.board.short_name} has no agency {self.agency!r}")
        if self.category and pack.category(self.category) is None:
            raise FilterError(f"{pack.board.short_name} has no category {self.category!r}")
        if self.stage and self.stage not in {s.id for s in pack.stages}:
            raise FilterError(f"{pack.board.short_name} has no stage {self.stage!r}")
        return self

    def keeps(self, case: Case) -> bool:
        if self.agency and self.agency not in {p.agency_id for p in case.parties}:
            return False
        if self.category and case.category != self.category:
            return False
        return not (self.stage and self.stage not in {v.stage for v in case.stages})

    def select(self, cases: Iterable[Case]) -> list[Case]:
        return [c for c in cases if self.keeps(c)]

    def describe(self, pack: PolicyPack) -> str:
        """The filter in words, as the report's note says it ("" for none)."""
        parts = []
        if self.agency:
            agency = pack.agency(self.agency)
            parts.append(f"with {agency.name if agency else self.agency} as a party")
        if self.category:
            category = pack.category(self.category)
            parts.append(f"in the category {category.label if category else self.category}")
        if self.stage:
            parts.append(f"that reached stage {self.stage}")
        return f"Only the cases {', '.join(parts)}." if parts else ""

    def note(self, report: BoardReport, pack: PolicyPack) -> BoardReport:
        """The report with the filter said in its notes, so every format shows it."""
        words = self.describe(pack)
        return dataclasses.replace(report, notes=(*report.notes, words)) if words else report
