"""Requests to join an agency, their decisions and their notices, on both engines (SQLite and
Azure via Azurite); and the `escalation directory requests / approve / decline` commands."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bootstrap.build import open_storage
from escalation.delivery import Delivery, DeliveryResult
from escalation.directory import Standing
from escalation.errors import Refused
from escalation.joining import BY_THE_BOARD, BoardAgencies, JoinRequest, RequestState
from escalation.packs import PackRegistry
from storage.directory_store import DirectoryStore
from storage.join_requests import (
    REQUEST_PARTITION,
    Caller,
    JoinRequestStore,
    Notice,
    NoticeKind,
    deliver_notices,
)
from storage.settings import StorageSettings
from storage.tables import Op, StorageUnavailable, StoredEntity, TableStore
from testkit.azurite import unique_table_name
from testkit.clocks import FakeClock
from testkit.people import POLICIES, agencies_for
from tests.integration.harness import run_cli

TENANT = "6f1c1b0e-0000-4000-8000-000000000001"
OTHER_TENANT = "6f1c1b0e-0000-4000-8000-0000000000ee"


def record(pid: str, name: str, agency: str, *roles: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "agency": agency,
        "roles": list(roles),
        "teams_user_id": f"29:{pid}",
        "aad_object_id": f"aad-{pid}",
        **fields,
    }


PEOPLE = [
    record("noah", "Noah Okafor", "nelft", "practitioner", line_manager="nadia"),
    record("nadia", "Nadia Khan", "nelft", "line_manager"),
    record("ada", "Ada Obi", "nelft", "agency_admin"),
    record("lena", "Lena Price", "redbridge-asc", "line_manager"),
    record("mo", "Mo Reed", "met-police", "senior_manager", "line_manager"),
    record("bm", "Bea Marsh", "nelft", board_roles=["redbridge:business_manager"]),
    record(
        "boss", "Bo Sterling", "nelft", "line_manager", board_roles=["redbridge:independent_chair"]
    ),
]


def caller(pid: str, name: str = "", tenant: str | None = TENANT) -> Caller:
    return Caller(
        person_id=pid if not pid.startswith("new") else f"teams-aad-{pid}",
        display_name=name or pid.title(),
        tenant_id=tenant,
        teams_user_id=f"29:{pid}",
        aad_object_id=f"aad-{pid}",
    )


@pytest.fixture(scope="module")
def boards() -> BoardAgencies:
    return BoardAgencies.of(PackRegistry.from_directory(POLICIES))


class FailingStore:
    """A TableStore whose next transaction on one partition fails, as an outage would."""

    def __init__(self, inner: TableStore) -> None:
        self.inner = inner
        self.fail_partition: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def transact(self, table: str, ops: Sequence[Op]) -> list[str]:
        if self.fail_partition is not None and ops and ops[0].pk == self.fail_partition:
            self.fail_partition = None
            raise StorageUnavailable("injected outage")
        return await self.inner.transact(table, ops)

    async def get(self, table: str, pk: str, rk: str) -> StoredEntity | None:
        return await self.inner.get(table, pk, rk)

    async def ensure_tables(self, names: Iterable[str]) -> None:
        await self.inner.ensure_tables(names)


@pytest.fixture
async def setup(
    store: TableStore, clock: FakeClock
) -> tuple[DirectoryStore, JoinRequestStore, FailingStore]:
    failing = FailingStore(store)
    table = unique_table_name()
    directory = DirectoryStore(failing, now=clock, table=table, cache_seconds=0)
    await directory.ensure_tables()
    await directory.import_records(PEOPLE, agencies_for(PEOPLE, TENANT))
    ids = (f"JR-{n:06d}" for n in itertools.count(1))
    requests = JoinRequestStore(
        failing,
        directory,
        now=clock,
        table=table,
        new_id=lambda: next(ids),
    )
    return directory, requests, failing


async def notices(requests: JoinRequestStore, now: datetime) -> list[tuple[str, str, str]]:
    return sorted(
        (n.request_id, n.kind.value, n.recipient_id)
        for n in await requests.due_notices(now + timedelta(days=1))
    )


# --- asking --------------------------------------------------------------------------------


async def test_a_newcomer_asks_and_holds_nothing_until_approved(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore],
    boards: BoardAgencies,
    clock: FakeClock,
) -> None:
    directory, requests, _ = setup
    submitted = await requests.submit(
        caller("newbie", "Noah Okafor"), agency_id="nelft", line_manager_id="nadia", boards=boards
    )

    request = submitted.request
    assert [a.describe() for a in submitted.approvers] == [
        "Nadia Khan (the line manager named)",
        "Ada Obi (agency administrator)",
    ]
    assert (request.id, request.name, request.roles, request.tenant_id) == (
        "JR-000001",
        "Noah Okafor",
        frozenset({"practitioner"}),
        TENANT,
    )
    assert request.state == RequestState.OPEN and request.previous_agency_id is None
    entry = await directory.entry("teams-aad-newbie")
    assert entry is not None and entry.request_id == "JR-000001"
    assert entry.person.status == Standing.PENDING and entry.person.roles == frozenset()
    assert entry.aad_object_id == "aad-newbie"
    assert await requests.get("JR-000001") == request
    assert await requests.get("jr-000001") == request  # as typed at the command line
    assert await requests.requests() == [request]
    assert await notices(requests, clock.now) == [
        ("JR-000001", "approve", "ada"),
        ("JR-000001", "approve", "nadia"),
    ]
    snapshot = await directory.snapshot()
    assert "teams-aad-newbie" not in {p.id for p in snapshot.holders("practitioner", "nelft")}


@pytest.mark.parametrize(
    ("who", "tenant", "agency", "manager", "expected"),
    [
        ("newbie", OTHER_TENANT, "nelft", "nadia", "is not registered for NELFT NHS Foundation"),
        ("newbie", None, "nelft", "nadia", "is not registered for NELFT NHS Foundation"),
        ("newbie", TENANT, "nelft", "lena", "not an active line manager at NELFT"),
        ("newbie", TENANT, "nelft", "noah", "not an active line manager at NELFT"),
        ("newbie", TENANT, "nelft", "nobody", "not an active line manager at NELFT"),
        ("newbie", TENANT, "nelft", "boss", "not an active line manager at NELFT"),  # board role
        ("bm", TENANT, "nelft", "nadia", "never acts for an agency"),
        ("boss", TENANT, "met-police", None, "never acts for an agency"),
    ],
)
async def test_a_request_that_could_never_be_approved_is_refused_and_changes_nothing(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore],
    boards: BoardAgencies,
    who: str,
    tenant: str | None,
    agency: str,
    manager: str | None,
    expected: str,
) -> None:
    directory, requests, _ = setup
    before = await directory.entry(caller(who).person_id)

    with pytest.raises(Refused, match=expected):
        await requests.submit(
            caller(who, tenant=tenant), agency_id=agency, line_manager_id=manager, boards=boards
        )

    assert await directory.entry(caller(who).person_id) == before
    assert await requests.requests(open_only=False) == []


async def test_nobody_may_ask_for_an_entry_whose_teams_ids_are_not_theirs(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore], boards: BoardAgencies
) -> None:
    directory, requests, _ = setup
    forged = Caller("noah", "Noah", TENANT, "29:someone", "aad-someone")

    with pytest.raises(Refused, match="does not match this directory entry"):
        await requests.submit(forged, agency_id="nelft", line_manager_id="nadia", boards=boards)
    entry = await directory.entry("noah")
    assert entry is not None and entry.person.active


async def test_an_agency_hop_drops_every_role_until_approved(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore], boards: BoardAgencies
) -> None:
    directory, requests, _ = setup
    submitted = await requests.submit(
        caller("mo"), agency_id="nelft", line_manager_id=None, boards=boards
    )

    request = submitted.request
    assert request.roles == frozenset({"practitioner"})  # not his Met roles
    assert request.previous_agency_id == "met-police"
    assert request.previous_roles == frozenset({"senior_manager", "line_manager"})
    assert [a.person.id for a in submitted.approvers] == ["ada"]  # no manager named
    mo = await directory.person("mo")
    assert mo is not None and mo.agency_id == "nelft" and mo.roles == frozenset()
    snapshot = await directory.snapshot()
    for agency in ("met-police", "nelft"):
        for role in ("senior_manager", "line_manager", "practitioner"):
            assert "mo" not in {p.id for p in snapshot.holders(role, agency)}

    decided = await requests.approve(request.id, by="ada", boards=boards)
    assert decided.request.state == RequestState.APPROVED
    mo = await directory.person("mo")
    assert mo is not None and mo.active and mo.roles == frozenset({"practitioner"})


async def test_a_change_of_line_manager_asks_for_ones_roles_back_and_only_an_admin_grants_them(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore], boards: BoardAgencies
) -> None:
    directory, requests, _ = setup
    await directory.import_records([record("nel", "Nel Ward", "nelft", "line_manager")])
    submitted = await requests.submit(
        caller("nadia"), agency_id="nelft", line_manager_id="nel", boards=boards
    )
    request = submitted.request
    assert request.roles == frozenset({"line_manager"})
    assert [a.person.id for a in submitted.approvers] == ["ada"]  # more than a practitioner's

    with pytest.raises(Refused, match=r"Only Ada Obi \(agency administrator\) can approve"):
        await requests.approve(request.id, by="nel", boards=boards)
    await requests.approve(request.id, by="ada", boards=boards)
    nadia = await directory.person("nadia")
    assert nadia is not None and nadia.roles == frozenset({"line_manager"})
    assert nadia.line_manager_id == "nel"


# --- deciding ------------------------------------------------------------------------------


async def test_only_the_named_manager_or_an_agency_admin_may_decide(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore],
    boards: BoardAgencies,
    clock: FakeClock,
) -> None:
    directory, requests, _ = setup
    request = (
        await requests.submit(
            caller("newbie"), agency_id="nelft", line_manager_id="nadia", boards=boards
        )
    ).request
    for who in ("noah", "lena", "mo", "bm", "boss", "nobody"):
        with pytest.raises(Refused, match=r"Only Nadia Khan .* or Ada Obi .* can approve"):
            await requests.approve(request.id, by=who, boards=boards)
        with pytest.raises(Refused, match="Only Nadia Khan"):
            await requests.decline(request.id, by=who, reason="no", boards=boards)
    with pytest.raises(Refused, match="cannot approve your own request"):
        await requests.approve(request.id, by="teams-aad-newbie", boards=boards)
    entry = await directory.entry("teams-aad-newbie")
    assert entry is not None and entry.person.status == Standing.PENDING

    clock.now += timedelta(minutes=5)
    decided = await requests.approve(request.id, by="nadia", boards=boards)

    assert decided.request.state == RequestState.APPROVED
    assert (decided.request.decided_by, decided.request.decided_at) == ("nadia", clock.now)
    entry = await directory.entry("teams-aad-newbie")
    assert entry is not None and entry.person.active and entry.request_id is None
    assert entry.person.roles == frozenset({"practitioner"})
    assert entry.person.line_manager_id == "nadia"
    assert ("JR-000001", "result", "teams-aad-newbie") in await notices(requests, clock.now)
    with pytest.raises(Refused, match="already approved by Nadia Khan"):
        await requests.decline(request.id, by="ada", reason="late", boards=boards)
    assert await requests.requests() == []
    assert [r.state for r in await requests.requests(open_only=False)] == [RequestState.APPROVED]


async def test_a_decline_says_why_and_leaves_no_authority(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore], boards: BoardAgencies
) -> None:
    directory, requests, _ = setup
    request = (
        await requests.submit(
            caller("mo"), agency_id="nelft", line_manager_id="nadia", boards=boards
        )
    ).request
    for reason in (None, "   ", "x" * 501, "bell\x07"):
        with pytest.raises(Refused):
            await requests.decline(request.id, by="nadia", reason=reason, boards=boards)

    decided = await requests.decline(
        request.id, by="nadia", reason="  Not   in my team ", boards=boards
    )

    assert decided.request.state == RequestState.DECLINED
    assert decided.request.reason == "Not in my team"
    mo = await directory.person("mo")
    assert mo is not None and mo.status == Standing.DECLINED and mo.roles == frozenset()
    assert "mo" not in {
        p.id for p in (await directory.snapshot()).holders("senior_manager", "met-police")
    }


async def test_the_board_decides_at_the_command_line_without_an_approver(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore], boards: BoardAgencies
) -> None:
    directory, requests, _ = setup
    await directory.import_records([], [{"id": "probation", "tenants": [TENANT]}])
    request = (
        await requests.submit(
            caller("newbie"), agency_id="probation", line_manager_id=None, boards=boards
        )
    ).request
    assert request.id == "JR-000001"

    decided = await requests.approve(request.id, by=None, boards=boards)

    assert decided.request.decided_by == BY_THE_BOARD
    entry = await directory.entry("teams-aad-newbie")
    assert entry is not None and entry.person.active


async def test_a_newer_request_or_an_import_closes_the_older_one(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore], boards: BoardAgencies
) -> None:
    directory, requests, _ = setup
    first = (
        await requests.submit(
            caller("newbie"), agency_id="nelft", line_manager_id=None, boards=boards
        )
    ).request
    second = (
        await requests.submit(
            caller("newbie"), agency_id="nelft", line_manager_id="nadia", boards=boards
        )
    ).request

    superseded = await requests.get(first.id)
    assert superseded is not None and superseded.state == RequestState.SUPERSEDED
    with pytest.raises(Refused, match="no longer open"):
        await requests.approve(first.id, by="ada", boards=boards)

    # The board's import makes the entry active: the open request has nothing left to approve.
    await directory.import_records(
        [record("teams-aad-newbie", "Newbie", "nelft", "practitioner", aad_object_id="aad-newbie")]
    )
    with pytest.raises(Refused, match="no longer open"):
        await requests.approve(second.id, by="nadia", boards=boards)
    superseded = await requests.get(second.id)
    assert superseded is not None and superseded.state == RequestState.SUPERSEDED
    with pytest.raises(Refused, match="There is no request JR-999999"):
        await requests.approve("JR-999999", by="nadia", boards=boards)


async def test_an_outage_after_the_entry_is_pending_leaves_no_authority_and_a_retry_works(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore],
    boards: BoardAgencies,
    clock: FakeClock,
) -> None:
    directory, requests, failing = setup
    failing.fail_partition = REQUEST_PARTITION
    with pytest.raises(StorageUnavailable):
        await requests.submit(caller("mo"), agency_id="nelft", line_manager_id=None, boards=boards)
    mo = await directory.person("mo")
    assert mo is not None and not mo.active and mo.roles == frozenset()  # safe: holds nothing
    assert await notices(requests, clock.now) == []  # and nobody was told anything

    submitted = await requests.submit(
        caller("mo"), agency_id="nelft", line_manager_id=None, boards=boards
    )
    assert await notices(requests, clock.now) == [(submitted.request.id, "approve", "ada")]


# --- notices -------------------------------------------------------------------------------


async def test_notices_are_claimed_once_sent_and_removed(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore],
    boards: BoardAgencies,
    clock: FakeClock,
) -> None:
    _, requests, _ = setup
    await requests.submit(
        caller("newbie"), agency_id="nelft", line_manager_id="nadia", boards=boards
    )
    [first, second] = await requests.due_notices(clock.now)

    claimed = await requests.claim(first, clock.now)
    assert claimed is not None and claimed.attempts == 1
    assert await requests.claim(first, clock.now) is None  # another instance got there first
    assert [n.row_key for n in await requests.due_notices(clock.now)] == [second.row_key]
    await requests.delivered(claimed)
    assert [n.row_key for n in await requests.due_notices(clock.now)] == [second.row_key]

    # A claim whose instance died runs out, and the notice is sent by another.
    taken = await requests.claim(second, clock.now)
    assert taken is not None
    clock.now += timedelta(minutes=3)
    [again] = await requests.due_notices(clock.now)
    assert again.row_key == second.row_key and again.attempts == 1


async def test_delivery_retries_until_a_notice_arrives_and_drops_stale_approval_cards(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore],
    boards: BoardAgencies,
    clock: FakeClock,
) -> None:
    _, requests, _ = setup
    request = (
        await requests.submit(
            caller("newbie"), agency_id="nelft", line_manager_id="nadia", boards=boards
        )
    ).request
    sent: list[tuple[str, str]] = []
    answers = {"nadia": [Delivery(DeliveryResult.RETRY, error="429")]}

    async def send(notice: Notice, about: JoinRequest) -> Delivery:
        queued = answers.get(notice.recipient_id)
        if queued:
            return queued.pop(0)
        sent.append((notice.kind.value, notice.recipient_id))
        return Delivery(DeliveryResult.SENT)

    report = await deliver_notices(
        requests, send, clock.now, backoff=lambda _: timedelta(seconds=1)
    )
    assert sent == [("approve", "ada")] and len(report.retried) == 1

    # Ada approves before Nadia's card goes out: Nadia's card is no longer needed.
    await requests.approve(request.id, by="ada", boards=boards)
    clock.now += timedelta(seconds=2)
    report = await deliver_notices(requests, send, clock.now)
    assert sent == [("approve", "ada"), ("result", "teams-aad-newbie")]
    assert len(report.dropped) == 1
    assert await requests.due_notices(clock.now + timedelta(days=1)) == []


async def test_a_notice_that_can_never_arrive_is_kept_as_failed(
    setup: tuple[DirectoryStore, JoinRequestStore, FailingStore],
    boards: BoardAgencies,
    clock: FakeClock,
) -> None:
    _, requests, _ = setup
    await requests.submit(caller("newbie"), agency_id="nelft", line_manager_id=None, boards=boards)

    async def gone(notice: Notice, about: JoinRequest) -> Delivery:
        return Delivery(DeliveryResult.PERMANENT, error="403")

    report = await deliver_notices(requests, gone, clock.now)
    assert len(report.failed) == 1
    assert await requests.due_notices(clock.now + timedelta(days=1)) == []


# --- the command line ----------------------------------------------------------------------


async def test_requests_are_listed_approved_and_declined_at_the_command_line(
    settings: StorageSettings, boards: BoardAgencies, tmp_path: Path
) -> None:
    storage = await open_storage(settings)
    try:
        await storage.directory.import_records(PEOPLE, agencies_for(PEOPLE, TENANT))
        first = await storage.requests.submit(
            caller("newbie", "Noah Okafor"),
            agency_id="nelft",
            line_manager_id="nadia",
            boards=boards,
        )
        second = await storage.requests.submit(
            caller("mo"), agency_id="nelft", line_manager_id=None, boards=boards
        )
    finally:
        await storage.close()
    one, two = first.request.id, second.request.id

    code, out, _ = await run_cli(settings, "directory", "requests")
    assert code == 0
    assert (
        f"{one} [open]" in out and "Noah Okafor (teams-aad-newbie) asks to be practitioner" in out
    )
    assert "line manager Nadia Khan" in out and f"from tenant {TENANT}" in out
    assert "until then line_manager, senior_manager at Metropolitan Police Service" in out
    assert out.endswith("requests: 2 waiting\n")

    code, out, _ = await run_cli(settings, "directory", "approve", one)
    assert (
        code == 0 and f"{one}: approved; Noah Okafor (teams-aad-newbie) is now practitioner" in out
    )
    code, _, err = await run_cli(settings, "directory", "approve", one)
    assert code == 2 and "already approved by the board's directory administrator" in err
    code, _, err = await run_cli(settings, "directory", "decline", two)
    assert code == 2 and "--reason" in err
    code, out, _ = await run_cli(
        settings, "directory", "decline", two, "--reason", "Not NELFT staff"
    )
    assert code == 0 and f"{two}: declined; Mo Reed (mo) holds no role" in out
    code, _, err = await run_cli(settings, "directory", "approve", "JR-NOSUCH")
    assert code == 2 and "There is no request JR-NOSUCH" in err

    code, out, _ = await run_cli(settings, "directory", "requests")
    assert out == "requests: 0 waiting\n"
    code, out, _ = await run_cli(settings, "directory", "requests", "--all")
    assert "[declined by the board's directory administrator: Not NELFT staff]" in out
    assert out.endswith("requests: 0 waiting, 2 in all\n")

    storage = await open_storage(settings)
    try:
        noah2 = await storage.directory.person("teams-aad-newbie")
        mo = await storage.directory.person("mo")
        results = await storage.requests.due_notices(datetime.now(UTC) + timedelta(days=1))
    finally:
        await storage.close()
    assert noah2 is not None and noah2.active and mo is not None and not mo.active
    # Each person is told the decision in Teams.
    assert {(n.kind, n.recipient_id) for n in results} >= {
        (NoticeKind.RESULT, "teams-aad-newbie"),
        (NoticeKind.RESULT, "mo"),
    }


async def test_an_import_warns_of_agencies_with_people_and_no_teams_tenant(
    settings: StorageSettings, tmp_path: Path
) -> None:
    path = tmp_path / "people.yaml"
    path.write_text(
        "agencies:\n"
        f"  - {{id: nelft, tenants: ['{TENANT}']}}\n"
        "  - {id: probation, tenants: []}\n"
        "people:\n"
        "  - {id: noah, name: Noah, agency: nelft}\n"
        "  - {id: pia, name: Pia, agency: probation}\n"
    )
    code, out, _ = await run_cli(settings, "directory", "import", str(path))
    assert code == 0
    assert out.startswith("directory: 2 people and 2 agencies imported from ")
    assert "list no Teams tenant" in out and "Probation Service" in out
    assert "NELFT" not in out.split("\n", 1)[1]
