"""Both tabs in headless Chromium, as sample people signed in with locally minted tokens: each
person is shown exactly the cases the core allows; the board tab's figures are those of
`escalation report --format json` for the same period; axe-core finds no WCAG 2.2 AA violation
in the light, dark and high-contrast themes, at a desktop width and a phone's; the pages load
nothing from any other host and break nothing of their Content-Security-Policy.

Needs Debian's Chromium (/usr/bin/chromium, or $CHROMIUM), Python's playwright (never
`playwright install`) and node_modules (axe-core). Skipped without them, except in CI.
Bounded: one browser, a few pages, every wait 20 s at most.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from escalation.access import ViewLevel
from tests.tabs.site import Running, Seeded, cli_report, running, seeded_in_thread

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "artifacts" / "tabs"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT = 20_000  # ms
AXE_PATH = "/tabs/static/axe-under-test.js"  # served by the test's route, same origin
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _need_browser() -> None:
    problems = []
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        problems.append("python playwright is not installed")
    if not CHROMIUM.exists():
        problems.append(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if not AXE.exists():
        problems.append("no node_modules/axe-core (npm ci)")
    if problems:
        message = "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_in_thread(tmp_path_factory.mktemp("tabs-browser"), cases=40)


@pytest.fixture
async def app(seeded: Seeded) -> AsyncIterator[Running]:
    async with running(seeded.settings) as started:
        yield started


class Watch:
    """What a page asked for beyond the app, and what its policy refused."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.elsewhere: list[str] = []
        self.csp: list[str] = []
        self.errors: list[str] = []

    async def route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.origin + AXE_PATH):
            await route.fulfill(
                body=AXE.read_text(encoding="utf-8"), content_type="text/javascript"
            )
        elif url.startswith((self.origin + "/", "blob:", "data:")):
            await route.continue_()
        else:
            self.elsewhere.append(url)
            await route.abort()

    def console(self, message: Any) -> None:
        if message.type == "error":
            text = message.text
            (self.csp if "Content Security Policy" in text else self.errors).append(text)


async def open_page(browser: Any, app: Running, watch: Watch, *, width: int = 1100) -> Any:
    context = await browser.new_context(
        viewport={"width": width, "height": 900}, accept_downloads=True, locale="en-GB"
    )
    page = await context.new_page()
    page.set_default_timeout(WAIT)
    await page.route("**/*", watch.route)
    page.on("console", watch.console)
    return page


async def sign_in(page: Any, app: Running, person_id: str, next_path: str) -> None:
    await page.goto(f"{app.url}/tabs/local/sign-in?next={next_path}")
    await page.locator(f'button[name="person"][value="{person_id}"]').click()
    await page.wait_for_url(re.compile(re.escape(next_path.split("?")[0])))


async def axe(page: Any, label: str) -> None:
    await page.add_script_tag(url=AXE_PATH)
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    found = [
        f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']][:3]})"
        for v in result["violations"]
    ]
    assert found == [], f"{label}: {found}"


async def themes_pass_axe(page: Any, label: str) -> None:
    """Light, dark (the browser's preference) and Teams' high-contrast theme."""
    await page.emulate_media(color_scheme="light")
    await axe(page, f"{label}, light")
    await page.emulate_media(color_scheme="dark")
    await axe(page, f"{label}, dark")
    await page.evaluate("document.documentElement.dataset.theme = 'contrast'")
    await axe(page, f"{label}, high contrast")
    await page.evaluate("delete document.documentElement.dataset.theme")
    await page.emulate_media(color_scheme="light")


def _people(seeded: Seeded) -> list[str]:
    by_count = sorted(seeded.directory.people, key=lambda p: (-len(seeded.visible(p)), p))
    practitioner = next(p for p in by_count if "-pr" in p and seeded.visible(p))
    manager = next(p for p in by_count if p.endswith("-lm") and seeded.visible(p))
    board = next(
        p.id
        for p in seeded.directory.people.values()
        if ("redbridge", "business_manager") in p.board_roles
    )
    return [practitioner, manager, board]


async def test_the_tabs_in_chromium(app: Running, seeded: Seeded) -> None:
    _need_browser()
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    watch = Watch(app.url)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for number, person_id in enumerate(_people(seeded)):
                width = 360 if number == 0 else 1100  # a phone, then Teams' desktop
                page = await open_page(browser, app, watch, width=width)
                await sign_in(page, app, person_id, "/tabs/my-cases")
                await page.wait_for_selector("#results[data-state=loaded]")
                shown = await page.eval_on_selector_all(
                    "article.case", "cases => cases.map(c => c.dataset.caseId)"
                )
                expected = seeded.visible(person_id)
                assert sorted(shown) == sorted(expected), person_id
                copies = await page.locator(".badge.copy").count()
                assert copies == sum(v == ViewLevel.COPY for v in expected.values())
                # A case's timeline, opened in place.
                await page.locator("details[data-case] summary").first.click()
                await page.wait_for_selector(
                    "details[open] .detail[data-state=loaded] ol.timeline li"
                )
                if number == 0:
                    no_scroll = await page.evaluate(
                        "document.documentElement.scrollWidth <= window.innerWidth"
                    )
                    assert no_scroll, "the list scrolls sideways on a phone"
                await page.screenshot(
                    path=str(ARTIFACTS / f"my-cases-{number}.png"), full_page=True
                )
                await themes_pass_axe(page, f"my cases ({person_id}, {width}px)")
                # The filters: only overdue cases, every one marked so.
                await page.select_option("#f-show", "overdue")
                await page.locator("#filters button[type=submit]").click()
                await page.wait_for_selector("#results[data-state=loaded]")
                marked = await page.locator("article.case").count()
                assert marked == await page.locator("article.case .badge.overdue").count()
                await page.context.close()

            board = _people(seeded)[2]
            page = await open_page(browser, app, watch)
            await sign_in(page, app, board, "/tabs/board?board=redbridge")
            await page.wait_for_selector("#results .report")
            start = await page.input_value("#f-from")
            end = await page.input_value("#f-to")
            assert (start, end) == (
                "2026-04-01",
                "2026-11-25",
            )  # the app's clock, not the machine's
            figures = cli_report(
                seeded.settings, "--policy", "redbridge", "--from", start, "--to", end
            )
            await _same_figures(page, figures)
            assert await page.locator("#results svg.chart").count() == 4
            await page.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)
            await themes_pass_axe(page, "board figures")
            # Filtered by a stage reached: still the command line's figures.
            await page.select_option("#f-stage", "2")
            await page.locator("#board-filters button[type=submit]").click()
            await page.wait_for_selector("#results[data-state=loaded]")
            await page.wait_for_selector("#results .report")
            filtered = cli_report(
                seeded.settings,
                "--policy",
                "redbridge",
                "--from",
                start,
                "--to",
                end,
                "--stage",
                "2",
            )
            await _same_figures(page, filtered)
            # The CSV download is the report's.
            async with page.expect_download() as waiting:
                await page.locator('button[data-download="csv"]').click()
            download = await waiting.value
            saved = ARTIFACTS / "board.csv"
            await download.save_as(str(saved))
            assert f"Cases raised,{filtered['raised']}" in saved.read_text(encoding="utf-8")
            await page.context.close()

            # Someone without a board role sees why, not figures (the browser logs the 403).
            before = len(watch.errors)
            page = await open_page(browser, app, watch)
            await sign_in(page, app, _people(seeded)[0], "/tabs/board?board=redbridge")
            await page.wait_for_selector("#results .problem")
            assert await page.locator("#results .report").count() == 0
            await page.context.close()
            refused = watch.errors[before:]
            assert refused and all("403" in e for e in refused)
            del watch.errors[before:]
        finally:
            await browser.close()
    assert watch.elsewhere == []  # nothing from any other host
    assert watch.csp == []  # nothing the pages' policy had to refuse
    assert watch.errors == []


async def _same_figures(page: Any, figures: dict[str, Any]) -> None:
    summary = await page.eval_on_selector_all(
        "#summary tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    values = dict((row[0], row[1]) for row in summary)
    assert values["Cases raised"] == str(figures["raised"])
    assert values["Open"] == str(figures["open"])
    assert values["Closed"] == str(figures["closed"])
    assert values["Resolved (not yet closed)"] == str(figures["resolved"])
    assert values["Immediate risk"] == str(figures["immediate_risk"])
    stages = await page.eval_on_selector_all(
        "#by-stage tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    expected = [
        [r["stage"], r["name"], str(r["reached"]), str(r["ended_resolved"]), str(r["ended_open"])]
        for r in figures["by_stage"]
        if r["reached"] or r["track"] == figures.get("default_track", "main")
    ]
    assert stages == expected
    agencies = await page.eval_on_selector_all(
        "#clocks-by-agency tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    wanted = [[r["agency"], str(r["met"]), str(r["missed"])] for r in figures["clocks_by_agency"]]
    assert agencies == (wanted or [["None"]])
