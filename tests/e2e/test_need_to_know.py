"""Need to know over HTTP: who sees a case in chat, one answer for "no", and who has seen it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bootstrap.build import open_storage
from escalation.access_log import AccessEntry
from escalation.directory import Directory, Person, StaticDirectory
from escalation.packs import PackRegistry, default_policy_dir
from escalation.service import EscalationService
from storage.access_log import TableAccessLog
from storage.cases import safe_key
from storage.tables import PARTITION_KEY, ROW_KEY, StorageUnavailable
from testkit.builders import redbridge_raise
from testkit.chat import Chat, card_text, cards, eventually, running, said, settings_with
from testkit.fakes import RecordingNotifier
from testkit.walk import person

PEOPLE = [
    person("amara", "Amara Osei", "redbridge-asc", "practitioner", manager="lena"),
    person("lena", "Lena Price", "redbridge-asc", "line_manager"),
    person("noah", "Noah Okafor", "nelft", "practitioner", manager="nadia"),
    person("nadia", "Nadia Khan", "nelft", "line_manager"),
    person("pat", "Pat Reid", "redbridge-housing", "practitioner"),
    person("bm", "Bea Marsh", "redbridge-asc", board=("redbridge:business_manager",)),
]
ISSUE = "Community nursing declined a joint visit after two falls."


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat]:
    async with running(await settings_with(tmp_path, PEOPLE), Chat) as started:
        yield started


async def raised(chat: Chat) -> str:
    """A case Amara raised with Noah, saved through the same store the app runs on."""
    assert chat.storage_settings is not None
    storage = await open_storage(chat.storage_settings)
    try:
        service = EscalationService(
            packs=PackRegistry.from_directory(default_policy_dir()),
            repository=storage.cases,
            directory=StaticDirectory(Directory.of(Person.from_record(p) for p in PEOPLE)),
            notifier=RecordingNotifier(),
            now=chat.clock,
        )
        opened = await service.execute(
            redbridge_raise(disagreement_date=chat.clock().date(), issue=ISSUE)
        )
        return opened.case.id
    finally:
        await storage.close()


async def views(chat: Chat, case_id: str) -> list[AccessEntry]:
    assert chat.storage_settings is not None
    storage = await open_storage(chat.storage_settings)
    try:
        return await storage.access_log.entries(case_id)
    finally:
        await storage.close()


async def answers_to(chat: Chat, who: str, text: str) -> list[str]:
    """What the bot answers in the person's own chat: meanwhile the dispatcher may start the
    other professional's chat, in their tenant, on a service URL learned from this person's."""
    before = len(chat.connector.sent)
    await chat.say(who, text)
    return [
        said(s.body) for s in chat.connector.sent[before:] if s.conversation_id == f"a:chat-{who}"
    ]


async def card_for(chat: Chat, who: str, text: str) -> str:
    before = len(chat.connector.sent)
    await chat.say(who, text)
    # The reply, in the person's own chat: the outbox may be sending to others meanwhile.
    [reply] = [s for s in chat.connector.sent[before:] if s.conversation_id == f"a:chat-{who}"]
    attachments = reply.body.get("attachments") or []
    if not attachments:
        return str(reply.body.get("text"))
    return card_text(attachments[0]["content"])


async def test_a_missing_case_and_one_you_may_not_see_get_the_same_answer(chat: Chat) -> None:
    case_id = await raised(chat)
    assert await answers_to(chat, "pat", f"case {case_id}") == [
        f"There is no case {case_id} that you can see."
    ]
    assert await answers_to(chat, "pat", "case RB-2026-ZZZZZZ") == [
        "There is no case RB-2026-ZZZZZZ that you can see."
    ]
    answers = []
    for target in (case_id, "RB-2026-ZZZZZZ"):
        status, response = await chat.invoke(
            "pat", "refresh", {"case_id": target, "version": 1, "verb": "refresh"}
        )
        assert status == 200
        answers.append(card_text(response["value"]).replace(target, "ID"))
    assert (
        answers[0]
        == answers[1]
        == "Nothing changed\nNothing changed: There is no case ID that you can see."
    )
    assert "pat" not in {e.who for e in await views(chat, case_id)}  # nothing was shown to pat


async def test_the_business_manager_sees_the_copy_at_stage_1_and_every_view_is_logged(
    chat: Chat,
) -> None:
    await chat.say("amara", "hello")  # Amara has opened the bot: her own copy comes to this chat
    case_id = await raised(chat)
    await eventually(lambda: bool(cards(chat.connector, "a:chat-amara")))
    copy = await card_for(chat, "bm", f"case {case_id}")
    assert case_id in copy and "Further falls" in copy  # the risk leads, as on every card
    assert "NELFT NHS Foundation Trust" in copy and "ASC-104233" in copy
    assert ISSUE not in copy and "Amara" not in copy and "Noah" not in copy
    full = await card_for(chat, "amara", f"case {case_id}")
    assert ISSUE in full and "Noah Okafor" in full
    status, response = await chat.invoke(
        "noah", "refresh", {"case_id": case_id, "version": 1, "verb": "refresh"}
    )
    assert status == 200 and ISSUE in card_text(response["value"])
    logged = [(e.who, e.what, e.view) for e in await views(chat, case_id)]
    assert [entry for entry in logged if entry[1] != "card"] == [
        ("bm", "case", "copy"),
        ("amara", "case", "full"),
        ("noah", "refresh", "full"),
    ]
    assert ("amara", "card", "full") in logged  # the case card the outbox brought her


async def test_an_index_row_shows_nobody_a_case_the_case_itself_decides(chat: Chat) -> None:
    case_id = await raised(chat)
    assert chat.storage_settings is not None
    storage = await open_storage(chat.storage_settings)
    try:  # a row a lost race could leave behind, naming Pat
        await storage.store.upsert(
            storage.tables.person_cases,
            {PARTITION_KEY: safe_key("pat"), ROW_KEY: case_id, "person_id": "pat"},
        )
    finally:
        await storage.close()
    assert await answers_to(chat, "pat", "cases") == ["You have no open cases."]
    assert await answers_to(chat, "pat", f"case {case_id}") == [
        f"There is no case {case_id} that you can see."
    ]
    replies = await chat.say("amara", "cases")  # her own copy may arrive beside the answer
    assert any(r.startswith("You have 1 open case(s):") and case_id in r for r in replies)


async def test_a_log_that_cannot_be_written_costs_nobody_their_answer(
    chat: Chat, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.say("amara", "hello")
    case_id = await raised(chat)
    await eventually(lambda: bool(cards(chat.connector, "a:chat-amara")))

    async def down(self: TableAccessLog, entry: AccessEntry) -> None:
        raise StorageUnavailable("busy")

    monkeypatch.setattr(TableAccessLog, "record", down)
    with caplog.at_level(logging.WARNING, logger="escalation.access"):
        shown = await card_for(chat, "amara", f"case {case_id}")
    assert ISSUE in shown
    # (The outbox may log the same for a card it delivers meanwhile.)
    warnings = [r.getMessage() for r in caplog.records if r.name == "escalation.access"]
    assert f"access log: a case of {case_id} was not recorded (StorageUnavailable)" in warnings
    assert ISSUE not in caplog.text and "Amara" not in caplog.text
