"""A turn that fails after its change was saved says what was saved, never "Nothing was changed";
and what a raise leaves in the conversation's state goes without a wait of its own."""

from __future__ import annotations

import pytest

import bot.teams_bot
import dialogs.raise_dialog
from bootstrap.build import open_storage
from bot.turn_errors import NOTHING_CHANGED
from storage.bot_state import ROW, STATE_PREFIX, escape_key
from storage.tables import join_text
from testkit.chat import says
from testkit.walk import Walk, practitioners_talked, raise_case


def _broken(*_args: object, **_kwargs: object) -> str:
    raise RuntimeError("broken after the save")


async def _noah_records(walk: Walk, case_id: str) -> dict[str, object]:
    """Noah's card action recording stage 1's discussion, on the case as it stands."""
    version = (await walk.case(case_id)).version
    data: dict[str, object] = {"case_id": case_id, "version": version, "verb": "record"}
    data |= {f"record.{k}": v for k, v in practitioners_talked(walk.clock.day()).items()}
    return data


async def test_a_raise_that_fails_after_its_save_says_the_case_is_open(
    walk: Walk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Working out who is being told comes after the save: it fails, the case stands.
    monkeypatch.setattr(dialogs.raise_dialog, "being_told", _broken)
    before = len(walk.connector.sent)
    await raise_case(walk)  # its "yes" is answered by the apology alone
    replies = [s.body.get("text") or "" for s in walk.connector.sent[before:]]
    [apology] = [r for r in replies if r.startswith("Sorry")]
    assert NOTHING_CHANGED not in replies
    assert apology.startswith("Sorry, something went wrong on my side, but this was saved first:")
    case_id = apology.split("Case ")[1].split()[0]
    assert (await walk.case(case_id)).raised_by == "amara"


async def test_a_card_action_that_fails_after_its_save_says_the_change_is_saved(
    walk: Walk, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = await raise_case(walk)
    monkeypatch.setattr(bot.teams_bot, "done_message", _broken)
    before = len(walk.connector.sent)
    await walk.invoke("noah", "record", await _noah_records(walk, case_id))
    replies = [s.body.get("text") or "" for s in walk.connector.sent[before:]]
    assert f"Your change to case {case_id} is saved." in " ".join(replies)
    assert NOTHING_CHANGED not in replies
    assert len((await walk.case(case_id)).records) == 1


async def test_a_turn_that_fails_before_saving_anything_says_nothing_changed(
    walk: Walk, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = await raise_case(walk)
    monkeypatch.setattr(bot.teams_bot, "command_for", _broken)  # before the save
    before = len(walk.connector.sent)
    await walk.invoke("noah", "record", await _noah_records(walk, case_id))
    replies = [s.body.get("text") or "" for s in walk.connector.sent[before:]]
    assert NOTHING_CHANGED in replies
    assert (await walk.case(case_id)).records == ()


async def _state_text(walk: Walk, who: str) -> str:
    assert walk.storage_settings is not None
    storage = await open_storage(walk.storage_settings)
    try:
        key = escape_key(f"msteams/conversations/a:chat-{who}")
        row = await storage.store.get(storage.tables.bot_state, key, ROW)
        assert row is not None
        return join_text(STATE_PREFIX, row.entity)
    finally:
        await storage.close()


async def test_the_note_of_a_raise_answered_here_goes_with_the_next_state_write(
    walk: Walk,
) -> None:
    case_id = await raise_case(walk)
    assert case_id in await _state_text(walk, "amara")  # the note, written beside the save
    # The next message writes nothing of its own for the note (one wait, the state's read)...
    await walk.say("amara", "help")
    assert case_id in await _state_text(walk, "amara")
    # ...and the next write the state gets anyway takes it away.
    assert says(await walk.say("amara", "raise"), "Which agency")
    assert case_id not in await _state_text(walk, "amara")
