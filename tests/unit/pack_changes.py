"""The Thornbury pack (tests/fixtures/packs/thornbury.yaml) with one change each: how the
pack-language tests state the clause they are about."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from typing import Any

import yaml

from escalation.packs import parse_pack
from escalation.policy import PolicyPack
from testkit.people import ROOT

THORNBURY = ROOT / "tests" / "fixtures" / "packs" / "thornbury.yaml"


@cache
def _base() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(THORNBURY.read_text(encoding="utf-8"))
    return loaded


def base() -> dict[str, Any]:
    """The pack as parsed YAML: a copy of its own to change."""
    return copy.deepcopy(_base())


def pack_with(change: Callable[[dict[str, Any]], None]) -> PolicyPack:
    data = base()
    change(data)
    return parse_pack(yaml.safe_dump(data, sort_keys=False), source="changed.yaml")


def stage_of(data: dict[str, Any], stage_id: str) -> dict[str, Any]:
    return next(s for s in data["stages"] if s["id"] == stage_id)


def agree_then_meet(data: dict[str, Any]) -> None:
    """'If they cannot agree within 2 WD, a meeting within a further 5 WD.'"""
    stage_of(data, "1")["clocks"] = [
        {
            "id": "agree",
            "label": "Agree a way forward",
            "runs_from": "stage_entered",
            "until": "stage_resolved",
            "protective": True,
            "timescales": [{"working_days": 2, "clauses": ["TB-2.1"]}],
        },
        {
            "id": "meeting",
            "label": "Hold a professionals' meeting",
            "runs_from": "clock_missed",
            "after": "agree",
            "until": "discussion_recorded",
            "owner": [{"who": "receiver"}],
            "timescales": [
                {"working_days": 5, "clauses": ["TB-2.1"], "says": "within a further 5 WD"}
            ],
        },
    ]
