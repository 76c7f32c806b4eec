"""A queued nudge becomes a reminder card, and is dropped if its clock stopped or moved."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bootstrap.build import open_storage
from bot.sender import TeamsSender
from escalation.access_log import AccessEntry
from escalation.calendar import calendar_for
from escalation.commands import Escalate, SetProtectiveDeadline
from escalation.directory import StaticDirectory
from escalation.notifications import Notification, Recipient
from escalation.nudges import due_nudges
from escalation.packs import PackRegistry
from escalation.ports import StoredCase
from escalation.service import EscalationService
from storage.settings import StorageSettings
from storage.stores import Storage
from testkit.builders import discussion, redbridge_raise
from testkit.chat import card_text
from testkit.clocks import FakeClock
from testkit.fakes import RecordingNotifier
from testkit.people import make_directory

POLICIES = Path(__file__).resolve().parents[2] / "policies"
RECORD = "Record R1"  # the first discussion record, as the card lists it


async def the_service(storage: Storage) -> tuple[PackRegistry, FakeClock, EscalationService]:
    """The packs, a clock at Tuesday 1 December 2026 10:00 and the service, on `storage`, whose
    directory holds the test people (line managers first, as an import needs them)."""
    directory = make_directory()
    await storage.directory.import_records(
        [
            {"id": p.id, "name": p.name, "agency": p.agency_id, "roles": sorted(p.roles)}
            | ({"line_manager": p.line_manager_id} if p.line_manager_id else {})
            for p in sorted(directory.people.values(), key=lambda p: p.line_manager_id or "")
        ]
    )
    packs = PackRegistry.from_directory(POLICIES)
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    service = EscalationService(
        packs=packs,
        repository=storage.cases,
        directory=StaticDirectory(directory),
        notifier=RecordingNotifier(),
        now=clock,
    )
    return packs, clock, service


async def test_nudge_cards_and_cancelled_nudges(tmp_path: Path) -> None:
    storage = await open_storage(StorageSettings(None, tmp_path / "data"))
    try:
        packs, clock, service = await the_service(storage)
        directory = make_directory()  # as the service's
        case = (await service.execute(redbridge_raise())).case
        pack = packs.get("redbridge")
        sender = TeamsSender(adapter=None, app_id="", storage=storage, packs=packs, now=clock)

        # Monday 7 December: 'respond' (due Fri 4 Dec) is overdue; Noah is reminded, with Escalate.
        overdue_at = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
        clock.now = overdue_at
        [overdue] = [
            n
            for n in due_nudges(case, pack, directory, calendar_for(pack), now=overdue_at)
            if n.clock == "respond" and n.recipient_id == "noah"
        ]
        built = await sender._card(overdue.to_notification(case))
        assert built is not None
        card, level = built
        assert level == "full"  # what the access log records of this card
        text = card_text(card)
        assert "Risk to the adult" in text and "overdue" in text.lower()
        assert any(a.get("title", "").startswith("Escalate") for a in card.get("actions", []))

        # A protective deadline re-times the clock: the queued nudge is no longer due.
        early = (await service.execute(discussion("amara", case.id, clock.now, "continuing"))).case
        resolve = next(
            (
                n
                for n in due_nudges(early, pack, directory, calendar_for(pack), now=overdue_at)
                if n.clock == "resolve"
            ),
            None,
        )
        assert resolve is not None  # 'resolve' (due Tue 8 Dec) warns today
        await service.execute(
            SetProtectiveDeadline(
                actor_id="amara",
                case_id=case.id,
                clock_id="resolve",
                due=datetime(2026, 12, 7, 15, tzinfo=UTC),
                reason="Discharge today",
            )
        )
        assert await sender._card(resolve.to_notification(early)) is None

        # The case moves on: what was queued for stage 1 is not sent.
        await service.execute(Escalate(actor_id="amara", case_id=case.id, reason="No response"))
        assert await sender._card(overdue.to_notification(case)) is None
    finally:
        await storage.close()


async def test_a_dispatch_pass_reads_each_case_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The messages of one pass show the case as the pass first read it; the next pass reads
    it again, and shows a change saved in between."""
    storage = await open_storage(StorageSettings(None, tmp_path / "data"))
    try:
        packs, clock, service = await the_service(storage)
        case = (await service.execute(redbridge_raise())).case
        sender = TeamsSender(adapter=None, app_id="", storage=storage, packs=packs, now=clock)
        loads: list[str] = []
        load = storage.cases.load

        async def counted(case_id: str) -> StoredCase | None:
            loads.append(case_id)
            return await load(case_id)

        monkeypatch.setattr(storage.cases, "load", counted)
        to_noah, to_amara = (
            Notification(case.id, case.version, "card", Recipient.person(who), "a test", "1")
            for who in ("noah", "amara")
        )

        async with sender.one_pass():
            first = [await sender._card(n) for n in (to_noah, to_amara)]
        assert loads == [case.id]
        assert all(built is not None and RECORD not in card_text(built[0]) for built in first)

        await service.execute(discussion("amara", case.id, clock.now, "continuing"))
        loads.clear()  # the service's own read
        async with sender.one_pass():
            again = await sender._card(to_noah)
        assert loads == [case.id]
        assert again is not None and RECORD in card_text(again[0])

        await sender._card(to_noah)  # outside a pass: read every time
        await sender._card(to_noah)
        assert loads == [case.id] * 3
    finally:
        await storage.close()


async def test_a_dispatch_pass_logs_the_views_its_cards_made_together_as_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = await open_storage(StorageSettings(None, tmp_path / "data"))
    try:
        clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
        packs = PackRegistry.from_directory(POLICIES)
        sender = TeamsSender(adapter=None, app_id="", storage=storage, packs=packs, now=clock)
        batches: list[int] = []
        record_all = storage.access_log.record_all

        async def counted(entries: Sequence[AccessEntry]) -> None:
            batches.append(len(entries))
            await record_all(entries)

        monkeypatch.setattr(storage.access_log, "record_all", counted)
        case_id = "RB-2026-AAAAAA"
        to_noah, to_amara = (
            Notification(case_id, 1, "card", Recipient.person(who), "a test", "1")
            for who in ("noah", "amara")
        )
        to_channel = Notification(
            case_id, 1, "card", Recipient.business_manager_channel("redbridge"), "copy", "1"
        )
        async with sender.one_pass():
            await sender._log_view(to_noah, "full")
            await sender._log_view(to_amara, "full")
            await sender._log_view(to_channel, "copy")
            assert await storage.access_log.entries(case_id) == []  # not yet: at the end
        seen = await storage.access_log.entries(case_id)
        assert sorted((e.who, e.what, e.view) for e in seen) == [
            ("amara", "card", "full"),
            ("channel:redbridge", "copy", "copy"),
            ("noah", "card", "full"),
        ]
        assert batches == [3]  # one write for the case's three views
        await sender._log_view(to_noah, "full")  # outside a pass: logged there and then
        assert len(await storage.access_log.entries(case_id)) == 4
    finally:
        await storage.close()
