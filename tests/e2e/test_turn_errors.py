"""A turn that fails after its change was saved says what was saved, never "Nothing was changed"."""

from __future__ import annotations

import pytest

import bot.teams_bot
import dialogs.raise_dialog
from bot.turn_errors import NOTHING_CHANGED
from testkit.walk import Walk, practitioners_talked, raise_case


def _broken(*_args: object, **_kwargs: object) -> str:
    raise RuntimeError("broken after the save")


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
    version = (await walk.case(case_id)).version
    data = {"case_id": case_id, "version": version, "verb": "record"}
    data |= {f"record.{k}": v for k, v in practitioners_talked(walk.clock.day()).items()}
    await walk.invoke("noah", "record", data)
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
    version = (await walk.case(case_id)).version
    data = {"case_id": case_id, "version": version, "verb": "record"}
    data |= {f"record.{k}": v for k, v in practitioners_talked(walk.clock.day()).items()}
    await walk.invoke("noah", "record", data)
    replies = [s.body.get("text") or "" for s in walk.connector.sent[before:]]
    assert NOTHING_CHANGED in replies
    assert (await walk.case(case_id)).records == ()
