"""The tabs over HTTP, on a local app with SYNTHETIC cases: each person is shown exactly the cases
the core gives them a view of, at that level; the board's figures are the report's; no token or a
bad one gets 401; the pages carry headers that let Teams frame them and nothing else in; every
view is in the access log."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest

from bootstrap.build import open_storage
from escalation.access import ViewLevel
from escalation.access_log import Seen, board_subject
from tabs.pages import FRAME_ANCESTORS
from tabs.web import TABS
from tests.tabs.site import START, TENANT, Running, Seeded, cli_report, running, seeded_in_thread


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """One store of SYNTHETIC cases for the module (each test adds to its access log only)."""
    return seeded_in_thread(tmp_path_factory.mktemp("tabs"), cases=50)


@pytest.fixture
async def app(seeded: Seeded) -> AsyncIterator[Running]:
    async with running(seeded.settings) as started:
        yield started


def people(seeded: Seeded) -> list[str]:
    """A spread of people: parties, managers, senior managers and leads, and board roles."""
    chosen = sorted(seeded.directory.people)
    return chosen[:: max(1, len(chosen) // 25)] + [
        p.id for p in seeded.directory.people.values() if p.board_roles
    ]


async def test_each_person_sees_exactly_the_cases_the_core_allows(
    app: Running, seeded: Seeded
) -> None:
    checked_copy = checked_full = 0
    for person_id in people(seeded):
        token = await app.token(person_id)
        status, text, _ = await app.get("/tabs/api/my-cases.json", token)
        assert status == 200, text
        shown = {c["case_id"]: c["level"] for c in json.loads(text)["cases"]}
        expected = {k: str(v) for k, v in seeded.visible(person_id).items()}
        assert shown == expected, person_id
        checked_copy += sum(v == ViewLevel.COPY for v in shown.values())
        checked_full += sum(v == ViewLevel.FULL for v in shown.values())
    assert checked_copy and checked_full  # both levels were exercised


async def test_the_filters_pick_from_the_persons_own_cases(app: Running, seeded: Seeded) -> None:
    person_id = max(people(seeded), key=lambda p: len(seeded.visible(p)))
    token = await app.token(person_id)
    everything = json.loads((await app.get("/tabs/api/my-cases.json", token))[1])["cases"]
    for show in ("open", "closed", "overdue", "waiting"):
        text = (await app.get(f"/tabs/api/my-cases.json?show={show}", token))[1]
        picked = json.loads(text)["cases"]
        assert {c["case_id"] for c in picked} <= {c["case_id"] for c in everything}
        if show == "closed":
            assert all(c["status"] == "closed" for c in picked)
        if show == "open":
            assert all(c["status"] != "closed" for c in picked)
        if show == "overdue":
            assert all(c["overdue"] for c in picked)
        if show == "waiting":
            assert all(c["waiting_on_me"] for c in picked)
    stage = everything[0]["stage_id"]
    text = (await app.get(f"/tabs/api/my-cases.json?stage={stage}", token))[1]
    assert {c["stage_id"] for c in json.loads(text)["cases"]} == {stage}


async def test_a_copy_names_nobody_and_quotes_no_issue(app: Running, seeded: Seeded) -> None:
    manager = next(p for p in seeded.directory.people.values() if p.board_roles)
    copies = [k for k, v in seeded.visible(manager.id).items() if v == ViewLevel.COPY]
    assert copies
    token = await app.token(manager.id)
    names = {p.name for p in seeded.directory.people.values()} - {manager.name}
    for case_id in copies[:5]:
        case = next(c for c in seeded.cases if c.id == case_id)
        status, text, _ = await app.get(f"/tabs/api/cases/{case_id}", token)
        assert status == 200
        assert "What happened" in text and "Deadlines" in text
        assert not [n for n in names if n in text], case_id
        issue = case.details.get("issue", "")
        assert issue and issue not in text
        for party in case.parties:
            assert party.name not in text
    listed = (await app.get("/tabs/api/my-cases", token))[1]
    assert not [n for n in names if n in listed]


async def test_the_full_view_names_who_did_what(app: Running, seeded: Seeded) -> None:
    case = seeded.cases[0]
    raiser = case.raiser.person_id
    assert raiser is not None
    token = await app.token(raiser)
    status, text, _ = await app.get(f"/tabs/api/cases/{case.id}", token)
    assert status == 200
    assert case.receiver.name in text  # the other professional, as the card names them
    assert "Raised the disagreement with" in text
    assert re.search(r"(Met|Missed) the deadline|Deadline set", text)


async def test_a_case_nobody_may_see_and_one_that_does_not_exist_get_one_answer(
    app: Running, seeded: Seeded
) -> None:
    outsider = next(
        p for p in sorted(seeded.directory.people) if len(seeded.visible(p)) < len(seeded.cases)
    )
    hidden = next(c.id for c in seeded.cases if c.id not in seeded.visible(outsider))
    token = await app.token(outsider)
    status, text, _ = await app.get(f"/tabs/api/cases/{hidden}", token)
    missing_status, missing, _ = await app.get("/tabs/api/cases/RB-2026-NOSUCH", token)
    assert status == missing_status == 404
    assert text.replace(hidden, "X") == missing.replace("RB-2026-NOSUCH", "X")


@pytest.mark.parametrize(
    "path",
    [
        "/tabs/api/my-cases",
        "/tabs/api/my-cases.json",
        "/tabs/api/cases/syn-RB-2026-000001",
        "/tabs/api/board/redbridge",
        "/tabs/api/board/redbridge/report.csv",
    ],
)
async def test_no_token_or_a_bad_one_gets_401(app: Running, path: str) -> None:
    for bad in (None, "", "not-a-token", "a.b.c"):
        status, _, headers = await app.get(path, bad)
        assert status == 401
        assert headers["Cache-Control"] == "no-store"
        assert headers["WWW-Authenticate"].startswith("Bearer")
    # A good token, but expired by the app's clock.
    signer = app.app[TABS].signer
    assert signer is not None
    old = signer.mint(
        tenant_id=TENANT,
        object_id="oid-syn-redbridge-asc-pr1",
        name="",
        now=START.replace(year=2025),
    )
    assert (await app.get(path, old))[0] == 401


async def test_a_good_token_for_someone_the_directory_does_not_know_gets_403(
    app: Running,
) -> None:
    signer = app.app[TABS].signer
    assert signer is not None
    stranger = signer.mint(tenant_id=TENANT, object_id="oid-nobody", name="X", now=START)
    status, text, _ = await app.get("/tabs/api/my-cases", stranger)
    assert status == 403 and "directory" in text


async def test_the_board_tab_gives_the_reports_figures_to_board_roles_only(
    app: Running, seeded: Seeded
) -> None:
    manager = next(
        p
        for p in seeded.directory.people.values()
        if ("redbridge", "business_manager") in p.board_roles
    )
    token = await app.token(manager.id)
    period = "from=2026-04-01&to=2026-11-25"
    status, text, _ = await app.get(f"/tabs/api/board/redbridge/report.json?{period}", token)
    assert status == 200
    expected = cli_report(
        seeded.settings, "--policy", "redbridge", "--from", "2026-04-01", "--to", "2026-11-25"
    )
    assert json.loads(text) == expected
    assert expected["raised"] > 0
    # Filtered, the same as the command line with the same filter.
    status, text, _ = await app.get(
        f"/tabs/api/board/redbridge/report.json?{period}&agency=nelft&stage=2", token
    )
    filtered = cli_report(
        seeded.settings,
        "--policy", "redbridge", "--from", "2026-04-01", "--to", "2026-11-25",
        "--agency", "nelft", "--stage", "2",
    )  # fmt: skip
    assert status == 200 and json.loads(text) == filtered
    assert filtered["notes"] and filtered["raised"] <= expected["raised"]
    # The page fragment: the same tables, the four charts in SVG, no names.
    status, text, _ = await app.get(f"/tabs/api/board/redbridge?{period}", token)
    assert status == 200
    assert text.count("<svg") == 4 and "<script" not in text and " style=" not in text
    assert f'data-raised="{expected["raised"]}"' in text
    assert not [p.name for p in seeded.directory.people.values() if p.name in text]
    # Downloads: CSV and the HTML report.
    status, csv_text, headers = await app.get(
        f"/tabs/api/board/redbridge/report.csv?{period}", token
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    assert f"Cases raised,{expected['raised']}" in csv_text
    # Someone without a role on this board is refused; so is a bad period.
    practitioner = next(p for p in sorted(seeded.directory.people) if "-pr1" in p)
    other = await app.get(f"/tabs/api/board/redbridge?{period}", await app.token(practitioner))
    assert other[0] == 403
    assert (await app.get("/tabs/api/board/redbridge?from=2026-05-01&to=2026-04-01", token))[
        0
    ] == 400
    assert (await app.get("/tabs/api/board/redbridge?agency=nobody", token))[0] == 400
    assert (await app.get("/tabs/api/board/nowhere", token))[0] == 404


async def test_every_tab_view_is_in_the_access_log(app: Running, seeded: Seeded) -> None:
    manager = next(
        p
        for p in seeded.directory.people.values()
        if ("redbridge", "business_manager") in p.board_roles
    )
    token = await app.token(manager.id)
    listed = json.loads((await app.get("/tabs/api/my-cases.json", token))[1])["cases"]
    opened = listed[0]["case_id"]
    await app.get(f"/tabs/api/cases/{opened}", token)
    await app.get("/tabs/api/board/redbridge", token)
    storage = await open_storage(seeded.settings.storage)
    try:
        entries = await storage.access_log.entries(opened)
        board = await storage.access_log.entries(board_subject("redbridge"))
    finally:
        await storage.close()
    mine = [(e.who, e.what, e.view) for e in entries]
    assert (manager.id, Seen.TAB_LIST.value, listed[0]["level"]) in mine
    assert (manager.id, Seen.TAB.value, listed[0]["level"]) in mine
    assert (manager.id, Seen.REPORT.value, "") in [(e.who, e.what, e.view) for e in board]


async def test_the_pages_let_teams_frame_them_and_nothing_else_in(app: Running) -> None:
    for path in ("/tabs/my-cases", "/tabs/board?board=harrow", "/tabs/board/config"):
        status, page, headers = await app.get(path, None)
        assert status == 200
        policy = dict(
            (part.strip().partition(" ")[0], part.strip().partition(" ")[2])
            for part in headers["Content-Security-Policy"].split(";")
        )
        assert policy["default-src"] == "'none'"
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        assert policy["connect-src"] == "'self'"
        assert policy["frame-ancestors"].split() == list(FRAME_ANCESTORS)
        for host in (
            "https://teams.microsoft.com",
            "https://*.teams.microsoft.com",
            "https://outlook.office.com",
        ):
            assert host in policy["frame-ancestors"]
        assert "unsafe" not in headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in headers  # it would stop Teams framing the tab
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
        # Only this app's own script and stylesheet: no inline script or style, no other host.
        assert re.findall(r"<script[^>]*>", page) == ['<script src="/tabs/static/tab.js" defer>']
        assert " style=" not in page and "<style" not in page
        assert "http://" not in page and "https://" not in page
    status, _, headers = await app.get("/tabs/static/vendor/MicrosoftTeams.min.js", None)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert (await app.get("/tabs/static/../app.py", None))[0] == 404
    assert (await app.get("/tabs/static/nothing.js", None))[0] == 404


async def test_the_local_sign_in_mints_only_for_people_of_the_directory(app: Running) -> None:
    async with app.http.post(f"{app.url}/tabs/local/token", json={"person": "nobody"}) as r:
        assert r.status == 404
    async with app.http.post(f"{app.url}/tabs/local/token", data="person=x") as r:
        assert r.status == 415
    async with app.http.post(
        f"{app.url}/tabs/local/token",
        json={"person": "syn-redbridge-asc-pr1"},
        headers={"Origin": "https://evil.example"},
    ) as r:
        assert r.status == 403
    status, page, _ = await app.get("/tabs/local/sign-in", None)
    assert status == 200 and "Synthetic Practitioner 1" in page
