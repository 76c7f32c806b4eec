"""Every card says in words what it is: a `fallbackText` and a `speak`, and the summary Teams shows
in the chat list and notifications (`card_summary`), with no more personal detail than the card's
view level allows, and no typed case text in the summary at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from cards.case_card import case_card
from cards.copy_card import business_manager_copy_card
from cards.elements import MAX_SUMMARY, Json, card_summary
from cards.join_card import (
    join_decided_card,
    join_refused_card,
    join_request_card,
    join_result_card,
)
from cards.nudge_card import NUDGE_KINDS, nudge_card
from cards.outcome_cards import done_card, refusal_card
from cards.picker_card import choice_card, people_card
from cards.summary_card import summary_card
from cards.views import CaseView, ViewLevel
from cards.welcome import signpost_card, welcome_card
from escalation.case import Case
from escalation.commands import RecordPanelDecision, RecordRepresentation
from escalation.directory import Directory
from escalation.joining import JoinRequest
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from reports.figures import board_report
from testkit.builders import discussion, redbridge_raise
from testkit.clocks import FakeClock
from testkit.scenarios import (
    at_stage_2,
    at_stage_3,
    harrow_at_stage,
    harrow_panel,
    harrow_resolved,
    redbridge_recommended,
)
from tests.unit.card_checks import view_of


def case_cards(view: CaseView) -> list[tuple[Json, ViewLevel]]:
    """Every card the bot builds from a case view, with the view level it may show."""
    built = [
        case_card(view),
        done_card(view, "Your record R1 is saved."),
        refusal_card(view, "the case has changed since you saw it."),
        *(nudge_card(view, c.label, kind) for c in view.clocks for kind in NUDGE_KINDS),
    ]
    # The channel's copy shows a copy's facts, whatever view it is given.
    return [(card, view.level) for card in built] + [
        (business_manager_copy_card(view, "A case has reached stage 3."), ViewLevel.COPY)
    ]


def typed(case: Case) -> list[str]:
    """What people typed into the case, the issue first."""
    found = [case.details.get("issue", "")]
    found += [v for k, v in case.details.items() if k != "issue"]
    for record in case.records:
        found += [record.summary, record.points_of_difference, record.agreed_outcome]
    if case.recommendations is not None:
        found += list(case.recommendations.items)
    found += [r.summary for r in case.representations]
    if case.panel is not None and case.panel.decision:
        found.append(case.panel.decision)
    return [t.strip() for t in found if t and t.strip()]


async def cases_at_every_stage(
    service: EscalationService, clock: FakeClock
) -> list[tuple[Case, str]]:
    """Cases of both boards at every stage and at their end (their pack's id with each)."""
    found: list[tuple[Case, str]] = []

    def start() -> None:
        clock.set("2026-12-01T10:00:00+00:00")  # each case from its own start

    raised = (await service.execute(redbridge_raise(immediate_risk=True))).case
    clock.set("2026-12-01T11:00:00+00:00")
    recorded = await service.execute(discussion("noah", raised.id, clock.now, "continuing"))
    found.append((recorded.case, "redbridge"))
    start()
    found.append((await service.case(await at_stage_2(service, clock)), "redbridge"))
    start()
    found.append((await service.case(await at_stage_3(service, clock)), "redbridge"))
    start()
    found.append((await redbridge_recommended(service, clock), "redbridge"))
    for stage in ("1", "2", "3", "4"):
        start()
        found.append((await service.case(await harrow_at_stage(service, clock, stage)), "harrow"))
    start()
    panel = await harrow_panel(service, clock)
    await service.execute(
        RecordRepresentation(actor_id="colin", case_id=panel.id, agency_id="cnwl", summary="Met")
    )
    decided = await service.execute(
        RecordPanelDecision(actor_id="hssp", case_id=panel.id, decision="An enquiry opens")
    )
    found.append((decided.case, "harrow"))
    start()
    found.append((await harrow_resolved(service, clock), "harrow"))
    return found


def other_cards(redbridge: PolicyPack, harrow: PolicyPack, report_card: Json) -> list[Json]:
    """Every card that is not built from a case view."""
    request = JoinRequest(
        id="JR-ABC234",
        person_id="teams-aad-x",
        name="Mo Reid",
        agency_id="nelft",
        line_manager_id="nadia",
        roles=frozenset({"practitioner"}),
        tenant_id="tenant-1",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    declined = replace(request, reason="Not on our staff list")
    built = [
        join_request_card(
            request, agency_name="NELFT", manager_name="Nadia Khan", previous_agency_name=None
        ),
        join_decided_card(request, agency_name="NELFT"),
        join_decided_card(declined, agency_name="NELFT"),
        join_refused_card("This request was decided already."),
        join_result_card(request, agency_name="NELFT", decided_by="Nadia Khan"),
        join_result_card(declined, agency_name="NELFT", decided_by="Nadia Khan"),
        choice_card("Which agency?", "pick.agency", [("nelft", "NELFT")], hint="Pick one."),
        people_card(
            "Who is the other professional?",
            "pick.person",
            [("noah", "Noah Okafor")],
            dataset="people:redbridge:nelft",
            hint="Type a name.",
        ),
        refusal_card(None, "there is no case RB-2026-9999 that you can see."),
        welcome_card(["RSAB", "HSAB"], [*redbridge.signposts, *harrow.signposts]),
        welcome_card([], []),
        report_card,
    ]
    built += [signpost_card(s) for pack in (redbridge, harrow) for s in pack.signposts]
    return built


def assert_says_what_it_is(card: Json) -> None:
    assert str(card.get("fallbackText", "")).strip(), card
    assert str(card.get("speak", "")).strip(), card
    summary = card_summary(card)
    assert summary.strip() and len(summary) <= MAX_SUMMARY


async def test_every_card_says_what_it_is_with_no_more_than_its_view_level_shows(
    service: EscalationService,
    clock: FakeClock,
    redbridge: PolicyPack,
    harrow: PolicyPack,
    directory: Directory,
) -> None:
    packs = {"redbridge": redbridge, "harrow": harrow}
    checked = copies = 0
    for case, board in await cases_at_every_stage(service, clock):
        secrets = typed(case)
        names = [p.name for p in case.parties]
        for viewer in [*directory.people, "stranger", None]:
            view = view_of(case, packs[board], directory, viewer, clock.now)
            for card, level in case_cards(view):
                assert_says_what_it_is(card)
                checked += 1
                # The summary goes to the chat list and to notifications: never typed text.
                for text in secrets:
                    assert text not in card["fallbackText"], (case.id, viewer, text)
                    assert text not in card_summary(card), (case.id, viewer, text)
                if level != ViewLevel.FULL:
                    copies += 1
                    said = f"{card['fallbackText']} {card['speak']}"
                    assert secrets[0] not in said  # a copy-level view says no typed issue
                    # nor anything else typed, nor a name; the risk it shows, it may say
                    for text in [*secrets, *names]:
                        if text != case.details.get("risk_to_adult", "").strip():
                            assert text not in said, (case.id, viewer, text)
    assert checked > 1000 and copies > 100

    opened = (await service.execute(redbridge_raise())).case
    report = board_report([opened], redbridge, start=date(2026, 4, 1), end=date(2026, 12, 31))
    for card in other_cards(redbridge, harrow, summary_card(report, title="Year to date")):
        assert_says_what_it_is(card)


async def test_the_case_card_says_who_must_act_by_when(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await service.case(await at_stage_2(service, clock))
    for viewer, who in (
        ("amara", "Lena and Nadia must act"),
        ("lena", "you and Nadia must act"),
        ("nadia", "you and Lena must act"),
    ):
        card = case_card(view_of(case, redbridge, directory, viewer, clock.now))
        assert card["fallbackText"].startswith(
            f"Case {case.id}, stage 2 (Line managers): {who} by Wed 09 Dec 17:00."
        )
    # The board's copy names nobody, and says what it is.
    copy = case_card(view_of(case, redbridge, directory, "rb-bm", clock.now))
    assert copy["fallbackText"] == (
        f"Case {case.id}, stage 2 (Line managers): next deadline Wed 09 Dec 17:00. The RSAB "
        "copy, for information."
    )


def test_a_long_summary_is_cut_on_a_word() -> None:
    long = {"fallbackText": "word " * 100}
    summary = card_summary(long)
    assert len(summary) <= MAX_SUMMARY and summary.endswith("word…")
    assert card_summary({"fallbackText": "  Case  RB-1\n ok "}) == "Case RB-1 ok"
