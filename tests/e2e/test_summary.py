"""Board reporting in Teams: a board role's summary card and the signed link to the full report."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from testkit.chat import PEOPLE, Chat, card_text, cards, running, settings_with

BM = {
    "id": "bm",
    "name": "Bea Marsh",
    "agency": "redbridge-asc",
    "roles": [],
    "board_roles": ["redbridge:business_manager"],
    "teams_user_id": "29:bm",
    "aad_object_id": "aad-bm",
}


async def test_a_board_role_gets_the_summary_and_a_link_that_only_works_as_signed(
    tmp_path: Path,
) -> None:
    async with running(await settings_with(tmp_path, [*PEOPLE, BM]), Chat) as chat:
        for text in (
            "raise",
            "NELFT NHS Foundation Trust",
            "Noah Okafor",
            "ASC-104233",
            "Eligibility criteria and access to services",
            "yes",
            "no",
            "Nursing declined a visit",
            "Falls at home",
            "skip",
            "skip",
            "skip",
            "today",
        ):
            await chat.say("amara", text)
        await chat.say("amara", "yes")

        # (A proactive card for the new case may arrive in the same moment: look for the answer.)
        assert "The board summary is for people with a board role." in await chat.say(
            "amara", "summary"
        )
        await chat.say("bm", "summary")
        [card] = cards(chat.connector, "a:chat-bm")
        text = card_text(card)
        assert "Year to date" in text and "Redbridge Safeguarding Adults Board" in text
        assert "Cases raised" in text and "Immediate risk" in text
        assert "ASC-104233" not in text and "Falls at home" not in text  # counts only
        [link] = [a["url"] for a in card["actions"] if a["type"] == "Action.OpenUrl"]

        parts = urlsplit(link)
        async with chat.http.get(chat.url + parts.path + "?" + parts.query) as r:
            assert r.status == 200 and r.content_type == "text/html"
            page = await r.text()
        assert "Redbridge Safeguarding Adults Board" in page and "ASC-104233" not in page

        query = parse_qs(parts.query)
        forged = urlencode({"expires": query["expires"][0], "sig": "0" * 64})
        async with chat.http.get(chat.url + parts.path + "?" + forged) as r:
            assert r.status == 403
        wider = parts.path.replace(
            parts.path.split("/")[3], "2020-04-01"
        )  # another period, same signature
        async with chat.http.get(chat.url + wider + "?" + parts.query) as r:
            assert r.status == 403
        stale = urlencode({"expires": "1000", "sig": query["sig"][0]})
        async with chat.http.get(chat.url + parts.path + "?" + stale) as r:
            assert r.status == 403
        async with chat.http.get(
            chat.url + "/reports/atlantis/2026-04-01/2026-11-25?expires=1&sig=x"
        ) as r:
            assert r.status == 404
