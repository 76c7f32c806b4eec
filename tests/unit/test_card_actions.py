"""From a card's action to a command for the core, and on to a saved change.

`parse_action` reads what Teams sends (an `Action.Execute` invoke, or the `Action.Submit`
fallback), `command_for` turns it into a command, and the core decides. The last tests click the
buttons of real case cards and run the commands through a real `EscalationService`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.card_actions import CardAction, CardActionError, command_for, parse_action
from cards.case_card import FORM_FIELDS, case_card, input_id
from cards.checks import actions, inputs, nodes
from cards.elements import Json
from cards.views import (
    APPROVE_OUTCOME,
    APPROVE_RECORD,
    ASK_LEAD,
    CASE_VERBS,
    CLOSE,
    CONFIRM_OUTCOME,
    CONVENE_PANEL,
    DECIDE,
    ESCALATE,
    MILESTONE,
    RECOMMEND,
    RECORD,
    REFRESH,
    REPRESENT,
    RESPOND,
    SET_DEADLINE,
    case_view,
)
from escalation.case import Case, CaseStatus
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CaseCommand,
    CloseCase,
    ConfirmOutcome,
    ConvenePanel,
    Escalate,
    RecordAgencyResponse,
    RecordDiscussion,
    RecordMilestone,
    RecordPanelDecision,
    RecordRecommendations,
    RecordRepresentation,
    SetProtectiveDeadline,
)
from escalation.directory import Directory
from escalation.errors import RefusalCode, Refused
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import harrow_raise, redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.scenarios import at_stage_2, at_stage_3, harrow_at_stage

LONDON = ZoneInfo("Europe/London")
CASE_ID = "RB-2026-0001"
VERSION = 7


def execute_value(data: Mapping[str, Any]) -> dict[str, Any]:
    """What Teams sends for an `Action.Execute`: the inputs merged into the action's data."""
    return {
        "action": {"type": "Action.Execute", "verb": data.get("verb"), "data": dict(data)},
        "trigger": "manual",
    }


def card_data(verb: str, form: Mapping[str, str] = {}, **extra: Any) -> dict[str, Any]:
    """An action's data as a card sends it: ids, version, verb, and `<verb>.<field>` inputs."""
    data: dict[str, Any] = {"case_id": CASE_ID, "version": VERSION, "verb": verb, **extra}
    data.update({input_id(verb, name): value for name, value in dict(form).items()})
    return data


def command_of(verb: str, form: Mapping[str, str] = {}, **extra: Any) -> CaseCommand:
    action = parse_action(execute_value(card_data(verb, form, **extra)))
    return command_for(action, "amara", LONDON)


# -- reading the action -----------------------------------------------------------------------------


def test_an_execute_invoke_is_read_from_its_action() -> None:
    data = card_data(CLOSE, {"summary": "Done"})
    action = parse_action(execute_value(data))
    assert isinstance(action, CardAction)
    assert (action.verb, action.case_id, action.version) == (CLOSE, CASE_ID, VERSION)
    assert action.data["close.summary"] == "Done"


def test_a_submit_fallback_carries_the_verb_in_its_data() -> None:
    data = card_data(RESPOND, {"agency": "nelft", "response": "accepted"})
    action = parse_action(data)
    assert (action.verb, action.case_id, action.version) == (RESPOND, CASE_ID, VERSION)
    # Both shapes give the same command.
    assert command_for(action, "nadia", LONDON) == command_for(
        parse_action(execute_value(data)), "nadia", LONDON
    )


def test_a_version_sent_as_text_is_read_and_a_refresh_needs_none() -> None:
    assert parse_action(card_data(CLOSE, version="12")).version == 12
    refresh = parse_action({"verb": REFRESH, "case_id": CASE_ID})
    assert (refresh.verb, refresh.version) == (REFRESH, None)


MALFORMED: dict[str, tuple[object, str]] = {
    "nothing": (None, "nothing I understand"),
    "text": ("close", "nothing I understand"),
    "a list": ([card_data(CLOSE)], "nothing I understand"),
    "no verb": ({"case_id": CASE_ID, "version": VERSION}, "no verb"),
    "a verb that is not text": (execute_value({**card_data(CLOSE), "verb": 3}), "no verb"),
    "data that is not an object": (
        {"action": {"type": "Action.Execute", "verb": CLOSE, "data": "RB-1"}},
        "no verb",
    ),
    "no case id": ({"verb": CLOSE, "version": VERSION}, "does not name a case"),
    "an empty case id": (card_data(CLOSE, case_id=""), "does not name a case"),
    "a case id that is not text": (card_data(CLOSE, case_id=42), "does not name a case"),
    # Not a case id the core makes; storage would refuse it as a key.
    "a case id with a slash": (card_data(CLOSE, case_id="RB/2026"), "does not name a case"),
    "a case id with a newline": (card_data(CLOSE, case_id="RB-2026\n"), "does not name a case"),
    "a case id too long": (card_data(CLOSE, case_id="R" * 65), "does not name a case"),
    "no version": ({"verb": CLOSE, "case_id": CASE_ID}, "which version"),
    "a version of words": (card_data(CLOSE, version="seven"), "which version"),
    "a version that is a flag": (card_data(CLOSE, version=True), "which version"),
    "a fractional version": (card_data(CLOSE, version=2.5), "which version"),
    "a negative version": (card_data(CLOSE, version="-1"), "which version"),
    "a null version": (card_data(CLOSE, version=None), "which version"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_action_is_refused_before_anything_changes(name: str) -> None:
    value, reason = MALFORMED[name]
    with pytest.raises(CardActionError, match=reason):
        parse_action(value)


def test_an_unknown_verb_is_refused() -> None:
    action = parse_action(card_data("delete_case"))
    with pytest.raises(CardActionError, match="do not know the action 'delete_case'"):
        command_for(action, "amara", LONDON)


def test_approving_a_record_needs_the_record_id() -> None:
    with pytest.raises(CardActionError, match="which record"):
        command_of(APPROVE_RECORD)
    assert command_of(APPROVE_RECORD, record_id="R2") == ApproveRecord(
        actor_id="amara", case_id=CASE_ID, record_id="R2", expected_version=VERSION
    )


RECORD_FORM = {
    "held_date": "2026-12-01",
    "held_time": "10:30",
    "participants": "Amara",
    "summary": "Talked",
    "outcome": "continuing",
}

BAD_MOMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "no date of the discussion": (RECORD, {**RECORD_FORM, "held_date": ""}),
    "an impossible date": (RECORD, {**RECORD_FORM, "held_date": "2026-02-30"}),
    "a date in words": (RECORD, {**RECORD_FORM, "held_date": "yesterday"}),
    "an impossible time": (RECORD, {**RECORD_FORM, "held_time": "25:00"}),
    "no time": (RECORD, {k: v for k, v in RECORD_FORM.items() if k != "held_time"}),
    "no deadline date": (SET_DEADLINE, {"clock": "respond", "time": "17:00", "reason": "x"}),
    "a deadline date in words": (
        SET_DEADLINE,
        {"clock": "respond", "date": "Friday", "time": "17:00", "reason": "x"},
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_MOMENTS))
def test_a_bad_date_or_time_is_refused(name: str) -> None:
    verb, form = BAD_MOMENTS[name]
    with pytest.raises(CardActionError, match="as a date and a time"):
        command_of(verb, form)


def test_a_moment_outside_the_years_any_case_spans_is_refused() -> None:
    # As on the command line (escalation.moments): working days counted from year 9999 would
    # run past what a date can hold.
    form = {"clock": "respond", "date": "9999-12-31", "time": "17:00", "reason": "x"}
    with pytest.raises(CardActionError) as refused:
        command_of(SET_DEADLINE, form)
    assert str(refused.value) == "The deadline is outside the years 1900 to 2999."


# A card sends its inputs as text; anything else is refused, never stored as Python's text for it.
NOT_TEXT: dict[str, object] = {
    "a list": ["a"],
    "an object": {"a": 1},
    "a number": 5,
    "a flag": True,
}


@pytest.mark.parametrize("kind", sorted(NOT_TEXT))
@pytest.mark.parametrize(
    ("verb", "field"), [(verb, field) for verb, fields in FORM_FIELDS.items() for field in fields]
)
def test_a_form_input_that_is_not_text_is_refused(verb: str, field: str, kind: str) -> None:
    data = card_data(verb, RECORD_FORM if verb == RECORD else {})
    data[input_id(verb, field)] = NOT_TEXT[kind]
    label = field.replace("_", " ")
    with pytest.raises(CardActionError, match=f"the {label} in a form I cannot read"):
        command_for(parse_action(execute_value(data)), "amara", LONDON)


def test_the_inputs_the_issue_names_are_refused() -> None:
    for field, value in (("summary", ["a"]), ("summary", {"a": 1}), ("participants", 5)):
        data = card_data(RECORD, {**RECORD_FORM, field: value})  # type: ignore[dict-item]
        with pytest.raises(CardActionError, match="cannot read"):
            command_for(parse_action(execute_value(data)), "amara", LONDON)
    # Null is an input left empty, as before.
    data = card_data(RECORD, {**RECORD_FORM, "points_of_difference": None})  # type: ignore[dict-item]
    assert isinstance(command_for(parse_action(data), "amara", LONDON), RecordDiscussion)


# -- every verb to its command ----------------------------------------------------------------------

COMMON: dict[str, Any] = {"actor_id": "amara", "case_id": CASE_ID, "expected_version": VERSION}

# verb: (the form as typed, extra action data, the command it must give)
MAPPINGS: dict[str, tuple[dict[str, str], dict[str, str], CaseCommand]] = {
    RECORD: (
        {
            "held_date": "2026-12-01",
            "held_time": "10:30",
            "method": "phone",
            "participants": "Amara, Noah ,, Lena ",
            "summary": "Talked it through",
            "points_of_difference": "Timing",
            "outcome": "resolved",
            "agreed_outcome": "Joint visit on Friday",
            "outstanding_issues": "The care review",
            "basis_of_decision": "Risk of falls",
        },
        {},
        RecordDiscussion(
            **COMMON,
            held_at=datetime(2026, 12, 1, 10, 30, tzinfo=UTC),
            participants=("Amara", "Noah", "Lena"),
            method="phone",
            summary="Talked it through",
            points_of_difference="Timing",
            outcome="resolved",
            agreed_outcome="Joint visit on Friday",
            outstanding_issues="The care review",
            basis_of_decision="Risk of falls",
        ),
    ),
    APPROVE_RECORD: ({}, {"record_id": "R1"}, ApproveRecord(**COMMON, record_id="R1")),
    MILESTONE: (
        {},
        {"clock_id": "plan", "milestone.note.plan": "Agreed by phone"},
        RecordMilestone(**COMMON, clock_id="plan", note="Agreed by phone"),
    ),
    ESCALATE: (
        {
            "reason": "No agreement",
            "aim": "An enquiry",
            "evidence": "A report",
            "evidence_source": "A visit",
            "policy_issue": "true",
        },
        {},
        Escalate(
            **COMMON,
            reason="No agreement",
            aim="An enquiry",
            evidence="A report",
            evidence_source="A visit",
            policy_issue=True,
        ),
    ),
    SET_DEADLINE: (
        {"clock": "respond", "date": "2026-06-11", "time": "12:00", "reason": "Protects her"},
        {},
        SetProtectiveDeadline(
            **COMMON,
            clock_id="respond",
            due=datetime(2026, 6, 11, 11, 0, tzinfo=UTC),  # 12:00 BST
            reason="Protects her",
        ),
    ),
    ASK_LEAD: (
        {"question": "Who decides?"},
        {},
        AskSafeguardingLead(**COMMON, question="Who decides?"),
    ),
    CONFIRM_OUTCOME: (
        {"outcome": "Joint visit", "outstanding_issues": "None"},
        {},
        ConfirmOutcome(**COMMON, outcome="Joint visit", outstanding_issues="None"),
    ),
    APPROVE_OUTCOME: ({}, {}, ApproveOutcome(**COMMON)),
    RECOMMEND: (
        {"recommendations": "Joint visit within 3 days\r\n\n  Review the protocol  \n"},
        {},
        RecordRecommendations(
            **COMMON, recommendations=("Joint visit within 3 days", "Review the protocol")
        ),
    ),
    CONVENE_PANEL: (
        {"agency_ids": "met-police,lfb, probation"},
        {},
        ConvenePanel(**COMMON, agency_ids=("met-police", "lfb", "probation")),
    ),
    DECIDE: ({"decision": "An enquiry"}, {}, RecordPanelDecision(**COMMON, decision="An enquiry")),
    REPRESENT: (
        {"agency": "cnwl", "summary": "Threshold not met"},
        {},
        RecordRepresentation(**COMMON, agency_id="cnwl", summary="Threshold not met"),
    ),
    RESPOND: (
        {"agency": "nelft", "response": "partly_accepted", "detail": "The visit only"},
        {},
        RecordAgencyResponse(
            **COMMON, agency_id="nelft", response="partly_accepted", detail="The visit only"
        ),
    ),
    CLOSE: (
        {
            "summary": "Resolved at stage 1",
            "learning_points": "Share the falls log sooner\r\n\nInvite the GP\n",
            "policy_gaps": "No joint-visit protocol",
            "debrief_offered": "true",
        },
        {},
        CloseCase(
            **COMMON,
            summary="Resolved at stage 1",
            learning_points=("Share the falls log sooner", "Invite the GP"),
            policy_gaps=("No joint-visit protocol",),
            debrief_offered=True,
        ),
    ),
}


def test_every_case_verb_is_mapped_and_each_form_field_is_one_the_card_sends() -> None:
    assert set(MAPPINGS) == set(CASE_VERBS)
    for verb, (form, _, _) in MAPPINGS.items():
        assert set(form) <= set(FORM_FIELDS.get(verb, ())), verb


@pytest.mark.parametrize("verb", sorted(MAPPINGS))
def test_each_verb_gives_its_command_with_the_fields_the_form_sent(verb: str) -> None:
    form, extra, expected = MAPPINGS[verb]
    command = command_of(verb, form, **extra)
    assert command == expected
    assert type(command) is type(expected)
    # Inputs of another form on the same card are never read.
    others = {
        input_id(other, name): "not this form's"
        for other, names in FORM_FIELDS.items()
        if other != verb
        for name in names
    }
    noisy = {**others, **card_data(verb, form, **extra)}
    assert command_for(parse_action(execute_value(noisy)), "amara", LONDON) == expected


@pytest.mark.parametrize(
    ("day", "at", "utc"),
    [
        ("2026-12-01", "10:30", datetime(2026, 12, 1, 10, 30, tzinfo=UTC)),  # GMT
        ("2026-06-09", "10:30", datetime(2026, 6, 9, 9, 30, tzinfo=UTC)),  # BST
        ("2026-03-29", "03:30", datetime(2026, 3, 29, 2, 30, tzinfo=UTC)),  # the first BST hour
        ("2026-10-25", "00:30", datetime(2026, 10, 24, 23, 30, tzinfo=UTC)),  # before it ends
    ],
)
def test_the_time_of_a_discussion_is_local_to_the_board(day: str, at: str, utc: datetime) -> None:
    command = command_of(RECORD, {**RECORD_FORM, "held_date": day, "held_time": at})
    assert isinstance(command, RecordDiscussion)
    assert command.held_at == utc
    assert command.held_at.tzinfo == LONDON
    expected_offset = (
        timedelta(hours=1) if date(2026, 3, 29) <= utc.date() < date(2026, 10, 25) else timedelta(0)
    )
    assert command.held_at.utcoffset() == expected_offset


FLAGS = [("true", True), ("TRUE", True), ("false", False), ("", False), (None, False)]


@pytest.mark.parametrize(("sent", "flag"), FLAGS)
def test_the_toggles_are_true_only_when_ticked(sent: str | None, flag: bool) -> None:
    escalate: dict[str, str] = {"reason": "No agreement"}
    close: dict[str, str] = {"summary": "Done"}
    if sent is not None:
        escalate["policy_issue"] = sent
        close["debrief_offered"] = sent
    escalation = command_of(ESCALATE, escalate)
    closing = command_of(CLOSE, close)
    assert isinstance(escalation, Escalate) and escalation.policy_issue is flag
    assert isinstance(closing, CloseCase) and closing.debrief_offered is flag


def test_a_form_left_empty_gives_empty_fields_for_the_core_to_refuse() -> None:
    assert command_of(CLOSE) == CloseCase(**COMMON, summary="")
    assert command_of(RESPOND) == RecordAgencyResponse(
        **COMMON,
        agency_id="",
        response="",  # type: ignore[arg-type]  # the core refuses an unknown response
    )
    assert command_of(REPRESENT) == RecordRepresentation(**COMMON, agency_id="", summary="")


# -- round trips: click a real card, save the change ------------------------------------------------


def click(
    card: Json, verb: str, typed: Mapping[str, str] = {}, *, record_id: str | None = None
) -> dict[str, Any]:
    """What Teams sends when a person fills in the card's form for `verb` and clicks.

    Inputs keep the value the card set unless `typed` (by field name) replaces it; every typed
    field must be an input of that form, and a choice must be one the card offers.
    """
    typed = dict(typed)
    for node in nodes(card):
        if node.get("type") == "Action.ShowCard":
            sub = node["card"]
            found = [a for a in sub["actions"] if a.get("verb") == verb]
            if found:
                return _fill(found[0], inputs(sub), verb, typed)
    for action in actions(card):
        if (
            action["type"] == "Action.Execute"
            and action["verb"] == verb
            and (record_id is None or action["data"].get("record_id") == record_id)
        ):
            return _fill(action, [], verb, typed)
    raise AssertionError(f"the card offers no {verb!r} action")


def _fill(action: Json, form: list[Json], verb: str, typed: dict[str, str]) -> dict[str, Any]:
    ids = {i["id"] for i in form}
    unknown = {input_id(verb, name) for name in typed} - ids
    assert not unknown, f"the {verb} form has no {sorted(unknown)}"
    data: dict[str, Any] = dict(action["data"])
    for item in form:
        name = item["id"].split(".", 1)[1]
        value = typed.get(name, item.get("value"))
        if value is None:
            continue
        if item["type"] == "Input.ChoiceSet":
            offered = {c["value"] for c in item["choices"]}
            assert set(str(value).split(",")) <= offered, f"{value!r} is not offered"
        data[item["id"]] = value
    return execute_value(data)


class Teams:
    """People at their case cards: each opens the card, fills in a form and clicks."""

    def __init__(
        self,
        service: EscalationService,
        packs: Mapping[str, PolicyPack],
        directory: Directory,
        clock: FakeClock,
    ) -> None:
        self.service = service
        self.packs = packs
        self.directory = directory
        self.clock = clock

    def card(self, case: Case, viewer: str) -> Json:
        view = case_view(
            case, self.packs[case.board_id], self.directory, now=self.clock.now, viewer_id=viewer
        )
        return case_card(view)

    async def act(
        self,
        case_id: str,
        actor: str,
        verb: str,
        typed: Mapping[str, str] = {},
        *,
        record_id: str | None = None,
        card: Json | None = None,
    ) -> Case:
        """`actor` clicks `verb` on the case card (theirs as it stands, or `card`): the saved case."""
        case = await self.service.case(case_id)
        pack = self.packs[case.board_id]
        value = click(card or self.card(case, actor), verb, typed, record_id=record_id)
        command = command_for(parse_action(value), actor, ZoneInfo(pack.calendar.timezone))
        return (await self.service.execute(command)).case


@pytest.fixture
def teams(
    make_service: Callable[..., EscalationService],
    clock: FakeClock,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
) -> Teams:
    return Teams(make_service(), {"redbridge": redbridge, "harrow": harrow}, directory, clock)


async def test_a_redbridge_case_walks_from_its_first_card_to_closure(
    teams: Teams, clock: FakeClock
) -> None:
    service, act = teams.service, teams.act
    case_id = (await service.execute(redbridge_raise())).case.id  # Tue 1 Dec 2026, 10:00 GMT

    case = await act(
        case_id,
        "noah",
        SET_DEADLINE,
        {"clock": "respond", "date": "2026-12-03", "time": "12:00", "reason": "Falls risk"},
    )
    respond = case.running_clock("1", "respond")
    assert respond is not None and respond.protective_due == datetime(2026, 12, 3, 12, tzinfo=UTC)
    assert respond.protective_reason == "Falls risk"

    clock.set("2026-12-01T11:00:00+00:00")
    # The card's own date and time (now, local) are kept: only the rest is typed.
    case = await act(
        case_id,
        "amara",
        RECORD,
        {
            "participants": "Amara, Noah",
            "summary": "Agreed a joint visit",
            "outcome": "resolved",
            "agreed_outcome": "Joint visit on Friday",
        },
    )
    [record] = case.records
    assert record.held_at == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    assert (record.participants, record.method, record.outcome) == (
        ("Amara", "Noah"),
        "meeting",
        "resolved",
    )

    case = await act(case_id, "noah", APPROVE_RECORD, record_id="R1")
    assert [a.by for a in case.records[0].approvals] == ["noah"]
    case = await act(case_id, "noah", CONFIRM_OUTCOME, {"outcome": "Joint visit on Friday"})
    assert case.outcome is not None and case.outcome.by == "noah"
    case = await act(case_id, "amara", APPROVE_OUTCOME)
    assert case.status == CaseStatus.RESOLVED

    case = await act(
        case_id,
        "amara",
        CLOSE,
        {
            "summary": "Resolved at stage 1",
            "learning_points": "Share the falls log sooner\nInvite the GP",
            "debrief_offered": "true",
        },
    )
    assert case.status == CaseStatus.CLOSED and case.closure is not None
    assert case.closure.summary == "Resolved at stage 1"
    assert case.closure.learning_points == ("Share the falls log sooner", "Invite the GP")
    assert case.closure.policy_gaps == () and case.closure.debrief_offered is True


async def test_a_card_clicked_after_the_case_moved_on_is_refused_as_stale(
    teams: Teams, clock: FakeClock
) -> None:
    service, act = teams.service, teams.act
    case = (await service.execute(redbridge_raise())).case
    old_card = teams.card(case, "amara")
    clock.set("2026-12-01T11:00:00+00:00")
    typed = {"participants": "Amara", "summary": "Spoke", "outcome": "continuing"}
    await act(case.id, "noah", RECORD, typed)
    with pytest.raises(Refused) as refused:
        await act(case.id, "amara", RECORD, typed, card=old_card)
    assert refused.value.code == RefusalCode.STALE
    assert len((await service.case(case.id)).records) == 1


@pytest.mark.clause("RB-4.7")
async def test_a_policy_issue_ticked_on_the_card_goes_straight_to_the_chair(teams: Teams) -> None:
    service, act = teams.service, teams.act
    case_id = (await service.execute(redbridge_raise())).case.id
    case = await act(
        case_id, "amara", ESCALATE, {"reason": "The discharge protocol", "policy_issue": "true"}
    )
    assert case.stage == "4" and case.stages[-1].policy_issue


async def test_a_question_for_the_safeguarding_lead_goes_from_the_card(
    teams: Teams, clock: FakeClock
) -> None:
    service, act = teams.service, teams.act
    case_id = await at_stage_2(service, clock)
    case = await act(case_id, "lena", ASK_LEAD, {"question": "Is a joint visit needed?"})
    [asked] = case.advice_requests
    assert (asked.by, asked.question) == ("lena", "Is a joint visit needed?")
    assert "sgl-asc" in asked.advisers


async def test_a_discussion_held_in_summer_is_saved_in_utc(teams: Teams, clock: FakeClock) -> None:
    service, act = teams.service, teams.act
    clock.set("2026-06-09T09:00:00+00:00")  # 10:00 BST
    case_id = (await service.execute(redbridge_raise(disagreement_date=date(2026, 6, 8)))).case.id
    typed = {"held_time": "09:30", "participants": "Amara", "summary": "x", "outcome": "continuing"}
    case = await act(case_id, "amara", RECORD, typed)
    assert case.records[0].held_at == datetime(2026, 6, 9, 8, 30, tzinfo=UTC)


@pytest.mark.clause("RB-4.9")
async def test_the_chair_recommends_and_each_agency_responds_from_its_card(
    teams: Teams, clock: FakeClock
) -> None:
    service, act = teams.service, teams.act
    case_id = await at_stage_3(service, clock)
    clock.set("2026-12-08T16:00:00+00:00")
    case = await act(case_id, "sam", ESCALATE, {"reason": "Heads of Service could not agree"})
    assert case.stage == "4"
    clock.set("2026-12-11T10:00:00+00:00")
    case = await act(
        case_id,
        "rb-chair",
        RECOMMEND,
        {"recommendations": "Joint visit within 3 days\r\n\nReview the discharge protocol\n"},
    )
    assert case.recommendations is not None
    assert case.recommendations.items == (
        "Joint visit within 3 days",
        "Review the discharge protocol",
    )
    assert case.status == CaseStatus.RESOLVED and not case.recommendations.binding

    # Not accepting needs a reason: the card lets it through, the core refuses it.
    with pytest.raises(Refused) as refused:
        await act(case_id, "nadia", RESPOND, {"response": "not_accepted"})
    assert refused.value.code == RefusalCode.INVALID_INPUT
    # The agency is the responder's own, chosen already on the card.
    case = await act(
        case_id, "nadia", RESPOND, {"response": "partly_accepted", "detail": "The visit only"}
    )
    case = await act(case_id, "sam", RESPOND, {"response": "accepted"})
    assert [(r.agency_id, r.by, r.response, r.detail) for r in case.agency_responses] == [
        ("nelft", "nadia", "partly_accepted", "The visit only"),
        ("redbridge-asc", "sam", "accepted", ""),
    ]
    case = await act(case_id, "rb-chair", CLOSE, {"summary": "Recommendations answered"})
    assert case.status == CaseStatus.CLOSED


@pytest.mark.clause("HW-4.4", "HW-learn")
async def test_the_panel_hears_each_agency_decides_and_the_case_closes_with_its_learning(
    teams: Teams, clock: FakeClock, repository: InMemoryCaseRepository
) -> None:
    service, act = teams.service, teams.act
    case_id = await harrow_at_stage(service, clock, "4")
    case = await act(case_id, "hssp", CONVENE_PANEL, {"agency_ids": "met-police,lfb,probation"})
    assert case.panel is not None and case.panel.agency_ids == ("met-police", "lfb", "probation")

    # A member of a party agency speaks for their own (chosen already on the card) ...
    case = await act(case_id, "colin", REPRESENT, {"summary": "Threshold not met"})
    # ... and the panel's Chair, acting at the stage, records for the other agency.
    case = await act(
        case_id, "hssp", REPRESENT, {"agency": "harrow-council", "summary": "Fire risk is high"}
    )
    assert [(r.agency_id, r.by, r.summary) for r in case.representations] == [
        ("cnwl", "colin", "Threshold not met"),
        ("harrow-council", "hssp", "Fire risk is high"),
    ]
    case = await act(case_id, "hssp", DECIDE, {"decision": "A section 42 enquiry opens"})
    assert case.status == CaseStatus.RESOLVED
    assert case.panel is not None and case.panel.decision == "A section 42 enquiry opens"

    case = await act(
        case_id,
        "hana",
        CLOSE,
        {
            "summary": "Enquiry opened on the panel's decision",
            "learning_points": "Threshold guidance unclear on hoarding\n",
            "policy_gaps": "No hoarding protocol\r\nNo fire-risk referral route",
            "debrief_offered": "true",
        },
    )
    closure = case.closure
    assert case.status == CaseStatus.CLOSED and closure is not None
    assert closure.learning_points == ("Threshold guidance unclear on hoarding",)
    assert closure.policy_gaps == ("No hoarding protocol", "No fire-risk referral route")
    assert closure.debrief_offered is True
    [closed] = [e for e in repository.events[case_id] if e.type == "CaseClosed"]
    assert "HSAB representative" in closed.data["learning_route"]


@pytest.mark.clause("HW-learn")
async def test_a_debrief_left_unticked_is_saved_as_not_offered(
    teams: Teams, clock: FakeClock
) -> None:
    service, act = teams.service, teams.act
    case_id = (await service.execute(harrow_raise())).case.id
    await act(
        case_id,
        "hana",
        RECORD,
        {
            "participants": "Hana, Colin",
            "summary": "Agreed",
            "points_of_difference": "Threshold",
            "outcome": "resolved",
            "agreed_outcome": "Referral reopened",
        },
    )
    await act(case_id, "colin", CONFIRM_OUTCOME, {"outcome": "Referral reopened"})
    await act(case_id, "hana", APPROVE_OUTCOME)
    case = await act(case_id, "colin", CLOSE, {"summary": "Resolved at stage 1"})
    assert case.closure is not None and case.closure.debrief_offered is False
    assert case.closure.learning_points == () and case.closure.by == "colin"
