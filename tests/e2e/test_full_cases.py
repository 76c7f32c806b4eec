"""Whole cases over HTTP, as Teams would call the bot: every step on a card, copies in the
business manager's channel, and a person who removed the app recorded on the case."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from bootstrap.build import open_storage
from testkit.chat import TENANT, card_text, cards, eventually, running, settings_with
from testkit.walk import (
    PEOPLE,
    Walk,
    channel_copies,
    managers_talked,
    person,
    practitioners_talked,
    raise_case,
)


@pytest.mark.clause("RB-4.4", "RB-4.5", "RB-4.6", "RB-4.7", "RB-4.9", "RB-4.3")
async def test_a_whole_redbridge_case_over_http(walk: Walk) -> None:
    w = walk
    replies = await w.in_channel("bm", "set channel")
    assert replies == ["This channel now gets the business manager's copies for RSAB."]
    case_id = await raise_case(w)

    await w.act("noah", "record", case_id, **practitioners_talked(w.clock.day()))
    await w.act("amara", "approve_record", case_id, record_id="R1")
    await w.act("amara", "escalate", case_id, reason="No agreement at stage 1")
    assert (await w.case(case_id)).stage == "2"
    await eventually(
        lambda: bool(cards(w.connector, "a:chat-lena")) and bool(cards(w.connector, "a:chat-nadia"))
    )

    await w.act("nadia", "record", case_id, **managers_talked(w.clock.day()))
    await w.act("lena", "escalate", case_id, reason="Managers could not agree")
    assert (await w.case(case_id)).stage == "3"
    # The business manager's channel gets a copy at stage 3 (RB-4.6), with no actions on it.
    await eventually(lambda: len(channel_copies(w)) == 1)
    [copy] = channel_copies(w)
    assert case_id in card_text(copy) and "actions" not in copy

    await w.act("sam", "escalate", case_id, reason="Heads of Service could not agree")
    assert (await w.case(case_id)).stage == "4"
    await eventually(lambda: len(channel_copies(w)) == 2)  # and at stage 4 (RB-4.7)
    await eventually(lambda: bool(cards(w.connector, "a:chat-chair")))

    text = await w.act(
        "chair",
        "recommend",
        case_id,
        recommendations="Joint visit within 3 days\nReview the discharge protocol",
    )
    assert "The recommendations are recorded" in text
    case = await w.case(case_id)
    assert case.recommendations is not None and case.recommendations.binding is False
    assert case.recommendations.items == (
        "Joint visit within 3 days",
        "Review the discharge protocol",
    )
    assert [c.status.value for c in case.clocks if c.stage == "4" and c.clock == "recommend"] == [
        "met"
    ]

    # Each agency responds to the recommendations (RB-4.9), then the case is closed.
    await w.act("sam", "respond", case_id, agency="redbridge-asc", response="accepted")
    await w.act(
        "nadia",
        "respond",
        case_id,
        agency="nelft",
        response="partly_accepted",
        detail="Visit agreed",
    )
    text = await w.act(
        "chair",
        "close",
        case_id,
        summary="Recommendations accepted",
        learning_points="Share falls logs early",
        policy_gaps="Discharge protocol silent on falls",
        debrief_offered="true",
    )
    assert "The case is closed" in text
    case = await w.case(case_id)
    assert (
        case.status.value == "closed" and case.closure is not None and case.closure.debrief_offered
    )
    assert [(r.agency_id, r.response) for r in case.agency_responses] == [
        ("redbridge-asc", "accepted"),
        ("nelft", "partly_accepted"),
    ]
    await eventually(
        lambda: len(channel_copies(w)) >= 4
    )  # the copies: stage 3, stage 4, outcome, closure
    # Every card that reached someone is in the case's access log, at the view it showed.
    seen = {(e.who, e.what, e.view) for e in await w.access_log(case_id)}
    assert {
        ("noah", "card", "full"),
        ("lena", "card", "full"),
        ("chair", "card", "full"),
        ("channel:redbridge", "copy", "copy"),
    } <= seen


async def test_the_channel_can_only_be_set_by_a_board_role_in_a_channel(walk: Walk) -> None:
    assert await walk.in_channel("amara", "set channel") == [
        "Only someone with a board role (such as the business manager) can set the channel."
    ]
    replies = await walk.say("bm", "set channel")
    assert replies == [
        "Do this in the team channel that should get the copies, by mentioning me there."
    ]


async def test_a_person_who_removed_the_app_is_recorded_and_the_raiser_told(walk: Walk) -> None:
    walk.connector.gone.add("a:chat-noah")  # Noah removed the app: Teams answers 403
    case_id = await raise_case(walk)

    async def recorded() -> bool:
        return bool((await walk.case(case_id)).delivery_failures)

    for _ in range(100):
        if await recorded():
            break
        await asyncio.sleep(0.05)
    [failure] = (await walk.case(case_id)).delivery_failures
    assert (failure.recipient_id, failure.kind) == ("noah", "stage_entered")
    assert failure.error.startswith("403")
    # The raiser is shown it, and asked to contact him by hand.
    await eventually(
        lambda: any(
            "could not reach Noah Okafor" in card_text(c)
            for c in cards(walk.connector, "a:chat-amara")
        )
    )


async def test_a_throttled_message_is_retried_and_arrives(walk: Walk) -> None:
    walk.connector.failures["a:chat-noah"] = [(429, {"Retry-After": "0"}), (503, {})]
    case_id = await raise_case(walk)
    await eventually(
        lambda: any(case_id in card_text(c) for c in cards(walk.connector, "a:chat-noah")),
        within=10,
    )


@pytest.mark.clause("RB-4.1", "RB-1.4")
async def test_immediate_risk_reaches_the_manager_and_safeguarding_lead_at_once(walk: Walk) -> None:
    case_id = await raise_case(walk, immediate=True)
    case = await walk.case(case_id)
    assert case.immediate_risk

    def delivered(chat_id: str) -> bool:
        return any(case_id in card_text(c) for c in cards(walk.connector, chat_id))

    for chat_id in ("a:chat-lena", "a:chat-sgl"):
        await eventually(partial(delivered, chat_id))
    [to_lead] = [c for c in cards(walk.connector, "a:chat-sgl") if case_id in card_text(c)]
    assert "IMMEDIATE RISK" in card_text(to_lead).upper()
    # Every protective clock falls due by the end of the working day.
    assert {c.clock for c in case.clocks if c.basis.startswith("immediate risk")} == {
        "respond",
        "resolve",
    }


async def test_the_submit_fallback_acts_and_updates_the_card(walk: Walk) -> None:
    case_id = await raise_case(walk)
    await walk.act(
        "noah",
        "record",
        case_id,
        held_date=walk.clock.day(),
        held_time="09:00",
        participants="Amara, Noah",
        summary="Spoke",
        points_of_difference="Timing",
        outcome="continuing",
    )
    version = (await walk.case(case_id)).version
    body = walk.activity(
        "amara",
        value={"verb": "approve_record", "case_id": case_id, "version": version, "record_id": "R1"},
        replyToId="card-activity-7",
    )
    body.pop("text", None)
    before = len(walk.connector.sent)
    async with walk.http.post(walk.url + "/api/messages", json=body) as r:
        assert r.status == 201
    [update] = [s for s in walk.connector.sent[before:] if s.method == "PUT"]
    assert update.path.endswith("/activities/card-activity-7")
    assert "You approved record R1" in card_text(update.body["attachments"][0]["content"])
    # The chat list and notifications show what the card is, not "Sent a card".
    assert update.body["summary"].startswith(f"Case {case_id}, stage 1 (Practitioners)")
    assert [a.by for a in (await walk.case(case_id)).records[0].approvals] == ["amara"]


HARROW = [
    person("hana", "Hana Ali", "harrow-council", "practitioner", manager="harry"),
    person("harry", "Harry Stone", "harrow-council", "line_manager"),
    person("hbm", "Helen Board", "harrow-council", "board_member"),
    person("colin", "Colin Reed", "cnwl", "practitioner", manager="cara"),
    person("cara", "Cara Bell", "cnwl", "line_manager"),
    person("cbm", "Carl Board", "cnwl", "board_member"),
    person("hssp", "Hugh Price", "met-police", board=("harrow:hssp_chair",)),
    person("hwchair", "Ivy Chair", "harrow-voluntary", board=("harrow:independent_chair",)),
    person("hwbm", "Hattie Marsh", "harrow-council", board=("harrow:business_manager",)),
]


@pytest.fixture
async def harrow_walk(tmp_path: Path) -> AsyncIterator[Walk]:
    async with running(await settings_with(tmp_path, HARROW), Walk) as w:
        for p in HARROW:
            await w.say(p["id"], "hello")
        yield w


@pytest.mark.clause("HW-4.1", "HW-4.2", "HW-4.3", "HW-4.4", "HW-learn")
async def test_a_whole_harrow_case_to_a_binding_panel_decision(harrow_walk: Walk) -> None:
    w = harrow_walk
    assert await w.in_channel("hwbm", "set channel") == [
        "This channel now gets the business manager's copies for HSAB."
    ]
    for text in (
        "raise",
        "Central and North West London NHS Foundation Trust (CNWL)",
        "Colin Reed",
        "LBH-55120",
        "Differing views of thresholds",
        "Professional disagreement",
        "no",
        "Mental health team closed the referral",
        "Self-neglect; fire risk",
        "Whether the threshold for an enquiry is met",
        "A section 42 enquiry",
        "Fire service visit report",
        "today",
    ):
        await w.say("hana", text)
    [opened] = [r for r in await w.say("hana", "yes") if "is open" in r]
    case_id = opened.split()[1]
    record = {
        "held_date": w.clock.day(),
        "held_time": "09:00",
        "method": "meeting",
        "outcome": "not_resolved",
        "points_of_difference": "Whether the threshold is met",
        "basis_of_decision": "Risk assessment",
    }

    await w.act(
        "colin",
        "record",
        case_id,
        participants="Hana Ali, Colin Reed",
        summary="Stage 1 talk",
        **record,
    )
    await w.act(
        "hana",
        "escalate",
        case_id,
        reason="Unsafe decision",
        aim="An enquiry",
        evidence="Fire report",
        evidence_source="LFB home safety visit",
    )
    await w.act(
        "cara",
        "record",
        case_id,
        participants="Harry Stone, Cara Bell",
        summary="Managers talked",
        **record,
    )
    await w.act("harry", "escalate", case_id, reason="Managers disagree")
    assert (await w.case(case_id)).stage == "3"
    await w.act(
        "cbm",
        "record",
        case_id,
        participants="Helen Board, Carl Board",
        summary="Board members talked",
        **record,
    )
    await w.act("hbm", "escalate", case_id, reason="Board members disagree")
    assert (await w.case(case_id)).stage == "4"
    await eventually(
        lambda: len(channel_copies(w)) == 1
    )  # the panel stage is copied to the channel

    await w.act("hssp", "convene_panel", case_id, agency_ids="met-police,lfb,probation")
    await w.act("colin", "represent", case_id, agency="cnwl", summary="Threshold not met")
    await w.act(
        "hana", "represent", case_id, agency="harrow-council", summary="The fire risk is high"
    )
    text = await w.act("hssp", "decide", case_id, decision="A section 42 enquiry opens this week")
    assert "binds all agencies" in text
    await w.act(
        "hssp",
        "close",
        case_id,
        summary="Panel decided",
        learning_points="Threshold guidance on hoarding",
        debrief_offered="true",
    )
    case = await w.case(case_id)
    assert case.status.value == "closed"
    assert (
        case.panel is not None
        and case.panel.binding
        and case.panel.agency_ids == ("met-police", "lfb", "probation")
    )
    assert case.closure is not None and case.closure.learning_points == (
        "Threshold guidance on hoarding",
    )
    await eventually(lambda: any("closed" in card_text(c).lower() for c in channel_copies(w)))


async def test_a_chat_is_started_with_someone_who_has_not_opened_the_bot(tmp_path: Path) -> None:
    settings = await settings_with(tmp_path, PEOPLE)
    async with running(settings, Walk) as w:
        stand_in = w.connector
        await w.say("amara", "hello")  # only the raiser has talked to the bot
        case_id = await raise_case(w)
        await eventually(lambda: any(s.path == "/v3/conversations" for s in stand_in.sent))
        [created] = [s for s in stand_in.sent if s.path == "/v3/conversations"]
        assert created.body["members"] == [{"id": "29:noah"}] and created.body["isGroup"] is False
        assert created.body["tenantID"] == TENANT
        assert created.body["channelData"] == {"tenant": {"id": TENANT}}
        await eventually(
            lambda: any(case_id in card_text(c) for c in cards(stand_in, created.conversation_id))
        )
        # The new chat is remembered: the next message goes straight to it.
        storage = await open_storage(settings.storage)
        try:
            reference = await storage.conversations.person_reference("noah")
        finally:
            await storage.close()
        assert reference is not None and reference["conversation"]["id"] == created.conversation_id


async def test_after_each_action_the_people_it_waits_for_and_those_told_are_named(
    walk: Walk,
) -> None:
    w = walk
    case_id = await raise_case(w)
    said = await w.act(
        "noah",
        "record",
        case_id,
        held_date=w.clock.day(),
        held_time="09:00",
        participants="Amara Osei, Noah Okafor",
        summary="Spoke about the falls",
        points_of_difference="Timing",
        outcome="not_resolved",
    )
    # Who may approve comes from escalation.access; who is told, from the messages queued.
    assert (
        "Done: Your record R1 is saved; it waits for approval by Amara Osei (the professional "
        "who raised it), Lena Price (Amara Osei's line manager) or Nadia Khan (your line "
        "manager). Amara Osei is being told."
    ) in said
    said = await w.act("amara", "approve_record", case_id, record_id="R1")
    assert "Done: You approved record R1. Noah Okafor (the other professional) is being told." in (
        said
    )
    said = await w.act("amara", "escalate", case_id, reason="No agreement at stage 1")
    assert (
        "Done: The case is at stage 2 (Line managers): Lena Price (your line manager), Nadia "
        "Khan (Noah Okafor's line manager) and Noah Okafor (the other professional) are being "
        "told."
    ) in said
    assert "have been told" not in said  # the outbox sends after the answer: never claimed

    said = await w.act(
        "nadia",
        "record",
        case_id,
        held_date=w.clock.day(),
        held_time="11:00",
        participants="Lena Price, Nadia Khan",
        summary="Managers agreed a joint visit",
        outcome="resolved",
        agreed_outcome="Joint visit on Friday",
    )
    said = await w.act("nadia", "confirm_outcome", case_id, outcome="Joint visit on Friday")
    assert (
        "Done: The outcome is confirmed in writing; it waits for approval by Amara Osei (the "
        "professional who raised it) or Lena Price (Amara Osei's line manager)."
    ) in said


async def test_someone_the_bot_cannot_reach_is_named_as_to_be_contacted_by_hand(
    tmp_path: Path,
) -> None:
    # Noah's line manager is nobody the directory knows: at stage 2 she must be reached by hand.
    people = [
        {k: v for k, v in p.items() if not (p["id"] == "noah" and k == "line_manager")}
        for p in PEOPLE
    ]
    async with running(await settings_with(tmp_path, people), Walk) as w:
        for p in people:
            await w.say(p["id"], "hello")
        case_id = await raise_case(w)
        await w.act(
            "noah",
            "record",
            case_id,
            held_date=w.clock.day(),
            held_time="09:00",
            participants="Amara Osei, Noah Okafor",
            summary="Spoke",
            points_of_difference="Timing",
            outcome="not_resolved",
        )
        said = await w.act("amara", "escalate", case_id, reason="No agreement")
        assert (
            "The case is at stage 2 (Line managers): Lena Price (your line manager) and Noah "
            "Okafor (the other professional) are being told. Not reachable in Teams, so to be "
            "contacted by hand: the line manager of Noah Okafor. You are asked to do it, and to "
            "record it on the case."
        ) in said


def lines_for(reply: str) -> dict[str, str]:
    """The `cases` answer's lines, by the case id each names."""
    found: dict[str, str] = {}
    for line in reply.splitlines()[1:]:
        assert line.startswith("- "), line
        case_id = next(w.strip("*,") for w in line.split() if w.strip("*,").startswith("RB-"))
        found[case_id] = line
    return found


async def test_the_case_list_tells_cases_apart_and_says_what_waits_on_you(walk: Walk) -> None:
    w = walk
    first = await raise_case(w, reference="ASC-104233")
    urgent = await raise_case(w, immediate=True, reference="ASC-200417")
    await w.act(
        "noah",
        "record",
        first,
        held_date=w.clock.day(),
        held_time="09:00",
        participants="Amara Osei, Noah Okafor",
        summary="Spoke",
        points_of_difference="Timing",
        outcome="continuing",
    )
    [reply] = [r for r in await w.say("amara", "cases") if r.startswith("You have")]
    assert reply.startswith("You have 2 open case(s):")
    lines = lines_for(reply)
    assert set(lines) == {first, urgent}
    # Raised Wed 25 Nov 2026 (the app's day): the immediate-risk clocks fall due that day.
    assert lines[urgent] == (
        f"- **IMMEDIATE RISK** **{urgent}**, adult's ref `ASC-200417`, with NELFT NHS Foundation "
        "Trust: stage 1 (Practitioners); next due today, Wed 25 Nov 17:00. Waiting on you: Find "
        "a mutually agreeable way forward (by Wed 25 Nov 17:00)."
    )
    assert lines[first] == (
        f"- **{first}**, adult's ref `ASC-104233`, with NELFT NHS Foundation Trust: stage 1 "
        "(Practitioners); next due Wed 02 Dec 17:00, 5 working days left. Waiting on you: Find a "
        "mutually agreeable way forward (by Wed 02 Dec 17:00); approve record R1."
    )
    # The next to fall due comes first.
    assert reply.index(urgent) < reply.index(first)
    # The other professional sees the other side's agency.
    [theirs] = [r for r in await w.say("noah", "cases") if r.startswith("You have")]
    assert "with London Borough of Redbridge Adult Social Care" in lines_for(theirs)[first]

    # A week on, the first case's deadline is today; the day after, it is overdue.
    w.clock.start += timedelta(days=7)
    [later] = [r for r in await w.say("amara", "cases") if r.startswith("You have")]
    assert "; next due today, Wed 02 Dec 17:00." in lines_for(later)[first]
    w.clock.start += timedelta(days=1)
    [later] = [r for r in await w.say("amara", "cases") if r.startswith("You have")]
    assert "; **OVERDUE** since Wed 02 Dec 17:00." in lines_for(later)[first]
    assert "(OVERDUE since Wed 02 Dec 17:00)" in lines_for(later)[first]


async def test_a_card_sent_as_a_reply_carries_a_summary_for_the_chat_list(walk: Walk) -> None:
    case_id = await raise_case(walk)
    before = len(walk.connector.sent)
    await walk.say("lena", f"case {case_id}")
    [sent] = [
        s
        for s in walk.connector.sent[before:]
        if s.conversation_id == "a:chat-lena" and s.body.get("attachments")
    ]
    card = sent.body["attachments"][0]["content"]
    assert sent.body["summary"] == card["fallbackText"]
    assert sent.body["summary"].startswith(f"Case {case_id}, stage 1 (Practitioners): ")
    assert "Falls at home" not in sent.body["summary"]  # typed text stays in the card


@pytest.mark.clause("HW-thr")
async def test_the_threshold_track_is_chosen_in_the_raise_with_the_packs_question(
    harrow_walk: Walk,
) -> None:
    """A pack with more than one track asks which, in its own words; the answer starts the case
    on that track (Harrow's threshold decisions start with the Team Manager, T1)."""
    w = harrow_walk
    replies: list[str] = []
    for text in (
        "raise",
        "Central and North West London NHS Foundation Trust (CNWL)",
        "Colin Reed",
        "LBH-55121",
        "Differing views of thresholds",
    ):
        replies = await w.say("hana", text)
    assert any("a threshold decision of the safeguarding adults team" in r for r in replies)
    for text in (
        "Safeguarding adults team threshold decision",
        "no",
        "The team decided the concern does not meet the threshold",
        "Self-neglect; fire risk",
        "Whether the threshold for an enquiry is met",
        "A section 42 enquiry",
        "Fire service visit report",
        "today",
    ):
        replies = await w.say("hana", text)
    assert any("**Route:** Safeguarding adults team threshold decision" in r for r in replies)
    [opened] = [r for r in await w.say("hana", "yes") if "is open" in r]
    case = await w.case(opened.split()[1])
    assert (case.track, case.stage) == ("threshold", "T1")
