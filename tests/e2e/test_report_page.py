"""The report page over HTTP: never cached, framed or sent on as a referrer, and its policy lets
in exactly what the page uses (its one stylesheet by hash, its data: charts) and nothing else."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from app import LINKS, STORAGE, create_app
from bot.settings import AppSettings
from escalation.access_log import board_subject
from storage.settings import StorageSettings
from testkit.connector import serve


@dataclass
class Site:
    url: str
    http: aiohttp.ClientSession
    signed: str  # path and query of a valid link to Redbridge's report


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    settings = AppSettings(
        storage=StorageSettings(None, tmp_path / "data"), report_link_secret=b"s" * 32
    )
    app = create_app(settings)
    link = urlsplit(app[LINKS].make("redbridge", date(2026, 4, 1), date(2026, 11, 30), viewer="bm"))
    async with serve(app) as url, aiohttp.ClientSession() as http:
        yield Site(url, http, f"{link.path}?{link.query}")


def directives(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    policy = headers["Content-Security-Policy"]
    found = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        found[name] = value
    return found


def assert_safe_headers(headers: CIMultiDictProxy[str]) -> None:
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    policy = directives(headers)
    assert policy["default-src"] == "'none'"
    assert policy["img-src"] == "data:"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["form-action"] == "'none'"
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", policy["style-src"])
    assert "unsafe" not in headers["Content-Security-Policy"]


async def test_the_report_page_is_served_with_its_safety_headers(site: Site) -> None:
    async with site.http.get(site.url + site.signed) as response:
        assert response.status == 200 and response.content_type == "text/html"
        assert_safe_headers(response.headers)
        style_source = directives(response.headers)["style-src"]
        page = await response.text()

    # What the page holds is what the policy lets in: one <style>, matching the hash; no inline
    # style attribute or script; every image a data: URI.
    [style] = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    assert style_source == f"'sha256-{digest}'"
    assert " style=" not in page and "<script" not in page and "<link" not in page
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)

    async with site.http.head(site.url + site.signed) as response:
        assert response.status == 200
        assert_safe_headers(response.headers)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        pytest.param(lambda p: p.replace("sig=", "sig=0"), 403, id="forged"),
        pytest.param(lambda p: p.replace("/redbridge/", "/atlantis/"), 404, id="unknown-board"),
        pytest.param(lambda p: p.replace("/2026-04-01/", "/2026-13-01/"), 404, id="bad-date"),
    ],
)
async def test_its_refusals_carry_the_same_headers(
    site: Site, change: Callable[[str], str], status: int
) -> None:
    async with site.http.get(site.url + change(site.signed)) as response:
        assert response.status == status
        assert response.content_type == "application/json"
        assert_safe_headers(response.headers)


async def test_a_storage_outage_is_a_503_with_the_same_headers(tmp_path: Path) -> None:
    settings = AppSettings(
        storage=StorageSettings(None, tmp_path / "data"), report_link_secret=b"s" * 32
    )
    app = create_app(settings)
    link = urlsplit(app[LINKS].make("redbridge", date(2026, 4, 1), date(2026, 11, 30), viewer="bm"))
    async with serve(app) as url, aiohttp.ClientSession() as http:
        await app[STORAGE].store.close()  # the store stops answering
        async with http.get(f"{url}{link.path}?{link.query}") as response:
            assert response.status == 503
            assert "try the link again" in (await response.json())["error"]
            assert_safe_headers(response.headers)


async def test_opening_a_report_is_logged_under_the_board_for_whom_the_link_was_made(
    tmp_path: Path,
) -> None:
    settings = AppSettings(
        storage=StorageSettings(None, tmp_path / "data"), report_link_secret=b"s" * 32
    )
    app = create_app(settings)
    link = urlsplit(app[LINKS].make("redbridge", date(2026, 4, 1), date(2026, 11, 30), viewer="bm"))
    async with serve(app) as url, aiohttp.ClientSession() as http:
        # The link names its viewer under the signature: another name is a forgery.
        forged = link.query.replace("by=bm", "by=chair")
        async with http.get(f"{url}{link.path}?{forged}") as response:
            assert response.status == 403
        async with http.get(f"{url}{link.path}?{link.query}") as response:
            assert response.status == 200
        seen = await app[STORAGE].access_log.entries(board_subject("redbridge"))
    assert [(e.who, e.what) for e in seen] == [("bm", "report")]
