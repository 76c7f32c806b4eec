"""Need to know (escalation.access): who sees which view of a case, and one answer for "no".

The parties and everyone the policy names at the stages reached see the whole case; a board role
sees the copy until the policy hands the board the case; everyone else sees nothing, and is told
exactly what they would be told of a case that does not exist. The board stays neutral: nobody
with a role on it acts for an agency in its cases.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from dataclasses import replace

import pytest

from escalation.access import (
    CLOSE,
    ESCALATE,
    RECORD,
    CaseAccess,
    ViewLevel,
    access_for,
    case_access,
    no_case_message,
    view_level,
)
from escalation.case import Case
from escalation.commands import (
    ApproveOutcome,
    ApproveRecord,
    AskSafeguardingLead,
    CloseCase,
    ConfirmOutcome,
    Escalate,
    OtherParty,
    RecordRecommendations,
)
from escalation.directory import Directory, Person, Standing, StaticDirectory
from escalation.errors import RefusalCode, Refused
from escalation.policy import PolicyPack
from escalation.service import EscalationService
from testkit.builders import discussion, harrow_raise, redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository
from testkit.people import make_directory, person
from testkit.scenarios import at_stage_2, at_stage_3, harrow_at_stage

FULL, COPY, NONE = ViewLevel.FULL, ViewLevel.COPY, ViewLevel.NONE


def levels(case: Case, pack: PolicyPack, directory: Directory) -> dict[str, set[str]]:
    """Everyone in the directory (and a stranger), grouped by the view they get."""
    access = CaseAccess(case, pack, directory)
    grouped: dict[str, set[str]] = {FULL: set(), COPY: set(), NONE: set()}
    for who in [*directory.people, "stranger"]:
        grouped[access.level(who)].add(who)
    return grouped


REDBRIDGE_PEOPLE = {"amara", "lena", "sam", "sgl-asc", "noah", "nadia", "nina", "sgl-nelft"}
REDBRIDGE_PEOPLE |= {"rb-bm", "rb-chair"}


# -- one answer per case as it stands ----------------------------------------------------------------


async def test_a_turn_asking_again_about_the_same_case_gets_the_same_answers(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    asked = case_access(case, redbridge, directory)
    assert case_access(case, redbridge, directory) is asked
    # The case after a change is another object: it is asked about afresh, and its answers
    # follow the change (Amara may not approve her own record; Noah now may).
    after = (await service.execute(discussion("amara", case.id, clock(), "continuing"))).case
    again = case_access(after, redbridge, directory)
    assert again is not asked
    assert again.who_may("approve_record", clock(), record_id="R1") >= {"noah"}
    assert "amara" not in again.who_may("approve_record", clock(), record_id="R1")
    # So is the same case against another directory: Noah's line manager has left, say.
    assert again.level("nadia") == FULL
    fewer = Directory.of(p for p in directory.people.values() if p.id != "nadia")
    assert case_access(after, redbridge, fewer) is not again
    assert case_access(after, redbridge, fewer).level("nadia") == NONE


async def test_who_may_act_is_put_in_words_only_when_asked_and_leaves_no_cycle(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    """A card asks who may do every verb, and its checks refuse most of them; only a refusal
    or the words under a card say who. Made later, the words must not hold the access itself:
    an access dropped from the memo is freed at once, not left for the garbage collector."""
    case = (await service.execute(redbridge_raise())).case
    access = CaseAccess(case, redbridge, directory)
    assert access.for_viewer("amara", clock()).may(RECORD)
    escalate = access.permitted(ESCALATE)
    assert "who" not in vars(escalate)  # asked who may, not yet in words
    parties = "the professional who raised it or the other professional"
    assert escalate.who == parties  # at stage 1, the parties escalate (RB-4.4)
    assert escalate.refusal().reason.endswith(f"Who may: {parties}.")
    held = weakref.ref(access)
    gc.collect()
    gc.disable()
    try:
        del access, escalate
        assert held() is None
    finally:
        gc.enable()


async def test_twenty_users_card_actions_in_flight_do_not_evict_each_others_cases(
    service: EscalationService, redbridge: PolicyPack, directory: Directory
) -> None:
    """A card action asks about the case before and after it, and the outbox about the after
    case again once the turn has ended: with twenty users acting at once, the need-to-know of a
    case asked about first is still kept when sixty others have been asked about since."""
    case = (await service.execute(redbridge_raise())).case
    first = case_access(case, redbridge, directory)
    for number in range(60):  # each turn's before and after case is another object
        case_access(replace(case, id=f"{case.id}-{number}"), redbridge, directory)
    assert case_access(case, redbridge, directory) is first


# -- the views per role and stage -----------------------------------------------------------------


@pytest.mark.clause("RB-4.4")
async def test_at_redbridge_stage_1_the_parties_and_their_managers_see_it_and_the_board_a_copy(
    service: EscalationService, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise())).case
    seen = levels(case, redbridge, directory)
    assert seen[FULL] == {"amara", "noah", "lena", "nadia"}
    # The Business Manager and the Chair have the board's copy, not the typed issue.
    assert seen[COPY] == {"rb-bm", "rb-chair"}
    # Nobody else: not the senior managers or leads yet, nor Harrow's board roles.
    assert {"sam", "nina", "sgl-asc", "sgl-nelft", "hssp", "hw-bm", "stranger"} <= seen[NONE]


@pytest.mark.clause("RB-4.1")
async def test_immediate_risk_shows_the_case_to_the_safeguarding_lead_told_of_it(
    service: EscalationService, redbridge: PolicyPack, directory: Directory
) -> None:
    case = (await service.execute(redbridge_raise(immediate_risk=True))).case
    seen = levels(case, redbridge, directory)
    assert {"sgl-asc", "lena"} <= seen[FULL]
    assert "sgl-nelft" in seen[NONE]  # the receiver's lead was not told


@pytest.mark.clause("RB-4.5")
async def test_at_stage_2_the_managers_see_it_and_a_lead_once_asked(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = await at_stage_2(service, clock)
    seen = levels(await service.case(case_id), redbridge, directory)
    # Lena's manager is told when a stage 2 clock of Lena's is overdue: he sees the case.
    assert seen[FULL] == {"amara", "noah", "lena", "nadia", "sam"}
    assert seen[COPY] == {"rb-bm", "rb-chair"}
    asked = (
        await service.execute(
            AskSafeguardingLead(actor_id="lena", case_id=case_id, question="Is this s42?")
        )
    ).case
    assert {"sgl-asc", "sgl-nelft"} <= levels(asked, redbridge, directory)[FULL]


@pytest.mark.clause("RB-4.6")
async def test_at_stage_3_senior_managers_see_it_and_the_business_manager_still_a_copy(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case = await service.case(await at_stage_3(service, clock))
    seen = levels(case, redbridge, directory)
    assert {"sam", "nina"} <= seen[FULL]
    assert seen[COPY] == {"rb-bm", "rb-chair"}


@pytest.mark.clause("RB-4.7", "RB-4.9")
async def test_at_stage_4_the_policy_hands_the_chair_and_business_manager_the_case(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = await at_stage_3(service, clock)
    stage_4 = (
        await service.execute(Escalate(actor_id="sam", case_id=case_id, reason="Unresolved"))
    ).case
    seen = levels(stage_4, redbridge, directory)
    assert {"rb-bm", "rb-chair"} <= seen[FULL] and seen[COPY] == set()
    # Once handed the case, they keep it: the recommendations resolve it, and it closes.
    done = (
        await service.execute(
            RecordRecommendations(actor_id="rb-chair", case_id=case_id, recommendations=("A",))
        )
    ).case
    closed = (
        await service.execute(CloseCase(actor_id="rb-chair", case_id=case_id, summary="Done"))
    ).case
    for state in (done, closed):
        assert {"rb-bm", "rb-chair", "amara", "sam"} <= levels(state, redbridge, directory)[FULL]


@pytest.mark.clause("HW-4.3", "HW-4.4")
async def test_harrow_board_roles_have_the_copy_until_the_panel_stage(
    service: EscalationService, clock: FakeClock, harrow: PolicyPack, directory: Directory
) -> None:
    stage_1 = await service.case(await harrow_at_stage(service, clock, "1"))
    seen = levels(stage_1, harrow, directory)
    assert seen[FULL] == {"hana", "colin", "harry", "cara"}
    assert seen[COPY] == {"hssp", "hw-chair", "hw-bm"}
    stage_3 = await service.case(await harrow_at_stage(service, clock, "3"))
    assert {"hbm", "cbm"} <= levels(stage_3, harrow, directory)[FULL]
    stage_4 = await service.case(await harrow_at_stage(service, clock, "4"))
    seen = levels(stage_4, harrow, directory)
    assert {"hssp", "hw-chair"} <= seen[FULL]
    # Harrow's pack never hands its Business Manager a case: the copy, to the end.
    assert seen[COPY] == {"hw-bm"}
    # Redbridge's people, its board roles too, have no part in a Harrow case.
    assert seen[NONE] >= REDBRIDGE_PEOPLE


@pytest.mark.clause("HW-3")
async def test_resource_managers_see_a_case_with_resource_implications(
    service: EscalationService, harrow: PolicyPack
) -> None:
    extra = Directory.of(
        [*make_directory().people.values(), person("budget", "cnwl", "resource_manager")]
    )
    plain = (await service.execute(harrow_raise())).case
    flagged = (await service.execute(harrow_raise(resource_implications=True))).case
    assert view_level(plain, harrow, extra, "budget") == NONE
    assert view_level(flagged, harrow, extra, "budget") == FULL


async def test_an_index_row_grants_nothing_the_folded_case_decides(
    service: EscalationService, redbridge: PolicyPack, directory: Directory, clock: FakeClock
) -> None:
    """A manager who lost a race to act still finds nothing: only the case itself says who
    sees it (the bot's `cases` and `case ID` ask this, never the PersonCases index)."""
    case = (await service.execute(redbridge_raise())).case
    for who in ("sam", "nina", "stranger"):
        access = access_for(case, redbridge, directory, who, clock.now)
        assert access.level == NONE and not access.sees and access.verbs == frozenset()


# -- one answer for "no such case" and "not yours" ------------------------------------------------


async def test_a_missing_case_and_a_case_you_may_not_see_get_the_same_answer(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    with pytest.raises(Refused) as missing:
        await service.case("RB-2026-ZZZZZZ")
    assert missing.value.reason == "There is no case RB-2026-ZZZZZZ that you can see."
    assert missing.value.reason == no_case_message("RB-2026-ZZZZZZ")
    answers = []
    for target in ("RB-2026-ZZZZZZ", case_id):
        with pytest.raises(Refused) as info:
            await service.execute(discussion("stranger", target, clock.now, "continuing"))
        answers.append((info.value.code, info.value.reason.replace(target, "ID")))
    assert answers[0] == answers[1] == (RefusalCode.NOT_FOUND, no_case_message("ID"))
    # Someone from another board's roles is a stranger to this case too.
    with pytest.raises(Refused) as other_board:
        await service.execute(discussion("hw-bm", case_id, clock.now, "continuing"))
    assert other_board.value.reason == no_case_message(case_id)


@pytest.mark.clause("RB-4.4", "RB-4.5")
async def test_a_refusal_to_someone_who_sees_the_case_cites_the_clauses_and_who_may_act(
    service: EscalationService, clock: FakeClock
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    with pytest.raises(Refused) as chair:
        await service.execute(discussion("rb-chair", case_id, clock.now, "continuing"))
    assert chair.value.code == RefusalCode.NOT_PERMITTED
    assert chair.value.reason == (
        "You do not hold a role that may record a discussion on this case. Who may: the "
        "professional who raised it or the other professional."
    )
    assert "RB-4.4" in chair.value.clauses
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    with pytest.raises(Refused) as practitioner:
        await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="Still none"))
    assert practitioner.value.reason == (
        "You do not hold a role that may escalate this case. Who may: the parties' line managers."
    )
    assert "RB-4.5" in practitioner.value.clauses
    # Names never appear in who may act: a board role reading it learns no names.
    assert "Lena" not in practitioner.value.reason and "Nadia" not in practitioner.value.reason


# -- the board stays neutral ----------------------------------------------------------------------


def _with(*changed: Person) -> Directory:
    people = {p.id: p for p in make_directory().people.values()}
    for p in changed:
        people[p.id] = p
    return Directory.of(people.values())


def _service(
    make_service: Callable[..., EscalationService], directory: Directory
) -> EscalationService:
    return make_service(directory=StaticDirectory(directory), repository=InMemoryCaseRepository())


@pytest.mark.clause("RB-4.1", "RB-4.5")
async def test_a_board_role_never_acts_for_an_agency_even_when_the_directory_places_them_in_one(
    make_service: Callable[..., EscalationService], clock: FakeClock, redbridge: PolicyPack
) -> None:
    # The council's safeguarding lead is also RSAB's business manager; Amara's line manager
    # also chairs the board.
    lead = person(
        "sgl-asc", "redbridge-asc", "safeguarding_lead", board=("redbridge:business_manager",)
    )
    chair = person(
        "lena",
        "redbridge-asc",
        "line_manager",
        manager="sam",
        board=("redbridge:independent_chair",),
    )
    directory = _with(lead, chair)
    service = _service(make_service, directory)
    opened = await service.execute(redbridge_raise(immediate_risk=True))
    told = {n.recipient.id for n in opened.notifications if n.kind == "immediate_risk"}
    assert told == set()  # neither is told as the agency's lead or manager ...
    by_hand = [n for n in opened.notifications if n.kind == "contact_by_hand"]
    assert by_hand and "Designated safeguarding adult professional" in by_hand[0].reason
    seen = levels(opened.case, redbridge, directory)
    assert {"sgl-asc", "lena"} <= seen[COPY]  # ... and they see only the board's copy
    case_id = opened.case.id
    await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    stage_2 = await service.case(case_id)
    assert CaseAccess(stage_2, redbridge, directory).stage_actors().person_ids == {"nadia"}
    with pytest.raises(Refused) as refused:
        await service.execute(Escalate(actor_id="lena", case_id=case_id, reason="Go on"))
    assert refused.value.code == RefusalCode.NOT_PERMITTED
    # The other side's manager acts; the raiser's side must be reached by hand.
    clock.set("2026-12-02T10:00:00+00:00")
    recorded = await service.execute(
        discussion("nadia", case_id, clock.now, "continuing", participants=("nadia",))
    )
    with pytest.raises(Refused):
        await service.execute(ApproveRecord(actor_id="lena", case_id=case_id, record_id="R1"))
    assert recorded.case.record("R1") is not None


async def test_a_role_on_another_board_does_not_stop_a_person_acting_here(
    make_service: Callable[..., EscalationService], redbridge: PolicyPack
) -> None:
    lena = person(
        "lena", "redbridge-asc", "line_manager", manager="sam", board=("harrow:business_manager",)
    )
    directory = _with(lena)
    service = _service(make_service, directory)
    case_id = (await service.execute(redbridge_raise())).case.id
    out = await service.execute(Escalate(actor_id="amara", case_id=case_id, reason="No agreement"))
    assert "lena" in CaseAccess(out.case, redbridge, directory).stage_actors().person_ids
    assert view_level(out.case, redbridge, directory, "lena") == FULL


async def test_a_board_role_cannot_raise_a_case_on_that_board_or_be_its_other_party(
    make_service: Callable[..., EscalationService],
) -> None:
    nurse = person("nelft-chair", "nelft", "practitioner", board=("redbridge:independent_chair",))
    service = _service(make_service, _with(nurse))
    with pytest.raises(Refused) as raiser:
        await service.execute(redbridge_raise(actor_id="rb-bm"))
    assert raiser.value.code == RefusalCode.NOT_PERMITTED
    assert "stays neutral" in raiser.value.reason
    with pytest.raises(Refused) as receiver:
        await service.execute(
            redbridge_raise(other_party=OtherParty(agency_id="nelft", person_id="nelft-chair"))
        )
    assert receiver.value.code == RefusalCode.INVALID_INPUT
    assert receiver.value.reason == (
        "Nelft Chair holds a role on RSAB, which stays neutral in the disagreements it oversees: "
        "name another professional at NELFT NHS Foundation Trust."
    )
    # A role on Harrow's board does not stop a Redbridge case.
    hssp_raises = await service.execute(
        redbridge_raise(other_party=OtherParty(agency_id="met-police", person_id="hssp"))
    )
    assert hssp_raises.case.receiver.person_id == "hssp"


# -- verbs need the whole case --------------------------------------------------------------------


async def test_only_the_full_view_carries_verbs(
    service: EscalationService, clock: FakeClock, redbridge: PolicyPack, directory: Directory
) -> None:
    case_id = (await service.execute(redbridge_raise())).case.id
    clock.set("2026-12-03T11:00:00+00:00")
    await service.execute(discussion("amara", case_id, clock.now, "resolved"))
    confirmed = (
        await service.execute(ConfirmOutcome(actor_id="noah", case_id=case_id, outcome="Agreed"))
    ).case
    access = CaseAccess(confirmed, redbridge, directory)
    assert access.for_viewer("amara", clock.now).may(RECORD)
    for who in ("rb-bm", "rb-chair", "stranger", "sam"):
        assert access.for_viewer(who, clock.now).verbs == frozenset()
    # What the rules cite as who may act is who the view offers the verb to.
    for verb in (RECORD, ESCALATE):
        people = access.permitted(verb).people
        assert people <= access.full_view
        offered = {p for p in people if access.may(verb, p, clock.now)}
        assert offered == people
    with pytest.raises(ValueError, match="unknown verb"):
        access.permitted("dance")
    # Approved, the case is resolved: closing is what the parties may do, and nobody else.
    resolved = (await service.execute(ApproveOutcome(actor_id="amara", case_id=case_id))).case
    closing = CaseAccess(resolved, redbridge, directory)
    assert {p for p in directory.people if closing.may(CLOSE, p, clock.now)} == {"amara", "noah"}


# -- role holders, as the checks of who may act ask for them --------------------------------------


def test_role_holders_are_the_active_ones_in_id_order() -> None:
    pending = replace(person("zed", "nelft", "safeguarding_lead"), status=Standing.PENDING)
    second = person("aaron", "nelft", "safeguarding_lead")
    chair = person("chair-2", "redbridge-asc", board=("redbridge:independent_chair",))
    directory = Directory.of([*make_directory().people.values(), pending, second, chair])
    leads = [p.id for p in directory.holders("safeguarding_lead", "nelft")]
    assert leads == sorted(leads) and "aaron" in leads and "zed" not in leads
    assert directory.holders("safeguarding_lead", "no-such-agency") == []
    chairs = [p.id for p in directory.board_holders("redbridge", "independent_chair")]
    assert chairs == ["chair-2", "rb-chair"]
    # A caller's list is its own: changing it changes no later answer.
    directory.holders("safeguarding_lead", "nelft").clear()
    assert [p.id for p in directory.holders("safeguarding_lead", "nelft")] == leads
