"""Authority is granted, never claimed: pending entries hold nothing, and only the line manager a
request names or an agency administrator of that agency may approve it (escalation.joining)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

import pytest

from bot.settings import AppSettings, SettingsError, check_binds
from cards.join_card import (
    join_decided_card,
    join_refused_card,
    join_request_card,
    join_result_card,
)
from escalation.access import ViewLevel, view_level
from escalation.commands import Escalate
from escalation.directory import Agency, Directory, Person, Standing, StaticDirectory
from escalation.errors import Refused
from escalation.joining import (
    BoardAgencies,
    JoinRequest,
    RequestState,
    approved_entry,
    approvers,
    check_approver,
    check_request,
    declined_entry,
    pending_entry,
    requested_roles,
    standing_message,
)
from escalation.packs import PackRegistry
from escalation.parties import candidates, may_be_party
from escalation.service import EscalationService
from testkit.builders import redbridge_raise
from testkit.clocks import FakeClock
from testkit.fakes import InMemoryCaseRepository, RecordingNotifier
from testkit.people import POLICIES, make_directory, person
from tests.unit.card_checks import assert_valid

TENANT = "6f1c1b0e-0000-4000-8000-000000000001"


def pending(
    pid: str = "newbie",
    *,
    requested_roles: frozenset[str] = frozenset({"practitioner"}),
    line_manager_id: str | None = "nadia",
) -> Person:
    return Person(
        id=pid,
        name="Noah Okafor",
        agency_id="nelft",
        line_manager_id=line_manager_id,
        status=Standing.PENDING,
        requested_roles=requested_roles,
    )


def directory_with(*extra: Person, agencies: tuple[Agency, ...] = ()) -> Directory:
    base = make_directory()
    people = {**base.people, **{p.id: p for p in extra}}
    return Directory.of(people.values(), agencies or (Agency.of("nelft", [TENANT]),))


ADMIN = person("ada", "nelft", "agency_admin")


# --- the directory's look-ups see active entries only ------------------------------------------


def test_a_pending_entry_holds_no_role_manages_nobody_and_has_no_manager() -> None:
    lead = pending("lead", requested_roles=frozenset({"line_manager"}))
    under = replace(person("under", "nelft", "practitioner"), line_manager_id="lead")
    directory = directory_with(pending(), lead, under)

    assert "newbie" not in {p.id for p in directory.holders("practitioner", "nelft")}
    assert directory.line_manager_of("newbie") is None  # the manager named is not theirs yet
    assert directory.line_manager_of("under") is None  # a pending manager manages nobody
    assert directory.person("newbie") == pending()  # still there, to be told who approves


def test_a_pending_entry_is_never_a_party_nor_sees_a_case() -> None:
    directory = directory_with(pending())
    assert not may_be_party(pending(), "redbridge")
    offered = candidates(directory, board_id="redbridge", agency_id="nelft", raiser_id="amara")
    assert "newbie" not in {p.id for p in offered}


async def test_a_pending_person_cannot_raise_act_or_see(clock: FakeClock) -> None:
    packs = PackRegistry.from_directory(POLICIES)
    base = make_directory()
    repository = InMemoryCaseRepository()
    service = EscalationService(
        packs=packs,
        repository=repository,
        directory=StaticDirectory(base),
        notifier=RecordingNotifier(),
        now=clock,
    )
    case = (await service.execute(redbridge_raise())).case
    # Noah (a party) and Amara (the raiser) ask to change: both pending now.
    hopped = Directory.of(
        [
            *(p for p in base.people.values() if p.id not in ("noah", "amara")),
            replace(base.people["noah"], status=Standing.PENDING, roles=frozenset()),
            replace(
                base.people["amara"],
                status=Standing.PENDING,
                roles=frozenset(),
                requested_roles=frozenset({"practitioner"}),
            ),
        ]
    )
    service = EscalationService(
        packs=packs,
        repository=repository,
        directory=StaticDirectory(hopped),
        notifier=RecordingNotifier(),
        now=clock,
    )
    with pytest.raises(Refused, match="waits for approval by Lena") as refused:
        await service.execute(redbridge_raise(adult_reference="ASC-2"))
    assert "cannot raise a disagreement" in refused.value.reason
    with pytest.raises(Refused, match="waits for approval"):
        await service.execute(
            Escalate(actor_id="amara", case_id=case.id, reason="x", expected_version=case.version)
        )
    # Nor may a pending entry be named as the other professional, whatever a card sends.
    service = EscalationService(
        packs=packs,
        repository=repository,
        directory=StaticDirectory(
            Directory.of(
                [*(p for p in base.people.values() if p.id != "noah"), hopped.people["noah"]]
            )
        ),
        notifier=RecordingNotifier(),
        now=clock,
    )
    with pytest.raises(Refused, match="Noah cannot be named yet"):
        await service.execute(redbridge_raise(adult_reference="ASC-3"))
    pack = packs.get("redbridge")
    assert view_level(case, pack, hopped, "noah") == ViewLevel.NONE
    assert view_level(case, pack, hopped, "amara") == ViewLevel.NONE
    assert view_level(case, pack, base, "noah") == ViewLevel.FULL


# --- what a request asks for, and who may approve it --------------------------------------------


def test_a_newcomer_or_a_change_of_agency_asks_to_be_a_practitioner() -> None:
    senior = person("mo", "met-police", "senior_manager", "line_manager")
    assert requested_roles(None, "nelft") == frozenset({"practitioner"})
    assert requested_roles(senior, "nelft") == frozenset({"practitioner"})
    # A change of line manager within one's agency asks for one's roles back.
    assert requested_roles(senior, "met-police") == frozenset({"senior_manager", "line_manager"})
    assert requested_roles(declined_entry(pending()), "nelft") == frozenset({"practitioner"})


def test_the_pending_entry_holds_nothing_and_keeps_only_same_agency_details() -> None:
    senior = replace(person("mo", "met-police", "senior_manager"), job_title="DI")
    request = JoinRequest(
        id="JR-1",
        person_id="mo",
        name="Mo",
        agency_id="nelft",
        line_manager_id=None,
        roles=frozenset({"practitioner"}),
        tenant_id=TENANT,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    entry = pending_entry(request, senior)
    assert (entry.status, entry.roles, entry.agency_id) == (Standing.PENDING, frozenset(), "nelft")
    assert entry.name == senior.name  # the directory's name, not the one typed
    assert entry.email is None and entry.job_title is None  # the Met's, not NELFT's


def test_the_named_line_manager_and_the_agency_admins_may_approve_a_practitioner() -> None:
    directory = directory_with(pending(), ADMIN)
    assert [a.describe() for a in approvers(directory, pending())] == [
        "Nadia (the line manager named)",
        "Ada (agency administrator)",
    ]
    for allowed in ("nadia", "ada"):
        check_approver(directory, pending(), allowed, agency_name="NELFT")
    for other in ("noah", "lena", "amara", "nina", "rb-bm", "nobody"):
        with pytest.raises(Refused, match=r"Only Nadia .* or Ada .* can approve"):
            check_approver(directory, pending(), other, agency_name="NELFT")
    with pytest.raises(Refused, match="cannot approve your own request"):
        check_approver(directory, pending(), "newbie", agency_name="NELFT")


def test_more_than_a_practitioner_needs_an_agency_admin() -> None:
    asks = pending(requested_roles=frozenset({"line_manager"}))
    directory = directory_with(asks, ADMIN)
    assert [a.person.id for a in approvers(directory, asks)] == ["ada"]
    with pytest.raises(Refused, match=r"Only Ada \(agency administrator\)"):
        check_approver(directory, asks, "nadia", agency_name="NELFT")


def test_no_one_who_is_not_an_active_line_manager_there_approves() -> None:
    for manager in (
        replace(person("nadia", "nelft", "line_manager"), status=Standing.PENDING),
        person("nadia", "cnwl", "line_manager"),  # another agency
        person("nadia", "nelft", "practitioner"),  # not a line manager
        person("nadia", "nelft", "line_manager", board=("redbridge:independent_chair",)),
    ):
        directory = directory_with(pending(), manager)
        assert approvers(directory, pending()) == []
        with pytest.raises(Refused, match="Nobody at NELFT can approve"):
            check_approver(directory, pending(), "nadia", agency_name="NELFT")
    board_admin = person("ada", "nelft", "agency_admin", board=("redbridge:business_manager",))
    found = approvers(directory_with(pending(), board_admin), pending())
    assert "ada" not in {a.person.id for a in found}


def test_approval_grants_what_was_asked_and_decline_grants_nothing() -> None:
    directory = directory_with(pending())
    approved = approved_entry(directory, pending())
    assert approved.active and approved.roles == frozenset({"practitioner"})
    assert approved.line_manager_id == "nadia" and approved.requested_roles == frozenset()
    declined = declined_entry(pending())
    assert declined.status == Standing.DECLINED and declined.roles == frozenset()


def test_a_request_must_name_an_agency_that_lists_the_tenant() -> None:
    directory = directory_with(agencies=(Agency.of("nelft", [TENANT.upper()]),))
    check = partial(
        check_request,
        directory,
        person_id="newbie",
        existing=None,
        agency_id="nelft",
        agency_name="NELFT",
        line_manager_id="nadia",
        contacts=[person("rb-bm", "redbridge-asc")],
    )
    check(tenant_id=TENANT)
    for tenant in ("another-tenant", None):
        with pytest.raises(Refused, match="not registered for NELFT") as refused:
            check(tenant_id=tenant)
        assert "Rb Bm" in refused.value.reason  # who to ask, by name
    with pytest.raises(Refused, match="never acts for an agency"):
        check(
            tenant_id=TENANT,
            existing=person("rb-bm", "nelft", board=("redbridge:business_manager",)),
        )


def test_the_refusal_names_who_must_approve_or_who_to_ask() -> None:
    contacts = [person("rb-bm", "redbridge-asc")]
    named = standing_message(
        directory_with(pending(), ADMIN), pending(), agency_name="NELFT", contacts=contacts
    )
    assert "waits for approval by Nadia (the line manager named) or Ada" in named
    nobody = standing_message(
        directory_with(pending(line_manager_id=None)),
        pending(line_manager_id=None),
        agency_name="NELFT",
        contacts=contacts,
    )
    assert "nobody at NELFT can approve it in Teams" in nobody and "(Rb Bm)" in nobody
    declined = standing_message(
        directory_with(), declined_entry(pending()), agency_name="NELFT", contacts=contacts
    )
    assert "was declined" in declined and "Type 'profile' to ask again" in declined


def test_board_agencies_name_agencies_and_their_boards_business_managers() -> None:
    boards = BoardAgencies.of(PackRegistry.from_directory(POLICIES))
    directory = make_directory()
    assert boards.name("nelft") == "NELFT NHS Foundation Trust"
    assert boards.name("unknown") == "unknown"
    assert [p.id for p in boards.contacts(directory, "nelft")] == ["rb-bm"]
    assert [p.id for p in boards.contacts(directory, "met-police")] == ["hw-bm", "rb-bm"]
    assert [p.id for p in boards.contacts(directory)] == ["hw-bm", "rb-bm"]


# --- the cards ------------------------------------------------------------------------------


def test_the_join_cards_are_valid_and_keep_typed_text_out_of_markdown() -> None:
    request = JoinRequest(
        id="JR-ABC234",
        person_id="teams-aad-x",
        name="**Noah** [Okafor](https://evil.example)",
        agency_id="nelft",
        line_manager_id="nadia",
        roles=frozenset({"practitioner"}),
        tenant_id=TENANT,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        previous_agency_id="met-police",
        previous_roles=frozenset({"senior_manager"}),
    )
    card = join_request_card(
        request,
        agency_name="NELFT",
        manager_name="Nadia Khan",
        previous_agency_name="Metropolitan Police Service",
        same_name=["Noah Okafor (noah@example.org)"],
    )
    assert_valid(card)
    blocks = [n for n in card["body"] if n.get("type") == "TextBlock"]
    assert all("evil.example" not in b["text"] for b in blocks)
    data = [a["data"] for a in card["actions"] if a["type"] == "Action.Execute"]
    assert data == [{"request_id": "JR-ABC234", "verb": "join_approve"}]
    approved = replace(request, state=RequestState.APPROVED, decided_by="nadia")
    declined = replace(request, state=RequestState.DECLINED, reason="Not in my *team*")
    for built in (
        join_decided_card(approved, agency_name="NELFT"),
        join_decided_card(declined, agency_name="NELFT"),
        join_result_card(approved, agency_name="NELFT", decided_by="Nadia Khan"),
        join_result_card(declined, agency_name="NELFT", decided_by="Nadia Khan"),
        join_refused_card("Only Nadia Khan can approve it."),
    ):
        assert_valid(built)


# --- local mode is local --------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "bot.example.org"])
def test_without_an_app_id_only_a_loopback_host_is_accepted(host: str) -> None:
    with pytest.raises(SettingsError, match=f"HOST must be a loopback address .* not '{host}'"):
        AppSettings.from_env({"HOST": host})
    teams = {
        "MicrosoftAppId": "00000000-0000-0000-0000-000000000001",
        "MicrosoftAppPassword": "x",
        "ALLOWED_TENANTS": TENANT,
        "HOST": host,
    }
    assert AppSettings.from_env(teams).host == host  # with an app id, tokens are checked


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "[::1]"])
def test_a_loopback_host_is_fine_without_an_app_id(host: str) -> None:
    assert AppSettings.from_env({"HOST": host}).host == host


def test_gunicorn_binds_are_checked_too() -> None:
    local = AppSettings.from_env({})
    check_binds(local, ["127.0.0.1:8000", "[::1]:8000", "localhost", "unix:/tmp/bot.sock"])
    for bind in ("0.0.0.0:8000", "[::]:8000", "10.0.0.1"):
        with pytest.raises(SettingsError, match="the --bind address must be a loopback"):
            check_binds(local, [bind])
