"""What the card tests hold every card to: the Adaptive Card 1.5 schema Teams renders, and the
checks of cards/checks.py; and a case's view for one person."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

import cards
from cards.checks import actions, problems
from cards.elements import Json
from cards.views import CaseView, case_view
from escalation.case import Case
from escalation.directory import Directory
from escalation.policy import PolicyPack

TEAMS_MAX_ACTIONS = 6  # Teams shows at most six buttons in an action bar
SCHEMA_FILE = Path(cards.__file__).parent / "schema" / "adaptive-card-1.5.json"


@cache
def schema() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return found


@cache
def validator() -> Draft6Validator:
    return Draft6Validator(schema())


def schema_errors(card: Json) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator().iter_errors(card)
    ]


def assert_valid(card: Json) -> None:
    assert schema_errors(card) == []
    # The schema's FallbackOption lacks `"type": "string"`, so it accepts any object as a
    # fallback: validate each action's fallback as an action of its own.
    for action in actions(card):
        if isinstance(action.get("fallback"), dict):
            alone = {"type": "AdaptiveCard", "version": "1.5", "actions": [action["fallback"]]}
            assert schema_errors(alone) == []
    assert problems(card) == []
    assert len(card.get("actions", [])) <= TEAMS_MAX_ACTIONS


def view_of(
    case: Case, pack: PolicyPack, directory: Directory, viewer: str | None, now: datetime
) -> CaseView:
    return case_view(case, pack, directory, now=now, viewer_id=viewer)
