"""Whole cases over HTTP: the people of a Redbridge case from the raise to the Chair, the
business manager's channel, and a person's view of the case as the store holds it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bootstrap.build import open_storage
from escalation.access_log import AccessEntry
from escalation.case import Case, fold
from testkit.chat import TENANT, Chat, card_text


def person(
    pid: str,
    name: str,
    agency: str,
    *roles: str,
    manager: str | None = None,
    board: tuple[str, ...] = (),
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": pid,
        "name": name,
        "agency": agency,
        "roles": list(roles),
        "board_roles": list(board),
        "teams_user_id": f"29:{pid}",
        "aad_object_id": f"aad-{pid}",
    }
    if manager:
        record["line_manager"] = manager
    return record


PEOPLE = [
    person("amara", "Amara Osei", "redbridge-asc", "practitioner", manager="lena"),
    person("lena", "Lena Price", "redbridge-asc", "line_manager", manager="sam"),
    person("sam", "Sam Idowu", "redbridge-asc", "senior_manager"),
    person("noah", "Noah Okafor", "nelft", "practitioner", manager="nadia"),
    person("nadia", "Nadia Khan", "nelft", "line_manager"),
    person("nina", "Nina Shah", "nelft", "named_safeguarding_professional"),
    person("sgl", "Sade Green", "redbridge-asc", "safeguarding_lead"),
    person("bm", "Bea Marsh", "redbridge-asc", board=("redbridge:business_manager",)),
    person("chair", "Chris Hale", "redbridge-cvs", board=("redbridge:independent_chair",)),
]


class Walk(Chat):
    async def case(self, case_id: str) -> Case:
        assert self.storage_settings is not None
        storage = await open_storage(self.storage_settings)
        try:
            stored = await storage.cases.load(case_id)
            assert stored is not None
            return fold(stored.events)
        finally:
            await storage.close()

    async def access_log(self, case_id: str) -> list[AccessEntry]:
        assert self.storage_settings is not None
        storage = await open_storage(self.storage_settings)
        try:
            return list(await storage.access_log.entries(case_id))
        finally:
            await storage.close()

    async def act(self, who: str, verb: str, case_id: str, **fields: str) -> str:
        version = (await self.case(case_id)).version
        data: dict[str, Any] = {"case_id": case_id, "version": version, "verb": verb}
        data.update({k if k == "record_id" else f"{verb}.{k}": v for k, v in fields.items()})
        status, response = await self.invoke(who, verb, data)
        assert status == 200, response
        text = card_text(response["value"])
        assert "Nothing changed" not in text, (who, verb, text)
        return text

    async def in_channel(self, who: str, text: str) -> list[str]:
        body = self.activity(
            who,
            text=f"<at>Escalation</at> {text}",
            conversation={
                "id": "19:channel@thread.tacv2;messageid=1",
                "conversationType": "channel",
                "tenantId": TENANT,
            },
            channelData={
                "tenant": {"id": TENANT},
                "team": {"id": "team-id"},
                "channel": {"id": "channel-announcements-id"},
            },
            entities=[
                {
                    "type": "mention",
                    "mentioned": {"id": "28:bot", "name": "Escalation"},
                    "text": "<at>Escalation</at>",
                }
            ],
        )
        before = len(self.connector.sent)
        async with self.http.post(self.url + "/api/messages", json=body) as r:
            assert r.status == 201
        return [str(s.body.get("text") or "") for s in self.connector.sent[before:]]


def raise_answers(*, immediate: bool = False, reference: str = "ASC-104233") -> tuple[str, ...]:
    """What Amara types to raise a case with Noah, up to the summary; "yes" then saves it."""
    return (
        "raise",
        "NELFT NHS Foundation Trust",
        "Noah Okafor",
        reference,
        "An agency's response to safeguarding concerns or a safeguarding plan",
        "yes" if immediate else "no",
        "no",
        "Nursing declined a joint visit",
        "Falls at home; lives alone",
        "Whether a joint visit is needed",
        "A joint visit this week",
        "GP letter, 27 November",
        "today",
    )


async def raise_case(
    w: Walk,
    *,
    immediate: bool = False,
    reference: str = "ASC-104233",
    say: Callable[[str, str], Awaitable[list[str]]] | None = None,
) -> str:
    """Amara raises a case with Noah by chatting, each answer through `say` (by default the
    walk's own): a case-counting test or benchmark labels each turn there. Returns the case id."""
    say = say or w.say
    for text in raise_answers(immediate=immediate, reference=reference):
        await say("amara", text)
    replies = await say("amara", "yes")
    [opened] = [r for r in replies if "is open" in r]
    return opened.split()[1]


def channel_copies(w: Walk) -> list[dict[str, Any]]:
    return [
        a["content"]
        for s in w.connector.sent
        if s.path == "/v3/conversations"
        for a in (s.body.get("activity") or {}).get("attachments") or []
    ]


def practitioners_talked(day: str) -> dict[str, str]:
    """Noah's record of stage 1's discussion with Amara, held on `day`: not resolved."""
    return {
        "held_date": day,
        "held_time": "09:00",
        "method": "phone",
        "participants": "Amara Osei, Noah Okafor",
        "summary": "Spoke about the falls",
        "points_of_difference": "Timing",
        "outcome": "not_resolved",
    }


def managers_talked(day: str) -> dict[str, str]:
    """Nadia's record of stage 2's discussion with Lena, held on `day`: not resolved."""
    return {
        "held_date": day,
        "held_time": "11:00",
        "method": "teams call",
        "participants": "Lena Price, Nadia Khan",
        "summary": "Managers discussed",
        "outcome": "not_resolved",
    }


def card_actions_to_stage_3(day: str) -> list[tuple[str, str, dict[str, str]]]:
    """After `raise_case`: the card actions (who, verb, the card's fields) that take the case to
    stage 3, the senior managers, each discussion held on `day`."""
    return [
        ("noah", "record", practitioners_talked(day)),
        ("amara", "approve_record", {"record_id": "R1"}),
        ("amara", "escalate", {"reason": "No agreement at stage 1"}),
        ("nadia", "record", managers_talked(day)),
        ("lena", "escalate", {"reason": "Managers could not agree"}),
    ]


def card_actions_to_close(day: str) -> list[tuple[str, str, dict[str, str]]]:
    """After `raise_case`: `card_actions_to_stage_3`, then on to the Chair's recommendations at
    stage 4, both agencies' answers and the close."""
    return [
        *card_actions_to_stage_3(day),
        ("sam", "escalate", {"reason": "Heads of Service could not agree"}),
        ("chair", "recommend", {"recommendations": "Joint visit within 3 days"}),
        ("sam", "respond", {"agency": "redbridge-asc", "response": "accepted"}),
        ("nadia", "respond", {"agency": "nelft", "response": "accepted"}),
        (
            "chair",
            "close",
            {
                "summary": "Recommendations accepted",
                "learning_points": "Share falls logs early",
                "policy_gaps": "None",
                "debrief_offered": "true",
            },
        ),
    ]
