"""What people ask the core to do. Each command names who asks (`actor_id`).

Commands that act on an existing case may carry `expected_version`, the case version the person
saw (a card carries it): if the case has moved on since, the command is refused as stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

DiscussionOutcome = Literal["resolved", "not_resolved", "continuing"]
AgencyResponse = Literal["accepted", "partly_accepted", "not_accepted"]
# Each response as the cards and the board's report name it, in the order they list them.
RESPONSE_LABELS: dict[str, str] = {
    "accepted": "Accepted",
    "partly_accepted": "Partly accepted",
    "not_accepted": "Not accepted",
}


@dataclass(frozen=True)
class OtherParty:
    """The other professional. Someone not reachable in Teams has no `person_id`."""

    agency_id: str
    person_id: str | None = None
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class CaseConferenceDetails:
    """A disagreement that arose at a planning meeting or case conference (HW-5)."""

    meeting: str
    meeting_date: date
    dissent_minuted: bool
    raised_with_chair: bool = False


@dataclass(frozen=True)
class RaiseDisagreement:
    actor_id: str
    board_id: str
    other_party: OtherParty
    adult_reference: str
    category: str
    disagreement_date: date
    immediate_risk: bool = False
    issue: str = ""
    risk_to_adult: str = ""
    nature_of_disagreement: str = ""
    aim: str = ""
    evidence: str = ""
    adult_initials: str | None = None
    child_concern: bool = False
    resource_implications: bool = False
    track: str | None = None
    start_stage: str | None = None
    start_reason: str | None = None
    case_conference: CaseConferenceDetails | None = None


@dataclass(frozen=True)
class CaseCommand:
    actor_id: str
    case_id: str


@dataclass(frozen=True, kw_only=True)
class RecordDiscussion(CaseCommand):
    held_at: datetime
    participants: tuple[str, ...]
    summary: str
    outcome: DiscussionOutcome
    method: str = "meeting"
    points_of_difference: str = ""
    agreed_outcome: str = ""
    outstanding_issues: str = ""
    basis_of_decision: str = ""
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class ApproveRecord(CaseCommand):
    record_id: str
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class ConfirmOutcome(CaseCommand):
    """The written confirmation of an agreed outcome (the receiving side resolves the case)."""

    outcome: str
    outstanding_issues: str = ""
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class ApproveOutcome(CaseCommand):
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class Escalate(CaseCommand):
    reason: str
    aim: str = ""
    evidence: str = ""
    evidence_source: str = ""
    policy_issue: bool = False
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class SetProtectiveDeadline(CaseCommand):
    clock_id: str
    due: datetime
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class AskSafeguardingLead(CaseCommand):
    question: str
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class RecordMilestone(CaseCommand):
    """A milestone the policy asks for ("an action plan agreed"): meets the clock that waits
    for it (`clock_id`, a clock of the current stage that runs until its milestone)."""

    clock_id: str
    note: str = ""
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class RecordRecommendations(CaseCommand):
    recommendations: tuple[str, ...]
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class RecordAgencyResponse(CaseCommand):
    agency_id: str
    response: AgencyResponse
    detail: str = ""
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class ConvenePanel(CaseCommand):
    agency_ids: tuple[str, ...]
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class RecordRepresentation(CaseCommand):
    agency_id: str
    summary: str
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class RecordPanelDecision(CaseCommand):
    decision: str
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class CloseCase(CaseCommand):
    summary: str
    learning_points: tuple[str, ...] = ()
    policy_gaps: tuple[str, ...] = ()
    debrief_offered: bool = False
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class RecordDeliveryFailure(CaseCommand):
    """The bot could not reach someone it had to tell (they removed the app, for instance)."""

    recipient_id: str
    kind: str
    error: str


Command = (
    RaiseDisagreement
    | RecordDiscussion
    | ApproveRecord
    | ConfirmOutcome
    | ApproveOutcome
    | Escalate
    | SetProtectiveDeadline
    | AskSafeguardingLead
    | RecordMilestone
    | RecordRecommendations
    | RecordAgencyResponse
    | ConvenePanel
    | RecordRepresentation
    | RecordPanelDecision
    | CloseCase
    | RecordDeliveryFailure
)
