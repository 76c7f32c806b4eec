"""The Adaptive Cards: valid 1.5 cards that lead with the risk and offer each person their actions.

Every card built here is checked against Microsoft's Adaptive Card 1.5 JSON schema (vendored in
cards/schema/) and against the product's own card rules (cards.checks).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft6Validator

from cards.case_card import FORM_FIELDS, case_card, form_values, input_id, risk_block
from cards.checks import ACTION_DATA_KEYS, actions, inputs, nodes, problems
from cards.copy_card import business_manager_copy_card
from cards.elements import MAX_REFRESH_USERS, Json
from cards.nudge_card import NUDGE_KINDS, nudge_card
from cards.outcome_cards import done_card, refusal_card
from cards.views import CLOSE, REPRESENT, RESPOND, CaseView, ViewLevel
from cards.welcome import NOT_A_COMPLAINTS_PROCESS, signpost_card, welcome_card
from escalation.case import Case
from escalation.commands import (
    ApproveOutcome,
    ConfirmOutcome,
    Escalate,
    RecordAgencyResponse,
    RecordPanelDecision,
    RecordRepresentation,
)
from escalation.directory import Directory
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import discussion, harrow_raise, redbridge_raise
from testkit.clocks import FakeClock
from testkit.scenarios import (
    at_stage_2,
    at_stage_3,
    harrow_at_stage,
    harrow_panel,
    harrow_resolved,
    redbridge_recommended,
)
from tests.unit.card_checks import assert_valid, schema, schema_errors, view_of


def text_of(value: Any) -> str:
    """All the words a card shows (TextBlocks, TextRuns, facts), joined."""
    words: list[str] = []
    for node in nodes(value):
        if node.get("type") in ("TextBlock", "TextRun") or ("title" in node and "value" in node):
            words += [
                str(node.get("text", "")),
                str(node.get("title", "")),
                str(node.get("value", "")),
            ]
    return " ".join(w for w in words if w)


def buttons(card: Json) -> list[str]:
    """The titles of the buttons a person sees: the action bar and the ActionSets in the body."""
    titles = [a["title"] for a in card.get("actions", [])]
    for node in nodes(card["body"]):
        if node.get("type") == "ActionSet":
            titles += [a["title"] for a in node["actions"]]
    return titles


def bar(card: Json) -> list[str]:
    """The titles of the buttons in the card's action bar only."""
    return [a["title"] for a in card.get("actions", [])]


def form(card: Json, title: str) -> Json:
    [found] = [a for a in card.get("actions", []) if a["title"] == title]
    assert found["type"] == "Action.ShowCard"
    sub: Json = found["card"]
    return sub


def field(sub: Json, key: str) -> Json:
    [found] = [i for i in inputs(sub) if i["id"] == key]
    return found


def all_cards_for(view: CaseView) -> list[Json]:
    built = [
        case_card(view),
        done_card(view, "Record R1 is saved."),
        refusal_card(view, "the case has changed since you saw it."),
        business_manager_copy_card(view, "the case reached stage 3"),
    ]
    built += [nudge_card(view, c.label, kind) for c in view.clocks for kind in NUDGE_KINDS]
    return built


# -- the schema itself ------------------------------------------------------------------------------


def test_the_vendored_schema_is_the_official_adaptive_card_1_5_schema() -> None:
    Draft6Validator.check_schema(schema())
    definitions = schema()["definitions"]
    # 1.5 has Action.Execute with a verb, refresh with userIds, and the 1.5 Table and action mode
    assert "verb" in definitions["Action.Execute"]["properties"]
    assert "userIds" in definitions["Refresh"]["properties"]
    assert {"Table", "TableCell"} <= set(definitions)
    assert definitions["Extendable.Action"]["properties"]["mode"]["version"] == "1.5"
    # and nothing newer than 1.5
    versions = {d.get("version", "1.0") for d in definitions.values() if isinstance(d, dict)}
    assert max(versions, key=lambda v: tuple(map(int, v.split(".")))) == "1.5"
    assert "Input.Rating" not in definitions


BROKEN: dict[str, tuple[str, Any]] = {
    "an input with no id": ("schema", {"type": "Input.Text", "label": "x"}),
    "an element newer than 1.5": ("schema", {"type": "Input.Rating", "id": "r"}),
    "an unknown property": ("schema", {"type": "TextBlock", "text": "x", "colour": "red"}),
    "an unlabelled input": ("rules", {"type": "Input.Text", "id": "a", "isRequired": False}),
}


def test_the_schema_accepts_any_object_as_a_fallback_so_fallbacks_are_checked_alone() -> None:
    data = {"case_id": "RB-1", "version": 1, "verb": "v"}
    fallback = {"type": "Action.Submit", "title": "x", "data": data}
    action = {"type": "Action.Execute", "title": "x", "verb": "v", "data": data}
    card: Json = {"type": "AdaptiveCard", "version": "1.5", "fallbackText": "x", "speak": "x"}
    assert_valid({**card, "actions": [{**action, "fallback": fallback}]})
    broken = {**action, "fallback": {**fallback, "colour": "red"}}
    assert schema_errors({**card, "actions": [broken]}) == []  # the schema's gap
    assert problems({**card, "actions": [broken]}) == []
    with pytest.raises(AssertionError):
        assert_valid({**card, "actions": [broken]})


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_validators_reject_broken_cards(name: str) -> None:
    which, element = BROKEN[name]
    broken = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "fallbackText": "x",
        "speak": "x",
        "body": [element],
    }
    if which == "schema":
        assert schema_errors(broken) != []
    else:
        assert schema_errors(broken) == []
        assert problems(broken) != []


def test_the_card_rules_reject_case_content_and_missing_fallbacks() -> None:
    good_data = {"case_id": "RB-1", "version": 3, "verb": "escalate"}
    base: Json = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "fallbackText": "x",
        "speak": "x",
        "body": [],
    }
    execute = {
        "type": "Action.Execute",
        "title": "Escalate",
        "verb": "escalate",
        "data": good_data,
        "fallback": {"type": "Action.Submit", "title": "Escalate", "data": good_data},
    }
    assert problems({**base, "actions": [execute]}) == []
    leaky = {**good_data, "issue": "Community nursing declined a joint visit"}
    assert problems({**base, "actions": [{**execute, "data": leaky}]})
    assert problems({**base, "actions": [{k: v for k, v in execute.items() if k != "fallback"}]})
    assert problems({**base, "version": "1.6"})
    too_many = {"action": execute, "userIds": [f"u{i}" for i in range(61)]}
    assert problems({**base, "refresh": too_many})


# -- every card is a valid 1.5 card -----------------------------------------------------------------


async def test_every_card_is_a_valid_adaptive_card_1_5(
    service: EscalationService,
    clock: FakeClock,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    built: list[Json] = []
    rb_id = await at_stage_3(service, clock)
    hw_id = await harrow_at_stage(service, clock, "4")
    immediate = (await service.execute(redbridge_raise(immediate_risk=True))).case
    rb_people = ("amara", "noah", "lena", "nadia", "sam", "nina", "rb-chair", "stranger")
    for viewer in rb_people:
        for case in (await service.case(rb_id), immediate):
            built += all_cards_for(view_of(case, redbridge, directory, viewer, clock.now))
    hw_case = await service.case(hw_id)
    for viewer in ("hana", "colin", "hssp", "hw-chair", "hw-bm"):
        built += all_cards_for(view_of(hw_case, harrow, directory, viewer, clock.now))
    built.append(refusal_card(None, "there is no case RB-2026-9999."))
    for pack in (redbridge, harrow):
        built += [signpost_card(s) for s in pack.signposts]
    built.append(welcome_card(["RSAB", "HSAB"], [*redbridge.signposts, *harrow.signposts]))
    built.append(welcome_card([], []))
    assert len(built) > 150
    for card in built:
        assert_valid(card)


# -- RB-1.4: the risk to the adult comes first ------------------------------------------------------


@pytest.mark.clause("RB-1.4")
async def test_every_case_card_leads_with_the_risk_to_the_adult(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    view = view_of(case, redbridge, directory, "amara", clock.now)
    for card in all_cards_for(view):
        first = card["body"][0]
        assert first["type"] == "Container"
        words = text_of(first)
        assert words.startswith("Risk to the adult")
        assert "Further falls; lives alone; pressure sores." in words
        assert "IMMEDIATE RISK" not in json.dumps(card)
        assert "Risk to the adult" in card["speak"]


@pytest.mark.clause("RB-1.4", "RB-4.1")
async def test_immediate_risk_is_said_in_words_not_colour_alone(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise(immediate_risk=True))).case
    view = view_of(case, redbridge, directory, "amara", clock.now)
    for card in all_cards_for(view):
        assert "IMMEDIATE RISK" in text_of(card["body"][0])
    card = case_card(view)
    assert "Immediate risk" in card["speak"] and "IMMEDIATE RISK" in card["fallbackText"]


# -- actions carry ids, a version and the verb; never case content ----------------------------------


async def test_actions_carry_only_ids_the_version_and_the_verb(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    raised = (
        await service.execute(redbridge_raise(adult_initials="QZX", child_concern=False))
    ).case
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("amara", raised.id, clock.now, "continuing"))
    case = await service.case(raised.id)
    secrets = [
        *case.details.values(),
        case.adult_reference,
        "QZX",
        case.raiser.name,
        case.receiver.name,
        "Discussed the falls",
    ]
    seen = 0
    for viewer in ("amara", "noah", "lena"):
        view = view_of(case, redbridge, directory, viewer, clock.now)
        for card in all_cards_for(view):
            for action in actions(card):
                if "data" not in action:
                    continue
                seen += 1
                data = action["data"]
                assert set(data) <= ACTION_DATA_KEYS
                assert data["case_id"] == case.id and data["version"] == case.version
                dumped = json.dumps(data)
                for secret in secrets:
                    assert secret not in dumped
    assert seen > 50


async def test_every_execute_has_a_submit_fallback_with_the_same_title_and_data(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    card = case_card(view_of(case, redbridge, directory, "amara", clock.now))
    executes = [a for a in actions(card) if a["type"] == "Action.Execute"]
    assert {a["verb"] for a in executes} == {"record", "escalate", "set_deadline", "refresh"}
    for action in executes:
        fallback = action["fallback"]
        assert fallback["type"] == "Action.Submit"
        assert (fallback["title"], fallback["data"]) == (action["title"], action["data"])
        assert fallback["data"]["verb"] == action["verb"]


# -- who sees which buttons -------------------------------------------------------------------------


async def test_at_stage_1_the_author_records_but_cannot_approve_their_own_record(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("amara", case_id, clock.now, "continuing"))
    case = await service.case(case_id)

    def seen_by(viewer: str) -> list[str]:
        return buttons(case_card(view_of(case, redbridge, directory, viewer, clock.now)))

    amara = seen_by("amara")
    assert "Record discussion" in amara and "Escalate to stage 2" in amara
    assert "Set protective deadline" in amara
    assert "Approve record R1" not in amara
    noah = seen_by("noah")
    assert "Approve record R1" in noah and "Record discussion" in noah
    # Amara's line manager may approve the record but does not act at stage 1.
    assert seen_by("lena") == ["Approve record R1"]
    # Records awaiting approval are listed for everyone who sees the case, with their author.
    nadia = case_card(view_of(case, redbridge, directory, "nadia", clock.now))
    assert "Record R1" in text_of(nadia) and "Amara" in text_of(nadia)
    # The Chair gets the board's copy at stage 1: no actions, no records, no names.
    chair = case_card(view_of(case, redbridge, directory, "rb-chair", clock.now))
    assert buttons(chair) == [] and "actions" not in chair
    assert "Record R1" not in text_of(chair) and "Amara" not in text_of(chair)
    # Someone with no part in the case sees nothing of it (escalation.access).
    stranger = case_card(view_of(case, redbridge, directory, "stranger", clock.now))
    assert buttons(stranger) == [] and "Record R1" not in text_of(stranger)


@pytest.mark.clause("RB-4.5")
async def test_at_stage_2_the_line_managers_escalate_and_may_ask_the_safeguarding_lead(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await service.case(await at_stage_2(service, clock))
    lena = case_card(view_of(case, redbridge, directory, "lena", clock.now))
    assert {"Escalate to stage 3", "Ask the safeguarding lead", "Record discussion"} <= set(
        buttons(lena)
    )
    ask = form(lena, "Ask the safeguarding lead")
    question = field(ask, "ask_lead.question")
    assert question["isRequired"] and question["label"] and question["errorMessage"]
    assert "Designated safeguarding adult professional" in text_of(ask)
    [send] = ask["actions"]
    assert send["verb"] == "ask_lead"
    assert send["data"] == {"case_id": case.id, "version": case.version, "verb": "ask_lead"}
    # The raiser is no longer a stage actor: she records and asks, but does not escalate.
    amara = buttons(case_card(view_of(case, redbridge, directory, "amara", clock.now)))
    assert "Record discussion" in amara and "Ask the safeguarding lead" in amara
    assert not any(b.startswith("Escalate") for b in amara)


async def test_the_outcome_is_confirmed_by_the_receiver_and_approved_by_the_raiser(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-03T11:00:00+00:00")
    await service.execute(discussion("amara", case_id, clock.now, "resolved"))
    case = await service.case(case_id)
    assert "Confirm the outcome" in buttons(
        case_card(view_of(case, redbridge, directory, "noah", clock.now))
    )
    assert "Confirm the outcome" not in buttons(
        case_card(view_of(case, redbridge, directory, "amara", clock.now))
    )
    await service.execute(ConfirmOutcome(actor_id="noah", case_id=case_id, outcome="Joint visit"))
    case = await service.case(case_id)
    amara = view_of(case, redbridge, directory, "amara", clock.now)
    assert amara.outcome_awaiting_approval
    assert "Approve the outcome" in buttons(case_card(amara))
    assert "awaits approval" in text_of(case_card(amara))
    noah = buttons(case_card(view_of(case, redbridge, directory, "noah", clock.now)))
    assert "Approve the outcome" not in noah and "Confirm the outcome" not in noah


@pytest.mark.clause("HW-4.4")
async def test_only_the_hssp_chair_convenes_the_panel_from_uninvolved_agencies(
    service: EscalationService, clock: FakeClock, harrow: PolicyPack, directory: Directory
) -> None:
    case = await service.case(await harrow_at_stage(service, clock, "4"))
    hssp = case_card(view_of(case, harrow, directory, "hssp", clock.now))
    agencies = field(form(hssp, "Convene the panel"), "convene_panel.agency_ids")
    offered = {c["value"] for c in agencies["choices"]}
    assert agencies["isMultiSelect"] and agencies["isRequired"]
    assert {"met-police", "lfb", "probation"} <= offered
    assert not offered & {"harrow-council", "cnwl"}
    assert "at least 3" in agencies["label"]
    assert "Convene the panel" not in buttons(
        case_card(view_of(case, harrow, directory, "hw-chair", clock.now))
    )


# -- the forms follow the pack ----------------------------------------------------------------------


@pytest.mark.clause("HW-4.1")
async def test_harrow_stage_1_records_require_the_points_of_difference(
    service: EscalationService,
    clock: FakeClock,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    hw = (await service.execute(harrow_raise())).case
    hw_form = form(
        case_card(view_of(hw, harrow, directory, "hana", clock.now)), "Record discussion"
    )
    assert field(hw_form, "record.points_of_difference")["isRequired"] is True
    assert field(hw_form, "record.basis_of_decision")["isRequired"] is False
    rb = (await service.execute(redbridge_raise())).case
    rb_form = form(
        case_card(view_of(rb, redbridge, directory, "amara", clock.now)), "Record discussion"
    )
    assert field(rb_form, "record.points_of_difference")["isRequired"] is False
    assert {i["id"] for i in inputs(rb_form)} == {
        input_id("record", f) for f in FORM_FIELDS["record"]
    }
    for key in ("summary", "participants", "outcome", "held_date", "held_time", "method"):
        assert field(rb_form, f"record.{key}")["isRequired"] is True
    outcome = field(rb_form, "record.outcome")
    assert [c["value"] for c in outcome["choices"]] == ["resolved", "not_resolved", "continuing"]
    held = field(rb_form, "record.held_date")
    assert held["max"] == held["value"] == "2026-12-01"  # a discussion is never in the future


@pytest.mark.clause("HW-4.2")
async def test_escalating_to_harrow_stage_2_asks_for_the_aim_evidence_and_its_source(
    service: EscalationService,
    clock: FakeClock,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    hw = (await service.execute(harrow_raise())).case
    escalate = form(
        case_card(view_of(hw, harrow, directory, "hana", clock.now)), "Escalate to stage 2"
    )
    for name in ("reason", "aim", "evidence", "evidence_source"):
        item = field(escalate, f"escalate.{name}")
        assert item["isRequired"] is True and item["errorMessage"]
    assert "Where the evidence comes from" in field(escalate, "escalate.evidence_source")["label"]
    # At stage 2 the managers record the basis of their decisions.
    case = await service.case(await harrow_at_stage(service, clock, "2"))
    record = form(
        case_card(view_of(case, harrow, directory, "harry", clock.now)), "Record discussion"
    )
    assert field(record, "record.basis_of_decision")["isRequired"] is True
    # Redbridge asks only for the reason, and offers the policy-issue route to the Chair (RB-4.7).
    rb = (await service.execute(redbridge_raise())).case
    rb_escalate = form(
        case_card(view_of(rb, redbridge, directory, "amara", clock.now)), "Escalate to stage 2"
    )
    assert {i["id"] for i in inputs(rb_escalate)} == {"escalate.reason", "escalate.policy_issue"}


async def test_a_protective_deadline_is_set_on_a_running_protective_clock(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    sub = form(
        case_card(view_of(case, redbridge, directory, "noah", clock.now)),
        "Set protective deadline",
    )
    choice = field(sub, "set_deadline.clock")
    assert [c["value"] for c in choice["choices"]] == ["respond", "resolve"]
    assert "Fri 04 Dec 17:00" in choice["choices"][0]["title"]
    assert field(sub, "set_deadline.reason")["isRequired"] is True
    assert field(sub, "set_deadline.date")["min"] == "2026-12-01"


def test_form_values_reads_back_what_a_form_sent() -> None:
    data = {
        "case_id": "RB-1",
        "version": 4,
        "verb": "escalate",
        "escalate.reason": "No agreement",
        "escalate.aim": "An enquiry",
        "record.summary": "not this form's",
    }
    assert form_values("escalate", data) == {"reason": "No agreement", "aim": "An enquiry"}
    assert form_values("unknown", data) == {}


# -- the end of a case: closing, representations, responses ----------------------------------------


def said(value: Any) -> str:
    """A card's words with the spacing between runs made single."""
    return " ".join(text_of(value).split())


async def test_every_card_at_the_end_of_a_case_is_valid_and_keeps_six_buttons_at_most(
    service: EscalationService,
    clock: FakeClock,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    panel = await harrow_panel(service, clock)
    heard = (
        await service.execute(
            RecordRepresentation(
                actor_id="colin", case_id=panel.id, agency_id="cnwl", summary="Not met"
            )
        )
    ).case
    decided = (
        await service.execute(
            RecordPanelDecision(actor_id="hssp", case_id=panel.id, decision="An enquiry")
        )
    ).case
    hw_resolved = await harrow_resolved(service, clock)
    recommended = await redbridge_recommended(service, clock)
    cases = [
        (panel, harrow),
        (heard, harrow),
        (decided, harrow),
        (hw_resolved, harrow),
        (recommended, redbridge),
    ]
    built: list[Json] = []
    offered: set[str] = set()
    for case, pack in cases:
        for viewer in [*directory.people, "stranger"]:
            view = view_of(case, pack, directory, viewer, clock.now)
            offered |= view.verbs
            card = case_card(view)
            if view.level != ViewLevel.NONE:
                assert card["body"][0] == risk_block(view)  # still leads with the risk
            built += all_cards_for(view)
    assert {CLOSE, REPRESENT, RESPOND} <= offered
    assert len(built) > 200
    for card in built:
        assert_valid(card)


@pytest.mark.clause("HW-learn")
async def test_the_close_form_asks_for_what_the_pack_records_under_its_learning_route(
    service: EscalationService,
    clock: FakeClock,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    case = await harrow_resolved(service, clock)
    card = case_card(view_of(case, harrow, directory, "colin", clock.now))
    assert bar(card) == ["Close the case"]  # resolved: closing is all that is left
    close = form(card, "Close the case")
    assert [i["id"] for i in inputs(close)] == [input_id(CLOSE, f) for f in FORM_FIELDS[CLOSE]]
    assert field(close, "close.summary")["isRequired"] is True
    for name in ("learning_points", "policy_gaps"):
        item = field(close, f"close.{name}")
        assert item["isMultiline"] and not item["isRequired"] and "one per line" in item["label"]
    debrief = field(close, "close.debrief_offered")
    assert debrief["type"] == "Input.Toggle"
    assert (debrief["valueOn"], debrief["valueOff"], debrief["value"]) == ("true", "false", "false")
    # Harrow's learning route is said before the fields that feed it.
    route = harrow.closure.learning_route
    assert route is not None and "HSAB representative" in route
    words = [n for n in close["body"] if n["type"] == "TextBlock"]
    assert [w["text"] for w in words].index(route) == 1
    assert close["body"].index(words[1]) < close["body"].index(field(close, "close.summary"))
    [send] = close["actions"]
    assert send["verb"] == CLOSE
    assert send["data"] == {"case_id": case.id, "version": case.version, "verb": CLOSE}
    # A pack that records no learning asks only for the summary, and says no route.
    bare = harrow.model_copy(
        update={
            "closure": harrow.closure.model_copy(
                update={
                    "learning_points": False,
                    "policy_gaps": False,
                    "debrief_offered": False,
                    "learning_route": None,
                }
            )
        }
    )
    bare_close = form(
        case_card(view_of(case, bare, directory, "hana", clock.now)), "Close the case"
    )
    assert [i["id"] for i in inputs(bare_close)] == ["close.summary"]
    assert "HSAB representative" not in text_of(bare_close)
    only_gaps = harrow.model_copy(
        update={"closure": harrow.closure.model_copy(update={"learning_points": False})}
    )
    gaps_close = form(
        case_card(view_of(case, only_gaps, directory, "hana", clock.now)), "Close the case"
    )
    assert [i["id"] for i in inputs(gaps_close)] == [
        "close.summary",
        "close.policy_gaps",
        "close.debrief_offered",
    ]
    # Redbridge records learning but names no route for it.
    rb_id = (await service.execute(redbridge_raise())).case.id
    await service.execute(discussion("amara", rb_id, clock.now, "resolved"))
    await service.execute(ConfirmOutcome(actor_id="noah", case_id=rb_id, outcome="Agreed"))
    rb = (await service.execute(ApproveOutcome(actor_id="amara", case_id=rb_id))).case
    rb_close = form(
        case_card(view_of(rb, redbridge, directory, "amara", clock.now)), "Close the case"
    )
    assert len(inputs(rb_close)) == 4 and "representative" not in text_of(rb_close)
    # Someone neither acting nor a party sees no Close button.
    assert "Close the case" not in buttons(
        case_card(view_of(rb, redbridge, directory, "lena", clock.now))
    )


@pytest.mark.clause("HW-4.4")
async def test_representations_are_offered_for_the_agencies_each_person_may_speak_for(
    service: EscalationService, clock: FakeClock, harrow: PolicyPack, directory: Directory
) -> None:
    case = await harrow_panel(service, clock)

    def represent_for(viewer: str) -> Json | None:
        card = case_card(view_of(case, harrow, directory, viewer, clock.now))
        if "Record a representation" not in buttons(card):
            return None
        return form(card, "Record a representation")

    # A member of a party agency speaks for their own agency only, chosen already.
    colin = represent_for("colin")
    assert colin is not None
    agency = field(colin, "represent.agency")
    assert [c["value"] for c in agency["choices"]] == ["cnwl"]
    assert agency["value"] == "cnwl" and agency["isRequired"]
    assert field(colin, "represent.summary")["isRequired"] is True
    cara = represent_for("cara")
    assert cara is not None and field(cara, "represent.agency")["value"] == "cnwl"
    hana = represent_for("hana")
    assert hana is not None
    assert [c["value"] for c in field(hana, "represent.agency")["choices"]] == ["harrow-council"]
    # The stage's actors record for either agency; nobody is chosen for them.
    for actor in ("hssp", "hw-chair"):
        sub = represent_for(actor)
        assert sub is not None
        choice = field(sub, "represent.agency")
        assert [c["value"] for c in choice["choices"]] == ["harrow-council", "cnwl"]
        assert "value" not in choice
    # The business manager works for the council but holds a board role: the board stays
    # neutral, so nobody on it speaks for an agency; nor do others (another agency's staff, a
    # stranger).
    for other in ("hw-bm", "noah", "rb-chair", "stranger"):
        assert represent_for(other) is None
    # The card shows the panel and what it heard; the decision binds, once made.
    heard = (
        await service.execute(
            RecordRepresentation(
                actor_id="colin", case_id=case.id, agency_id="cnwl", summary="Threshold not met"
            )
        )
    ).case
    words = said(case_card(view_of(heard, harrow, directory, "hana", clock.now)))
    assert "Resolution panel" in words
    assert "Metropolitan Police Service; London Fire Brigade" in words
    assert "Representation for Central and North West London NHS Foundation Trust" in words
    assert "Threshold not met" in words and "recorded by Colin" in words
    assert "has not decided yet; its decision will be binding" in words
    decided = (
        await service.execute(
            RecordPanelDecision(actor_id="hssp", case_id=case.id, decision="A s42 enquiry opens")
        )
    ).case
    card = case_card(view_of(decided, harrow, directory, "colin", clock.now))
    words = said(card)
    assert "The panel's decision (binding on all agencies concerned): A s42 enquiry opens" in words
    # Decided, the case is resolved: no more representations; closing is what is left.
    assert bar(card) == ["Close the case"]


@pytest.mark.clause("RB-4.9")
async def test_each_party_agency_responds_once_to_the_recommendations_which_do_not_bind(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await redbridge_recommended(service, clock)

    def card_for(viewer: str, shown: Case = case) -> Json:
        return case_card(view_of(shown, redbridge, directory, viewer, clock.now))

    nadia = card_for("nadia")
    assert bar(nadia) == ["Respond to the recommendations"]  # not a party: cannot close
    respond = form(nadia, "Respond to the recommendations")
    assert [i["id"] for i in inputs(respond)] == [
        input_id(RESPOND, f) for f in FORM_FIELDS[RESPOND]
    ]
    agency = field(respond, "respond.agency")
    assert [(c["value"], c["title"]) for c in agency["choices"]] == [
        ("nelft", "NELFT NHS Foundation Trust")
    ]
    assert agency["value"] == "nelft"
    response = field(respond, "respond.response")
    assert [c["value"] for c in response["choices"]] == [
        "accepted",
        "partly_accepted",
        "not_accepted",
    ]
    assert response["isRequired"] and response["style"] == "expanded"
    detail = field(respond, "respond.detail")
    assert not detail["isRequired"] and "unless accepted" in detail["label"]
    assert "not binding" in text_of(respond)
    # The parties may respond for their agency and close; the Chair may close but not respond.
    assert bar(card_for("noah")) == ["Respond to the recommendations", "Close the case"]
    assert bar(card_for("rb-chair")) == ["Close the case"]
    # The Business Manager acts at stage 4 and works for a party agency, but the board stays
    # neutral: it closes the case and never responds for an agency.
    assert bar(card_for("rb-bm")) == ["Close the case"]
    assert buttons(card_for("stranger")) == []
    # The card shows the recommendations as not binding, and who has responded.
    words = said(nadia)
    assert "The Chair's recommendations (not binding)" in words
    assert "1. Joint visit within 3 days" in words and "2. Review the discharge protocol" in words
    assert "London Borough of Redbridge Adult Social Care: not responded yet" in words
    assert "NELFT NHS Foundation Trust: not responded yet" in words
    answered = (
        await service.execute(
            RecordAgencyResponse(
                actor_id="sam",
                case_id=case.id,
                agency_id="redbridge-asc",
                response="partly_accepted",
                detail="The visit, not the review",
            )
        )
    ).case
    words = said(card_for("noah", answered))
    assert (
        "London Borough of Redbridge Adult Social Care: Partly accepted: The visit, not the review"
        in words
    )
    assert "NELFT NHS Foundation Trust: not responded yet" in words
    # Redbridge has answered: nobody from it is offered a response again; NELFT still is.
    for viewer in ("amara", "lena", "sam"):
        assert "Respond to the recommendations" not in buttons(card_for(viewer, answered))
    assert "Respond to the recommendations" in buttons(card_for("nina", answered))


# -- refresh ----------------------------------------------------------------------------------------


async def test_refresh_lists_at_most_60_users_so_each_gets_their_own_view(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    view = view_of(case, redbridge, directory, "amara", clock.now)
    assert case_card(view)["refresh"]["userIds"] == ["amara"]
    many = [f"29:user-{i}" for i in range(100)]
    refresh = case_card(view, user_ids=["29:user-0", *many])["refresh"]
    assert refresh["userIds"] == many[:MAX_REFRESH_USERS]
    assert refresh["action"]["verb"] == "refresh"
    assert refresh["action"]["data"] == {
        "case_id": case.id,
        "version": case.version,
        "verb": "refresh",
    }


# -- times are local, in words ----------------------------------------------------------------------


async def test_deadlines_show_local_time_in_winter_and_summer(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    winter = (await service.execute(redbridge_raise())).case
    view = view_of(winter, redbridge, directory, "amara", clock.now)
    facts_shown = {c.label: c.describe for c in view.clocks}
    assert facts_shown["Receiving professional reviews the file and speaks to the raiser"] == (
        "due Fri 04 Dec 17:00"
    )
    assert facts_shown["Raise the matter with the other professional"].startswith("met")

    clock.set("2026-06-09T09:00:00+00:00")  # Tuesday 9 June 2026, 10:00 BST
    summer = (await service.execute(redbridge_raise(disagreement_date=date(2026, 6, 8)))).case
    view = view_of(summer, redbridge, directory, "amara", clock.now)
    respond = next(c for c in view.clocks if c.clock == "respond")
    assert respond.due == "Fri 12 Jun 17:00"  # 16:00 UTC
    assert respond.due_at.utcoffset() == timedelta(hours=1)
    assert respond.due_at.astimezone(UTC) == datetime(2026, 6, 12, 16, 0, tzinfo=UTC)
    # A deadline held in UTC still shows as local time.
    in_utc = replace(
        summer,
        clocks=tuple(
            replace(c, due=datetime(2026, 6, 12, 16, 0, tzinfo=UTC)) for c in summer.clocks
        ),
    )
    shown = text_of(case_card(view_of(in_utc, redbridge, directory, "amara", clock.now)))
    assert "due Fri 12 Jun 17:00" in shown and "16:00" not in shown
    # A deadline in another year says which.
    next_year = replace(
        summer,
        clocks=tuple(
            replace(c, due=datetime(2027, 1, 4, 17, 0, tzinfo=UTC)) for c in summer.clocks
        ),
    )
    later = view_of(next_year, redbridge, directory, "amara", clock.now)
    assert next(c for c in later.clocks if c.clock == "respond").due == "Mon 04 Jan 2027 17:00"


async def test_an_overdue_clock_is_marked_in_words_and_the_nudge_offers_escalation(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    clock.set("2026-12-07T09:00:00+00:00")  # respond was due Friday 4 December
    view = view_of(case, redbridge, directory, "amara", clock.now)
    card = case_card(view)
    assert "due Fri 04 Dec 17:00 — overdue" in text_of(card)
    assert view.next_due is not None and view.next_due.overdue
    label = "Receiving professional reviews the file and speaks to the raiser"

    overdue = nudge_card(view, label, "overdue")
    assert text_of(overdue["body"][1]).startswith(f"Overdue: {label} was due Fri 04 Dec 17:00")
    assert buttons(overdue) == ["Escalate to stage 2", "Open the case"]
    early = nudge_card(view, "respond", "early_warning")  # by clock id too
    assert buttons(early) == ["Open the case"]
    assert text_of(early["body"][1]) == f"Due soon: {label}, due Fri 04 Dec 17:00."
    today = nudge_card(view, label, "due_today")
    assert text_of(today["body"][1]) == f"Due today at 17:00: {label}."
    # Amara's manager is told, but does not act at stage 1: no Escalate for her.
    lena = view_of(case, redbridge, directory, "lena", clock.now)
    manager = nudge_card(lena, label, "overdue_manager")
    assert "as a manager" in text_of(manager) and buttons(manager) == ["Open the case"]
    with pytest.raises(ValueError, match="unknown nudge kind"):
        nudge_card(view, label, "whenever")  # type: ignore[arg-type]


# -- outcome cards ----------------------------------------------------------------------------------


async def test_the_replacing_cards_say_what_happened_or_why_nothing_changed(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    view = view_of(case, redbridge, directory, "amara", clock.now)
    done = done_card(view, "Record R1 is saved.", user_ids=["29:amara"])
    assert text_of(done["body"][1]) == "Done: Record R1 is saved."
    assert done["refresh"]["userIds"] == ["29:amara"]
    assert "Record discussion" in buttons(done)

    stale = refusal_card(view, "the case has changed since you saw it.")
    assert text_of(stale["body"][1]) == "Nothing changed: the case has changed since you saw it."
    assert "Risk to the adult" in text_of(stale["body"][0])
    unknown = refusal_card(None, "there is no case RB-2026-9999.")
    assert "Nothing changed: there is no case RB-2026-9999." in text_of(unknown)
    assert actions(unknown) == [] and "refresh" not in unknown
    # An unauthorised person's refusal shows the case without buttons.
    stranger = refusal_card(
        view_of(case, redbridge, directory, "stranger", clock.now), "you may not act here."
    )
    assert buttons(stranger) == []


# -- the business manager's copy --------------------------------------------------------------------


@pytest.mark.clause("RB-4.6")
async def test_the_business_manager_copy_is_read_only_and_names_no_adult(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    raised = (await service.execute(redbridge_raise(adult_initials="QZX"))).case
    case_id = raised.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    clock.set("2026-12-04T10:00:00+00:00")
    await service.execute(
        discussion("nadia", case_id, clock.now, "not_resolved", participants=("lena", "nadia"))
    )
    await service.execute(Escalate(actor_id="lena", case_id=case_id, reason="Managers disagree"))
    case = await service.case(case_id)
    assert case.stage == "3" and case.copied_to_business_manager
    # Read-only whoever's view it is built from, even a senior manager who may act.
    for viewer in ("sam", "nina", "rb-bm"):
        view = view_of(case, redbridge, directory, viewer, clock.now)
        copy = business_manager_copy_card(view, "the case reached stage 3")
        assert_valid(copy)
        assert actions(copy) == [] and "refresh" not in copy and "actions" not in copy
        assert inputs(copy) == []
        assert not [n for n in nodes(copy) if n.get("type") == "ActionSet"]
    assert view_of(case, redbridge, directory, "sam", clock.now).verbs
    words = text_of(copy)
    assert words.startswith("Risk to the adult")
    for shown in (case_id, "Redbridge Safeguarding Adults Board", "NELFT NHS Foundation Trust"):
        assert shown in words
    assert "ASC-104233" in words  # the agency's case reference, and nothing else of the adult
    assert "Senior managers resolve the disagreement" in words
    dumped = json.dumps(copy)
    for hidden in ("QZX", "Amara", "Noah", "Lena", "Nadia", "Community nursing declined"):
        assert hidden not in dumped
    assert "name" not in {f["title"].lower() for n in nodes(copy) for f in n.get("facts", [])}


# -- welcome and signposts --------------------------------------------------------------------------


@pytest.mark.clause("RB-1.5")
def test_the_welcome_card_says_what_the_bot_does_and_where_complaints_go(
    redbridge: PolicyPack, harrow: PolicyPack
) -> None:
    card = welcome_card(
        [redbridge.board.name, harrow.board.name], [*redbridge.signposts, *harrow.signposts]
    )
    words = text_of(card)
    assert words.startswith("The adult's safety comes first")
    # The order to call 999 keeps the condition it applies under.
    danger = redbridge.signpost("immediate-danger")
    assert danger is not None
    assert f"**{danger.title}:** {danger.text}" in words
    complaints = redbridge.signpost("complaints")
    assert complaints is not None and complaints.text in words
    # Said once, in the pack's words.
    assert words.count("This is not a complaints process") == 1
    assert NOT_A_COMPLAINTS_PROCESS in text_of(welcome_card([], []))
    assert "Redbridge Safeguarding Adults Board or Harrow Safeguarding Adults Board" in words
    assert buttons(card) == ["Raise a disagreement", "My cases", "Help"]
    assert [a["data"] for a in card["actions"]] == [
        {"verb": "raise"},
        {"verb": "my_cases"},
        {"verb": "help"},
    ]


@pytest.mark.clause("RB-1.6")
def test_the_mash_signpost_shows_the_referral_route_and_contact(redbridge: PolicyPack) -> None:
    mash = redbridge.signpost("mash")
    assert mash is not None
    card = signpost_card(mash)
    words = text_of(card)
    assert words.startswith("A concern about a child or young person")
    assert "Multi-Agency Safeguarding Hub (MASH)" in words
    assert "CPAT.Referrals@redbridge.gov.uk" in words and "CPAT.Referrals" in card["fallbackText"]


@pytest.mark.clause("HW-0w")
def test_the_whistle_blowing_signpost_for_a_disagreement_with_your_own_manager(
    harrow: PolicyPack,
) -> None:
    whistle = harrow.signpost("whistleblowing")
    assert whistle is not None
    words = text_of(signpost_card(whistle))
    assert "A disagreement with your own manager" in words
    assert "whistle-blowing process" in words


@pytest.mark.clause("HW-7")
def test_the_raise_a_concern_signpost_shows_the_contacts(harrow: PolicyPack) -> None:
    concern = harrow.signpost("raise-concern")
    assert concern is not None and len(concern.contacts) == 2
    card = signpost_card(concern)
    words = text_of(card)
    for contact in concern.contacts:
        assert contact in words
    assert "020 8901 2680" in card["speak"]


def test_the_immediate_danger_signpost_says_call_999(redbridge: PolicyPack) -> None:
    danger = redbridge.signpost("immediate-danger")
    assert danger is not None
    words = text_of(signpost_card(danger))
    assert words.startswith("If the adult is in immediate danger Call 999 now.")
    assert words.count("999") == 1  # no second reminder on this one


async def test_the_summary_card_is_valid_and_holds_counts_only(
    service: Any, redbridge: PolicyPack
) -> None:
    from datetime import date

    from cards.summary_card import summary_card
    from reports.figures import board_report
    from testkit.builders import redbridge_raise

    opened = await service.execute(redbridge_raise(immediate_risk=True))
    report = board_report([opened.case], redbridge, start=date(2026, 4, 1), end=date(2026, 12, 31))
    built = summary_card(
        report, title="Year to date", report_url="https://bot.example.org/reports/x"
    )
    assert_valid(built)
    words = text_of(built)
    assert "Cases raised" in words and "Immediate risk" in words
    assert opened.case.adult_reference not in json.dumps(built)
    assert [a["title"] for a in built["actions"]] == ["Open the full report"]
