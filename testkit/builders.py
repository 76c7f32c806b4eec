"""Commands with sensible defaults, so each test states only what it is about."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from escalation.commands import OtherParty, RaiseDisagreement, RecordDiscussion


def redbridge_raise(**overrides: Any) -> RaiseDisagreement:
    fields: dict[str, Any] = {
        "actor_id": "amara",
        "board_id": "redbridge",
        "other_party": OtherParty(agency_id="nelft", person_id="noah"),
        "adult_reference": "ASC-104233",
        "category": "response-to-concerns",
        "disagreement_date": date(2026, 11, 30),
        "issue": "Community nursing declined a joint visit after two falls.",
        "risk_to_adult": "Further falls; lives alone; pressure sores.",
        "nature_of_disagreement": "Whether a joint visit is needed before the care review.",
        "aim": "A joint visit within a week.",
        "evidence": "GP letter of 27 November; falls log.",
    }
    fields.update(overrides)
    return RaiseDisagreement(**fields)


def harrow_raise(**overrides: Any) -> RaiseDisagreement:
    fields: dict[str, Any] = {
        "actor_id": "hana",
        "board_id": "harrow",
        "other_party": OtherParty(agency_id="cnwl", person_id="colin"),
        "adult_reference": "LBH-55120",
        "category": "thresholds",
        "disagreement_date": date(2026, 11, 30),
        "issue": "Mental health team closed the referral.",
        "risk_to_adult": "Self-neglect; hoarding; fire risk.",
        "nature_of_disagreement": "Whether the threshold for a safeguarding enquiry is met.",
        "aim": "An enquiry under section 42.",
        "evidence": "Fire service home safety visit report.",
    }
    fields.update(overrides)
    return RaiseDisagreement(**fields)


def thornbury_raise(**overrides: Any) -> RaiseDisagreement:
    """A raise under tests/fixtures/packs/thornbury.yaml, the pack the pack-language tests use."""
    fields: dict[str, Any] = {
        "actor_id": "tara",
        "board_id": "thornbury",
        "other_party": OtherParty(agency_id="thornbury-health", person_id="hugo"),
        "adult_reference": "TC-1234",
        "category": "access",
        "disagreement_date": date(2026, 6, 5),
        "issue": "Home care support stopped after discharge.",
        "risk_to_adult": "Falls at home without support.",
        "aim": "A joint assessment this week.",
    }
    fields.update(overrides)
    return RaiseDisagreement(**fields)


def discussion(
    actor: str, case_id: str, held_at: datetime, outcome: str, **overrides: Any
) -> RecordDiscussion:
    fields: dict[str, Any] = {
        "actor_id": actor,
        "case_id": case_id,
        "held_at": held_at,
        "participants": ("amara", "noah"),
        "summary": "Discussed the falls and the care review.",
        "outcome": outcome,
        "points_of_difference": "Timing of the joint visit.",
        "basis_of_decision": "Risk of further falls.",
    }
    if outcome == "resolved":
        fields["agreed_outcome"] = "Joint visit on Friday."
    fields.update(overrides)
    return RecordDiscussion(**fields)
