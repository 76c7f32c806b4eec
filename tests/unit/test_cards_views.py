"""The case view: what a card shows of a case, and the buttons it offers.

Which view a person gets and which verbs they may use are decided in `escalation.access`, which
the rules ask too; `test_verbs_property` checks along random walks that a button is offered
exactly when the rules accept the command, and `test_access` the views per role and stage.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cards.case_card import case_card
from cards.views import (
    APPROVE_RECORD,
    ASK_LEAD,
    CLOSE,
    ESCALATE,
    ViewLevel,
    case_view,
)
from escalation.case import Case
from escalation.commands import (
    ApproveOutcome,
    CloseCase,
    ConfirmOutcome,
    OtherParty,
)
from escalation.directory import Directory
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import discussion, redbridge_raise
from testkit.clocks import FakeClock
from testkit.scenarios import at_stage_2, at_stage_3
from tests.unit.verb_checks import disagreements


async def test_nothing_is_offered_on_a_closed_case(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-03T11:00:00+00:00")
    await service.execute(discussion("amara", case_id, clock.now, "resolved"))
    await service.execute(ConfirmOutcome(actor_id="noah", case_id=case_id, outcome="Agreed"))
    await service.execute(ApproveOutcome(actor_id="amara", case_id=case_id))
    resolved = await service.case(case_id)
    # A resolved case still lets the other party approve the record, and close it; nothing else.
    noah = case_view(resolved, redbridge, directory, now=clock.now, viewer_id="noah")
    assert noah.verbs == {APPROVE_RECORD, CLOSE} and not noah.outcome_awaiting_approval
    closed = (
        await service.execute(CloseCase(actor_id="amara", case_id=case_id, summary="Done"))
    ).case
    for person in ("amara", "noah", "lena"):
        view = case_view(closed, redbridge, directory, now=clock.now, viewer_id=person)
        assert view.verbs == frozenset() and view.status == "closed"
    wrong, _ = disagreements(closed, redbridge, directory, clock.now)
    assert wrong == []


@pytest.mark.clause("RB-4.5")
async def test_ask_lead_is_not_offered_when_nobody_holds_the_adviser_role(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await service.case(await at_stage_2(service, clock))
    assert case_view(case, redbridge, directory, now=clock.now, viewer_id="lena").may(ASK_LEAD)
    no_leads = Directory.of(
        p for p in directory.people.values() if "safeguarding_lead" not in p.roles
    )
    view = case_view(case, redbridge, no_leads, now=clock.now, viewer_id="lena")
    assert not view.may(ASK_LEAD) and view.may(ESCALATE)
    wrong, _ = disagreements(case, redbridge, no_leads, clock.now)
    assert wrong == []


async def test_the_view_describes_the_case_for_the_card(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (
        await service.execute(
            redbridge_raise(
                other_party=OtherParty(agency_id="met-police", name="DC Jones"),
                adult_initials="QZX",
            )
        )
    ).case
    view = case_view(case, redbridge, directory, now=clock.now, viewer_id="amara")
    assert (view.case_id, view.version, view.board_short_name) == (case.id, case.version, "RSAB")
    assert (view.stage.id, view.stage.name) == ("1", "Practitioner to practitioner")
    assert view.category == "An agency's response to safeguarding concerns or a safeguarding plan"
    assert [p.describe for p in view.parties] == [
        "Amara, London Borough of Redbridge Adult Social Care",
        "DC Jones, Metropolitan Police Service (not on Teams)",
    ]
    assert view.adult_reference == "ASC-104233" and "QZX" not in repr(view)
    assert [c.clock for c in view.clocks] == ["raise", "respond", "resolve"]
    assert view.next_due is not None and view.next_due.clock == "respond"
    assert view.escalates_to is not None and view.escalates_to.id == "2"
    assert view.policy_issue_stage is not None and view.policy_issue_stage.id == "4"
    assert view.timezone == "Europe/London" and view.today.isoformat() == "2026-12-01"
    assert view.agencies == (
        "London Borough of Redbridge Adult Social Care",
        "Metropolitan Police Service",
    )


def test_the_view_needs_an_aware_time(redbridge: PolicyPack, directory: Directory) -> None:
    from escalation.case import Party

    party = Party("raiser", "redbridge-asc", "amara", "Amara")
    case = Case(
        id="RB-1",
        board_id="redbridge",
        track="main",
        raised_at=datetime(2026, 12, 1, tzinfo=UTC),
        raised_by="amara",
        raiser=party,
        receiver=Party("receiver", "nelft", "noah", "Noah"),
        adult_reference="A1",
        adult_initials=None,
        category="other",
        disagreement_date=datetime(2026, 12, 1).date(),
        immediate_risk=False,
        details={},
        child_concern=False,
        resource_implications=False,
        case_conference=None,
        stage="1",
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        case_view(case, redbridge, directory, now=datetime(2026, 12, 1), viewer_id="amara")
    view = case_view(
        case, redbridge, directory, now=datetime(2026, 12, 1, tzinfo=UTC), viewer_id=None
    )
    assert view.verbs == frozenset() and view.risk_to_adult == "" and view.next_due is None


def _said(card: dict[str, object]) -> str:
    return json.dumps(card, ensure_ascii=False)


@pytest.mark.clause("RB-4.6")
async def test_a_board_role_gets_the_copy_without_the_issue_names_or_records(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = await at_stage_3(service, clock)
    case = await service.case(case_id)
    bm = case_view(case, redbridge, directory, now=clock.now, viewer_id="rb-bm")
    assert bm.level == ViewLevel.COPY and bm.copy and not bm.full
    # What the board needs to follow the case: its stage, deadlines, agencies and the risk.
    assert bm.stage.id == "3" and bm.clocks and bm.adult_reference == "ASC-104233"
    assert bm.risk_to_adult == "Further falls; lives alone; pressure sores."
    assert bm.agencies == (
        "London Borough of Redbridge Adult Social Care",
        "NELFT NHS Foundation Trust",
    )
    # And no more: no typed issue, no names, no record, no action.
    assert bm.issue == "" and bm.parties == () and bm.records_awaiting_approval == ()
    assert bm.verbs == frozenset() and bm.recommendations is None and bm.panel is None
    card = case_card(bm)
    words = _said(card)
    assert "Community nursing declined" not in words
    for name in ("Amara", "Noah", "Lena", "Nadia", "Talked it through", "Discussed the falls"):
        assert name not in words
    assert "actions" not in card and card["refresh"]["userIds"] == ["rb-bm"]
    # The senior manager acting at stage 3 sees it all.
    sam = case_view(case, redbridge, directory, now=clock.now, viewer_id="sam")
    assert sam.full and "Community nursing declined" in _said(case_card(sam))


async def test_the_channel_gets_the_copy_and_a_stranger_nothing(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    channel = case_view(case, redbridge, directory, now=clock.now, viewer_id=None)
    assert channel.level == ViewLevel.COPY and channel.issue == "" and channel.parties == ()
    stranger = case_view(case, redbridge, directory, now=clock.now, viewer_id="stranger")
    assert stranger.level == ViewLevel.NONE
    assert (stranger.risk_to_adult, stranger.adult_reference, stranger.board_id) == ("", "", "")
    card = case_card(stranger)
    assert _said(card).count("ASC-104233") == 0 and "refresh" not in card
    assert card["body"] == [
        {"type": "TextBlock", "text": f"There is no case {case.id} that you can see.", "wrap": True}
    ]


async def test_someone_with_the_whole_case_and_nothing_to_do_is_told_so(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-03T11:00:00+00:00")
    await service.execute(discussion("amara", case_id, clock.now, "resolved"))
    await service.execute(ConfirmOutcome(actor_id="noah", case_id=case_id, outcome="Agreed"))
    await service.execute(ApproveOutcome(actor_id="amara", case_id=case_id))
    await service.execute(CloseCase(actor_id="amara", case_id=case_id, summary="Done"))
    closed = await service.case(case_id)
    view = case_view(closed, redbridge, directory, now=clock.now, viewer_id="nadia")
    assert view.full and view.verbs == frozenset()
    assert "You have no action to take on this case" in _said(case_card(view))
