"""What a person is told once their action on a case is saved: who it waits for (as
escalation.access decides) and who is being told (from the messages queued with it), by name."""

from __future__ import annotations

from escalation.access import CaseAccess
from escalation.commands import (
    AskSafeguardingLead,
    ConfirmOutcome,
    Escalate,
    OtherParty,
    RecordAgencyResponse,
)
from escalation.directory import Directory
from escalation.done import done_message, relation
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import discussion, redbridge_raise
from testkit.clocks import FakeClock
from testkit.scenarios import redbridge_recommended


async def test_a_record_names_who_may_approve_it_and_who_is_being_told(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    saved = await service.execute(discussion("amara", case_id, clock.now, "continuing"))
    said = done_message("record", saved, redbridge, directory, "amara", clock.now)
    assert said == (
        "Your record R1 is saved; it waits for approval by Noah (the other professional), Lena "
        "(your line manager) or Nadia (Noah's line manager). Noah is being told."
    )
    # Exactly the people the access rule lets approve it: not the author.
    gate = CaseAccess(saved.case, redbridge, directory)
    assert gate.who_may("approve_record", clock.now, record_id="R1") == {"noah", "lena", "nadia"}


async def test_an_escalation_names_the_people_being_told_never_as_told_already(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    moved = await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No"))
    assert done_message("escalate", moved, redbridge, directory, "amara", clock.now) == (
        "The case is at stage 2 (Line managers): Lena (your line manager), Nadia (Noah's line "
        "manager) and Noah (the other professional) are being told."
    )


async def test_someone_not_on_teams_is_to_be_contacted_by_hand(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    outside = OtherParty(agency_id="nelft", name="Bob Stone", email="bob@example.org")
    case_id = (await service.execute(redbridge_raise(other_party=outside))).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    saved = await service.execute(discussion("amara", case_id, clock.now, "not_resolved"))
    assert done_message("record", saved, redbridge, directory, "amara", clock.now) == (
        "Your record R1 is saved; it waits for approval by Lena (your line manager). Not "
        "reachable in Teams, so to be contacted by hand: Bob Stone (not on Teams). You are asked "
        "to do it, and to record it on the case."
    )
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No"))
    saved = await service.execute(discussion("lena", case_id, clock.now, "resolved"))
    # The raiser is asked to contact them, and the manager who acted is told so.
    assert done_message("record", saved, redbridge, directory, "lena", clock.now) == (
        "Your record R2 is saved; it waits for approval by Amara (the professional who raised "
        "it). Amara is being told. Not reachable in Teams, so to be contacted by hand: the line "
        "manager of Bob Stone. Amara is asked to do it."
    )
    confirmed = await service.execute(ConfirmOutcome(actor_id="lena", case_id=case_id, outcome="A"))
    assert done_message("confirm_outcome", confirmed, redbridge, directory, "lena", clock.now) == (
        "The outcome is confirmed in writing; it waits for approval by Amara (the professional "
        "who raised it). Amara is being told."
    )


async def test_a_question_names_the_advisers_it_goes_to(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-02T11:00:00+00:00")
    await service.execute(discussion("noah", case_id, clock.now, "not_resolved"))
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No"))
    asked = await service.execute(
        AskSafeguardingLead(actor_id="lena", case_id=case_id, question="Is a visit needed?")
    )
    assert done_message("ask_lead", asked, redbridge, directory, "lena", clock.now) == (
        "Your question is going to Sgl Asc (your agency's designated safeguarding adult "
        "professional) and Sgl Nelft (designated safeguarding adult professional at NELFT NHS "
        "Foundation Trust)."
    )


async def test_board_roles_are_named_by_their_board_role(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await redbridge_recommended(service, clock)
    responded = await service.execute(
        RecordAgencyResponse(
            actor_id="sam", case_id=case.id, agency_id="redbridge-asc", response="accepted"
        )
    )
    assert done_message("respond", responded, redbridge, directory, "sam", clock.now) == (
        "Your agency's response to the recommendations is recorded. Rb Chair (RSAB Independent "
        "Chair) and Rb Bm (RSAB Business Manager) are being told."
    )
    assert relation("nina", "sam", case, redbridge, directory) == (
        "named safeguarding adult doctor or nurse at NELFT NHS Foundation Trust"
    )
    assert relation("sam", "amara", case, redbridge, directory) == "your agency's senior manager"
