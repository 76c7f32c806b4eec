"""Identity and authority over HTTP, as Teams would call the bot: a person is their tenant and
object id, an agency lists its tenants, and authority is granted by someone who holds it, never
claimed. Each attack below must fail, and each refusal must say what to do next."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bootstrap.build import open_storage
from cards.checks import problems
from escalation.directory import Directory
from escalation.parties import candidates
from storage.directory_store import StoredPerson
from testkit.chat import TENANT, card_text, cards, eventually, running, settings_with
from testkit.people import agencies_for
from testkit.walk import (
    Walk,
    card_actions_to_stage_3,
    person,
    raise_case,
)

OTHER_TENANT = "6f1c1b0e-0000-4000-8000-0000000000ee"
MET_TENANT = "7a2d3c4e-0000-4000-8000-0000000000aa"


def with_email(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "email": f"{record['id']}@example.org"}


PEOPLE = [
    with_email(p)
    for p in (
        person("amara", "Amara Osei", "redbridge-asc", "practitioner", manager="lena"),
        person("lena", "Lena Price", "redbridge-asc", "line_manager", manager="sam"),
        person("sam", "Sam Idowu", "redbridge-asc", "senior_manager"),
        person("sgl", "Sade Green", "redbridge-asc", "safeguarding_lead"),
        person("noah", "Noah Okafor", "nelft", "practitioner", manager="nadia"),
        person("nadia", "Nadia Khan", "nelft", "line_manager"),
        person("nina", "Nina Shah", "nelft", "named_safeguarding_professional"),
        person("ada", "Ada Obi", "nelft", "agency_admin"),
        person("mo", "Mo Reed", "met-police", "senior_manager", "line_manager"),
        person("bm", "Bea Marsh", "redbridge-asc", board=("redbridge:business_manager",)),
    )
]


@dataclass
class People(Walk):
    """A Walk whose people may have a display name of their choosing and another tenant."""

    names: dict[str, str] = field(default_factory=dict)
    tenants: dict[str, str] = field(default_factory=dict)

    def activity(self, who: str, **fields: Any) -> dict[str, Any]:
        body = super().activity(who, **fields)
        if who in self.names:
            body["from"]["name"] = self.names[who]
        tenant = self.tenants.get(who)
        if tenant is not None:
            body["conversation"]["tenantId"] = tenant
            body["channelData"]["tenant"] = {"id": tenant}
        return body

    async def entry(self, person_id: str) -> StoredPerson | None:
        assert self.storage_settings is not None
        storage = await open_storage(self.storage_settings)
        try:
            return await storage.directory.entry(person_id)
        finally:
            await storage.close()

    async def snapshot(self) -> Directory:
        assert self.storage_settings is not None
        storage = await open_storage(self.storage_settings)
        try:
            return await storage.directory.snapshot()
        finally:
            await storage.close()

    async def decide(self, who: str, verb: str, request_id: str, reason: str | None = None) -> str:
        data: dict[str, Any] = {"request_id": request_id, "verb": verb}
        if reason is not None:
            data["join.reason"] = reason
        status, response = await self.invoke(who, verb, data)
        assert status == 200, response
        assert not problems(response["value"]), problems(response["value"])
        return card_text(response["value"])


def says(replies: list[str], text: str) -> bool:
    return any(text in r for r in replies)


def request_id_in(replies: list[str]) -> str:
    found = re.search(r"\b(JR-[A-Z0-9]{6})\b", "\n".join(replies))
    assert found, replies
    return found.group(1)


def approval_cards(w: People, conversation: str) -> list[dict[str, Any]]:
    return [c for c in cards(w.connector, conversation) if "Request to join" in card_text(c)]


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[People]:
    async with running(await settings_with(tmp_path, PEOPLE), People) as started:
        for p in PEOPLE:
            await started.say(p["id"], "hello")  # each has opened the bot
        yield started


async def ask_to_join(w: People, who: str, agency: str, manager: str) -> list[str]:
    """Answer the profile dialog; the replies to the last answer ("yes")."""
    replies = await w.say(who, "profile")
    assert says(replies, "Which agency do you work for?"), replies
    replies = await w.say(who, agency)
    assert says(replies, "Who is your line manager?"), replies
    await w.say(who, manager)
    return await w.say(who, "yes")


# --- the impostor ---------------------------------------------------------------------------


async def test_an_impostor_with_a_known_name_gets_nothing_until_approved(w: People) -> None:
    # Someone the directory does not know, called "Noah Okafor" in Teams, in a tenant NELFT lists.
    w.names["impostor"] = "Noah Okafor"
    replies = await w.say("impostor", "raise")
    assert says(replies, "First, ask to join your agency"), replies
    assert says(replies, "Which agency do you work for?"), replies
    await w.say("impostor", "NELFT NHS Foundation Trust")
    replies = await w.say("impostor", "Nadia Khan")
    assert says(replies, "Nadia Khan (the line manager named) or Ada Obi (agency administrator)")
    replies = await w.say("impostor", "yes")
    assert says(replies, "is stored and goes to Nadia Khan or Ada Obi to approve"), replies
    request_id = request_id_in(replies)

    # Pending: the entry holds nothing, and every way in is refused, naming who must approve.
    entry = await w.entry("teams-aad-impostor")
    assert entry is not None and not entry.person.active and entry.person.roles == frozenset()
    refusal = "waits for approval by Nadia Khan (the line manager named) or Ada Obi"
    for text in ("raise", "cases", "case RB-2026-ABCDEF"):
        replies = await w.say("impostor", text)
        assert says(replies, refusal), (text, replies)
    replies = await w.say("impostor", "help")
    assert says(replies, "I run your safeguarding board's policy"), replies  # help is open

    # He is never a party: he is not offered, and the name picks the real Noah.
    snapshot = await w.snapshot()
    offered = candidates(snapshot, board_id="redbridge", agency_id="nelft", raiser_id="amara")
    assert "teams-aad-impostor" not in {p.id for p in offered}
    assert [p.id for p in snapshot.holders("practitioner", "nelft")] == ["noah"]
    case_id = await raise_case(w)
    assert (await w.case(case_id)).party("receiver").person_id == "noah"

    # A card action on the case, from him, is refused with what to do.
    version = (await w.case(case_id)).version
    status, response = await w.invoke(
        "impostor",
        "record",
        {"case_id": case_id, "version": version, "verb": "record", "record.summary": "x"},
    )
    assert status == 200 and refusal in card_text(response["value"])
    assert (await w.case(case_id)).version == version

    # The approval card reached Nadia, warning her of the name already listed.
    await eventually(lambda: bool(approval_cards(w, "a:chat-nadia")))
    [card] = approval_cards(w, "a:chat-nadia")
    assert not problems(card), problems(card)
    text = card_text(card)
    assert request_id in text and "Noah Okafor" in text
    assert "already has someone of this name" in text and "noah@example.org" in text
    await eventually(lambda: bool(approval_cards(w, "a:chat-ada")))

    # Nadia declines; he is told why, and still holds nothing.
    text = await w.decide("nadia", "join_decline", request_id, reason="Not in my team")
    assert "Declined" in text and "Not in my team" in text
    await eventually(
        lambda: any("Not in my team" in card_text(c) for c in cards(w.connector, "a:chat-impostor"))
    )
    replies = await w.say("impostor", "raise")
    assert says(replies, "was declined") and says(replies, "Type 'profile' to ask again")
    # The request is decided: Ada's card is stale.
    text = await w.decide("ada", "join_approve", request_id)
    assert "already declined by Nadia Khan" in text


async def test_a_request_can_be_decided_only_by_the_named_manager_or_an_agency_admin(
    w: People,
) -> None:
    replies = await ask_to_join(w, "newcomer", "NELFT NHS Foundation Trust", "Nadia Khan")
    request_id = request_id_in(replies)
    only = "Only Nadia Khan (the line manager named) or Ada Obi (agency administrator) can approve"
    # A practitioner of the agency, a line manager elsewhere, a senior manager elsewhere, a board
    # role: none may decide it, either way.
    for who in ("noah", "lena", "sam", "mo", "bm", "nina"):
        text = await w.decide(who, "join_approve", request_id)
        assert "Nothing changed" in text and only in text, (who, text)
        text = await w.decide(who, "join_decline", request_id, reason="no")
        assert "Nothing changed" in text and only in text, (who, text)
    # The requester cannot approve their own request.
    text = await w.decide("newcomer", "join_approve", request_id)
    assert "Nothing changed" in text and "waits for approval by Nadia Khan" in text
    # A decline needs a reason.
    text = await w.decide("nadia", "join_decline", request_id, reason="  ")
    assert "Say why you decline it" in text
    entry = await w.entry("teams-aad-newcomer")
    assert entry is not None and not entry.person.active

    # The named line manager approves: a practitioner, managed by her.
    text = await w.decide("nadia", "join_approve", request_id)
    assert "Approved: newcomer is now practitioner at NELFT NHS Foundation Trust" in text
    entry = await w.entry("teams-aad-newcomer")
    assert entry is not None and entry.person.active
    assert entry.person.roles == frozenset({"practitioner"})
    assert entry.person.line_manager_id == "nadia"
    await eventually(
        lambda: any(
            "is approved by Nadia Khan" in card_text(c)
            for c in cards(w.connector, "a:chat-newcomer")
        )
    )
    replies = await w.say("newcomer", "raise")
    assert says(replies, "Which agency is the other professional in"), replies
    # Clicking again changes nothing.
    text = await w.decide("nadia", "join_approve", request_id)
    assert "already approved by Nadia Khan" in text


async def test_a_request_naming_no_manager_waits_for_the_agency_admin(w: People) -> None:
    replies = await ask_to_join(
        w, "newcomer", "NELFT NHS Foundation Trust", "My manager is not listed"
    )
    request_id = request_id_in(replies)
    assert says(replies, "goes to Ada Obi to approve"), replies
    text = await w.decide("nadia", "join_approve", request_id)  # not named: not hers
    assert "Only Ada Obi (agency administrator) can approve" in text
    text = await w.decide("ada", "join_approve", request_id)
    assert "Approved" in text
    entry = await w.entry("teams-aad-newcomer")
    assert entry is not None and entry.person.active and entry.person.line_manager_id is None


# --- the agency hop -------------------------------------------------------------------------


async def stage_three(w: People) -> str:
    """A Redbridge case escalated to stage 3 (senior managers), as the whole-case walk takes it."""
    case_id = await raise_case(w)
    for who, verb, fields in card_actions_to_stage_3(w.clock.day()):
        await w.act(who, verb, case_id, **fields)
    assert (await w.case(case_id)).stage == "3"
    return case_id


async def test_an_agency_hop_ends_with_no_roles_anywhere_until_approved(w: People) -> None:
    case_id = await stage_three(w)
    # Mo, a senior manager at the Met, says he works for NELFT, with no manager listed.
    replies = await w.say("mo", "profile")
    assert says(replies, "until it is, you hold no role anywhere"), replies
    assert says(replies, "Which agency do you work for?"), replies
    await w.say("mo", "NELFT NHS Foundation Trust")
    replies = await w.say("mo", "My manager is not listed")
    assert says(replies, "Ada Obi (agency administrator) must approve it"), replies
    replies = await w.say("mo", "yes")
    assert says(replies, "goes to Ada Obi to approve"), replies
    request_id = request_id_in(replies)

    entry = await w.entry("mo")
    assert entry is not None and entry.person.agency_id == "nelft"
    assert not entry.person.active and entry.person.roles == frozenset()
    snapshot = await w.snapshot()
    for agency in ("met-police", "nelft"):
        for role in ("senior_manager", "line_manager", "practitioner"):
            assert "mo" not in {p.id for p in snapshot.holders(role, agency)}, (agency, role)

    # He cannot act for NELFT (nor the Met) on the stage-3 case, nor see it.
    refusal = "waits for approval by Ada Obi (agency administrator)"
    status, response = await w.invoke(
        "mo",
        "escalate",
        {
            "case_id": case_id,
            "version": (await w.case(case_id)).version,
            "verb": "escalate",
            "escalate.reason": "x",
        },
    )
    assert status == 200 and refusal in card_text(response["value"])
    assert (await w.case(case_id)).stage == "3"
    replies = await w.say("mo", f"case {case_id}")
    assert says(replies, refusal), replies

    # Ada approves: he is a NELFT practitioner, and nothing more.
    text = await w.decide("ada", "join_approve", request_id)
    assert "Approved" in text
    entry = await w.entry("mo")
    assert entry is not None and entry.person.active
    assert entry.person.roles == frozenset({"practitioner"})
    status, response = await w.invoke(
        "mo",
        "escalate",
        {
            "case_id": case_id,
            "version": (await w.case(case_id)).version,
            "verb": "escalate",
            "escalate.reason": "x",
        },
    )
    assert "Nothing changed" in card_text(response["value"])
    assert (await w.case(case_id)).stage == "3"


async def test_a_hop_to_an_agency_that_does_not_list_ones_tenant_is_not_offered(
    tmp_path: Path,
) -> None:
    agencies = [
        *[a for a in agencies_for(PEOPLE, TENANT) if a["id"] != "met-police"],
        {"id": "met-police", "tenants": [MET_TENANT]},
    ]
    async with running(await settings_with(tmp_path, PEOPLE, agencies), People) as w:
        w.tenants["mo"] = MET_TENANT
        replies = await w.say("mo", "profile")
        offered = "\n".join(replies)
        assert "Metropolitan Police Service" in offered
        assert "NELFT" not in offered and "Adult Social Care" not in offered
        replies = await w.say("mo", "NELFT NHS Foundation Trust")
        assert says(replies, "Pick one of the options."), replies
        await w.say("mo", "cancel")
        entry = await w.entry("mo")
        assert entry is not None and entry.person.active and entry.person.agency_id == "met-police"
        assert entry.person.roles == frozenset({"senior_manager", "line_manager"})


async def test_a_board_role_never_asks_to_act_for_an_agency(w: People) -> None:
    replies = await w.say("bm", "profile")
    assert says(replies, "never acts for an agency"), replies
    assert says(replies, "Bea Marsh"), replies  # who to ask: the business manager, by name
    entry = await w.entry("bm")
    assert entry is not None and entry.person.active


# --- tenants --------------------------------------------------------------------------------


async def test_a_user_of_a_tenant_no_agency_lists_cannot_join_or_act(w: People) -> None:
    w.tenants["stranger"] = OTHER_TENANT
    for text in ("raise", "profile", "cases"):
        replies = await w.say("stranger", text)
        assert says(replies, f"tenant ({OTHER_TENANT}) is not registered"), (text, replies)
        assert says(replies, "Bea Marsh"), (text, replies)  # who to ask
    status, response = await w.invoke(
        "stranger", "join_approve", {"request_id": "JR-AAAAAA", "verb": "join_approve"}
    )
    assert status == 200 and "is not registered" in card_text(response["value"])
    assert await w.entry("teams-aad-stranger") is None


async def test_a_known_object_id_from_another_tenant_is_treated_as_unknown(w: People) -> None:
    case_id = await raise_case(w)
    w.tenants["noah"] = OTHER_TENANT  # Noah's object id, presented from another tenant
    not_registered = "tenant is not registered for NELFT NHS Foundation Trust"
    for text in ("cases", f"case {case_id}", "raise", "profile"):
        replies = await w.say("noah", text)
        assert says(replies, not_registered) and says(replies, "Bea Marsh"), (text, replies)
    version = (await w.case(case_id)).version
    status, response = await w.invoke(
        "noah",
        "record",
        {"case_id": case_id, "version": version, "verb": "record", "record.summary": "x"},
    )
    assert status == 200 and not_registered in card_text(response["value"])
    entry = await w.entry("noah")
    assert entry is not None and entry.person.active  # the real Noah keeps his entry
    assert (await w.case(case_id)).version == version
    # From his own tenant, he is himself again.
    del w.tenants["noah"]
    replies = await w.say("noah", "cases")
    assert says(replies, case_id), replies


async def test_an_agency_on_no_tenant_is_not_on_teams(tmp_path: Path) -> None:
    agencies = [
        *[a for a in agencies_for(PEOPLE, TENANT) if a["id"] != "nelft"],
        {"id": "nelft", "tenants": []},
    ]
    async with running(await settings_with(tmp_path, PEOPLE, agencies), People) as w:
        replies = await w.say("noah", "cases")
        assert says(replies, "not registered for NELFT NHS Foundation Trust"), replies
        replies = await w.say("newcomer", "profile")
        assert "NELFT" not in "\n".join(replies)
        # Its people can still be named as the other party, by the picker.
        case_id = await raise_case(w)
        assert (await w.case(case_id)).party("receiver").person_id == "noah"
