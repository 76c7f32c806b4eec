"""The HTML report opens in headless Chromium with every chart drawn, offline; a screenshot is kept.

Needs Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) and Python's playwright (never
`playwright install`). Without them the test is skipped, except in CI (env CI set), where it fails.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from escalation.packs import PackRegistry
from reports.figures import board_report
from reports.render import page_headers, to_html, write_report
from reports.sample import generate
from testkit.fakes import InMemoryCaseRepository
from testkit.people import ROOT

ARTIFACTS = ROOT / "artifacts" / "reports"

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need_browser() -> None:
    problems = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("python playwright is not installed")
    if not CHROMIUM.exists():
        problems.append(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if problems:
        message = "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_the_html_report_renders_in_chromium_and_a_screenshot_is_saved(
    packs: PackRegistry,
) -> None:
    _need_browser()
    from playwright.sync_api import Route, sync_playwright

    repository = InMemoryCaseRepository()
    # In a thread of its own: asyncio.run on the test's thread would replace the event loop
    # pytest-asyncio keeps there, leaving it unclosed.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, generate(repository, packs, 300, seed=21)).result()
    report = board_report(
        repository.states.values(),
        packs.get("redbridge"),
        start=date(2025, 4, 1),
        end=date(2026, 3, 31),
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    html_path = ARTIFACTS / "sample-redbridge.html"
    write_report(report, "html", html_path)

    blocked: list[str] = []

    def files_only(route: Route) -> None:
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.route("**/*", files_only)
            page.goto(html_path.resolve().as_uri())
            page.wait_for_load_state("load")
            assert page.title().startswith("Redbridge Safeguarding Adults Board")
            widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            assert len(widths) == 4 and all(w > 300 for w in widths)
            assert page.locator(".synthetic").inner_text().startswith("SYNTHETIC")
            shot = ARTIFACTS / "sample-redbridge.png"
            page.screenshot(path=str(shot), full_page=True)
            page.emulate_media(media="print")
            page.pdf(path=str(ARTIFACTS / "sample-redbridge.pdf"), format="A4")
        finally:
            browser.close()
    assert blocked == []  # the report asked for nothing beyond itself
    assert shot.stat().st_size > 10_000


def test_the_served_page_keeps_its_look_under_its_own_security_policy(
    packs: PackRegistry,
) -> None:
    """Chromium enforces the page's Content-Security-Policy: with it the stylesheet and every
    chart still apply and nothing is refused; a policy without the stylesheet's hash (the
    control) is seen to block it, so this test would catch a hash that no longer matches."""
    _need_browser()
    from playwright.sync_api import Route, sync_playwright

    report = board_report(
        [], packs.get("redbridge"), start=date(2026, 4, 1), end=date(2026, 11, 30)
    )
    html = to_html(report)
    url = "https://reports.example.invalid/reports/redbridge/2026-04-01/2026-11-30"

    def load(headers: dict[str, str]) -> tuple[str, list[int], list[str]]:
        """The h2 border colour, the charts' widths and the console errors, under `headers`."""

        def serve(route: Route) -> None:
            if route.request.url == url:
                route.fulfill(status=200, body=html, headers=headers, content_type="text/html")
            else:
                route.abort()

        errors: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page()
                page.on(
                    "console",
                    lambda m: errors.append(m.text) if m.type == "error" else None,
                )
                page.route("**/*", serve)
                page.goto(url)
                page.wait_for_load_state("load")
                colour = page.eval_on_selector("h2", "h => getComputedStyle(h).borderBottomColor")
                widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            finally:
                browser.close()
        return colour, widths, errors

    headers = page_headers()
    colour, widths, errors = load(headers)
    assert colour == "rgb(0, 114, 178)"  # the stylesheet applied
    assert len(widths) == 4 and all(w > 300 for w in widths)
    assert errors == []

    control = {**headers, "Content-Security-Policy": "default-src 'none'; img-src data:"}
    colour, widths, errors = load(control)
    assert colour != "rgb(0, 114, 178)"
    assert any("Content Security Policy" in e and "style" in e for e in errors), errors
