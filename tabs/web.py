"""The tabs' routes, on the bot's own app (`setup_tabs`): pages, their fragments, downloads.

Pages (no token needed: they hold only the packs' own words):
    GET /tabs/my-cases              the personal tab
    GET /tabs/board?board=ID        the channel tab; /tabs/board/config sets it up
    GET /tabs/static/...            its stylesheet and scripts (the Teams library too)
What needs the person (`Authorization: Bearer <token>`, tabs.auth; 401 without a good one):
    GET /tabs/api/my-cases[.json]?show=&stage=&sort=
    GET /tabs/api/cases/{case_id}
    GET /tabs/api/board/{board}[.json|.csv|.html]?from=&to=&agency=&category=&stage=
Local use only (no app id, on loopback):
    GET /tabs/local/sign-in, POST /tabs/local/token

The person is the token's tenant and object id, found in the directory as the bot finds them
(bot.identity.identify_ids); which cases they see is the core's answer (tabs.my_cases), and the
board's figures are for its board roles only. Every case shown, and every figure page or
download, is recorded in the access log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from bot.identity import Identity, identify_ids
from bot.settings import AppSettings, is_loopback
from escalation.access_log import AccessEntry, Seen, board_subject, record_access
from escalation.calendar import calendar_for
from escalation.case import Case, fold
from escalation.directory import Directory, Person
from escalation.events import Event
from escalation.joining import BoardAgencies
from escalation.packs import PackRegistry
from escalation.policy import PolicyPack
from escalation.timeline import uk_time
from reports.charts import render_charts
from reports.figures import BoardReport, board_report, financial_year_start
from reports.filters import CaseFilter, FilterError
from reports.load import board_cases
from reports.render import to_csv, to_html, to_json
from reports.svg import svg_charts
from storage.stores import Storage
from tabs import pages
from tabs.auth import (
    ENTRA_KEYS_URLS,
    LOCAL_TAB_APP_ID,
    JwksKeys,
    KeySource,
    LocalSigner,
    TabUser,
    TokenError,
    TokenRules,
    aiohttp_fetch,
    api_audiences,
    entra_issuers,
    local_issuers,
    tenants_of,
    verify,
)
from tabs.my_cases import CaseLine, case_detail, case_line, choose

log = logging.getLogger("escalation.tabs")

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
STATIC_FILES: Final = {
    "tab.css": "text/css",
    "tab.js": "text/javascript",
    "vendor/MicrosoftTeams.min.js": "text/javascript",
}
MAX_PERIOD: Final = timedelta(days=366 * 5)

Clock = Callable[[], datetime]


@dataclass
class TabSite:
    """What the tab routes need from the app."""

    settings: AppSettings
    packs: PackRegistry
    storage: Callable[[], Storage]
    clock: Clock
    keys: KeySource
    rules: TokenRules
    signer: LocalSigner | None  # local use only

    @property
    def auth_mode(self) -> str:
        return "local" if self.signer is not None else "entra"

    @property
    def bot_id(self) -> str:
        return self.settings.app_id


TABS: Final = web.AppKey("tabs", TabSite)


def _domain(settings: AppSettings) -> str:
    base = settings.public_base_url or f"http://{settings.host}:{settings.port}"
    return base.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]


def make_site(
    settings: AppSettings,
    packs: PackRegistry,
    storage: Callable[[], Storage],
    clock: Clock,
    *,
    keys: KeySource | None = None,
) -> TabSite:
    """Entra's keys and issuers with an app id; a local key and issuer without one."""
    if settings.anonymous:
        audience = f"api://{_domain(settings)}/{LOCAL_TAB_APP_ID}"
        signer = LocalSigner(audience=audience)
        allowed = tenants_of(settings.allowed_tenants)

        async def local_tenant(tenant_id: str) -> bool:
            if await allowed(tenant_id):
                return True
            snapshot = await storage().directory.snapshot()
            return bool(snapshot.agencies_of_tenant(tenant_id))

        rules = TokenRules(frozenset({audience}), local_issuers, local_tenant)
        return TabSite(settings, packs, storage, clock, keys or signer, rules, signer)
    rules = TokenRules(
        api_audiences(_domain(settings), settings.tab_app_id, settings.tab_app_id_uri),
        entra_issuers,
        tenants_of(settings.allowed_tenants),
    )
    if not settings.tab_app_id:
        log.warning("no TAB_APP_ID: the Teams tabs cannot sign anyone in")
    return TabSite(
        settings,
        packs,
        storage,
        clock,
        keys or JwksKeys(aiohttp_fetch(ENTRA_KEYS_URLS)),
        rules,
        None,
    )


# -- answers ----------------------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _headed(handler: Handler) -> Handler:
    """Every answer under /tabs, refusals too, carries the tabs' headers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(pages.tab_headers())
            raise
        response.headers.update(pages.tab_headers())
        return response

    return wrapped


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _refuse(status: int, message: str) -> web.Response:
    response = _html(pages.problem_fragment(message), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _person(request: web.Request) -> tuple[TabSite, Person]:
    """The person behind the request's token, or a Refusal (401 no good token, 403 not known)."""
    site = request.app[TABS]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refusal(401, "Sign in: this page needs your Teams sign-in.")
    try:
        user = await verify(token.strip(), site.keys, site.rules, site.clock())
    except TokenError as exc:
        log.info("tab sign-in refused: %s", exc)
        raise Refusal(
            401, "Your sign-in was not accepted: reload the tab to sign in again."
        ) from None
    identity = await _identify(site, user)
    if identity.person is None:
        raise Refusal(403, identity.problem)
    return site, identity.person


async def _identify(site: TabSite, user: TabUser) -> Identity:
    return await identify_ids(
        site.storage().directory,
        BoardAgencies.of(site.packs),
        tenant=user.tenant_id,
        teams_user_id=None,
        aad_object_id=user.object_id,
        display_name=user.name,
    )


def _authed(
    handler: Callable[[web.Request, TabSite, Person], Awaitable[web.StreamResponse]],
) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            site, person = await _person(request)
            return await handler(request, site, person)
        except Refusal as refusal:
            return _refuse(refusal.status, refusal.message)

    return _headed(wrapped)


async def _log(site: TabSite, entries: list[AccessEntry]) -> None:
    access_log = site.storage().access_log
    await asyncio.gather(*(record_access(access_log, entry) for entry in entries))


# -- pages ------------------------------------------------------------------------------------------


async def my_cases_page(request: web.Request) -> web.StreamResponse:
    site = request.app[TABS]
    return _html(pages.my_cases_page(list(site.packs), auth=site.auth_mode))


def _board_pack(site: TabSite, board_id: str) -> PolicyPack:
    try:
        return site.packs.get(board_id)
    except (KeyError, ValueError):
        raise Refusal(404, "There is no such board here.") from None


def _default_period(pack: PolicyPack, now: datetime) -> tuple[date, date]:
    today = calendar_for(pack).local_date(now)
    return financial_year_start(today), today


async def board_page(request: web.Request) -> web.StreamResponse:
    site = request.app[TABS]
    board_id = request.query.get("board") or next(iter(site.packs.board_ids()), "")
    try:
        pack = _board_pack(site, board_id)
    except Refusal as refusal:
        return _html(
            pages.page(
                "Board figures",
                "problem",
                pages.problem_fragment(refusal.message),
                auth=site.auth_mode,
            ),
            404,
        )
    start, end = _default_period(pack, site.clock())
    return _html(pages.board_page(pack, start=start, end=end, auth=site.auth_mode))


async def config_page(request: web.Request) -> web.StreamResponse:
    site = request.app[TABS]
    return _html(pages.config_page(list(site.packs), auth=site.auth_mode))


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    kind = STATIC_FILES.get(name)
    if kind is None:
        raise web.HTTPNotFound()
    body = await asyncio.to_thread((STATIC_DIR / name).read_bytes)
    return web.Response(body=body, content_type=kind, charset="utf-8")


# -- my cases ------------------------------------------------------------------------------------------


async def _all_cases(site: TabSite) -> list[Case]:
    storage = site.storage()
    found: list[Case] = []
    for board_id in site.packs.board_ids():
        found += await board_cases(storage, board_id)
    return found


async def _lines(
    site: TabSite, person: Person, directory: Directory, now: datetime
) -> list[CaseLine]:
    """A line for every case the core gives the person a view of (each case is asked)."""
    lines = []
    for case in await _all_cases(site):
        if case.board_id not in site.packs.board_ids():
            continue
        line = case_line(case, site.packs.get(case.board_id), directory, person.id, now)
        if line is not None:
            lines.append(line)
    return lines


async def _chosen(
    request: web.Request, site: TabSite, person: Person
) -> tuple[list[CaseLine], int]:
    now = site.clock()
    directory = await site.storage().directory.snapshot()
    lines = await _lines(site, person, directory, now)
    query = request.query
    picked = choose(
        lines,
        show=query.get("show", "all"),
        stage=query.get("stage", ""),
        sort=query.get("sort", "due"),
    )
    await _log(
        site,
        [
            AccessEntry(line.case_id, person.id, Seen.TAB_LIST, now, str(line.level))
            for line in picked
        ],
    )
    return picked, len(lines)


async def my_cases_fragment(
    request: web.Request, site: TabSite, person: Person
) -> web.StreamResponse:
    picked, total = await _chosen(request, site, person)
    query = request.query
    return _html(
        pages.cases_fragment(
            picked,
            total=total,
            show=query.get("show", "all"),
            stage=query.get("stage", ""),
            bot_id=site.bot_id,
        )
    )


def _line_json(line: CaseLine) -> dict[str, Any]:
    data = asdict(line)
    data["level"] = str(line.level)
    data["raised_at"] = line.raised_at.isoformat()
    if line.next_due is not None:
        data["next_due"] = {
            "label": line.next_due.label,
            "due_at": line.next_due.due_at.isoformat(),
            "describe": line.next_due.describe,
            "working_days": line.next_due.working_days,
            "overdue": line.next_due.overdue,
        }
    return data


async def my_cases_json(request: web.Request, site: TabSite, person: Person) -> web.StreamResponse:
    picked, total = await _chosen(request, site, person)
    body = {"person": person.id, "total": total, "cases": [_line_json(line) for line in picked]}
    return web.json_response(body, dumps=lambda v: json.dumps(v, ensure_ascii=False))


async def _load(site: TabSite, case_id: str) -> tuple[Case, list[Event]] | None:
    stored = await site.storage().cases.load(case_id)
    if stored is None or not stored.events:
        return None
    events = list(stored.events)
    return fold(events), events


async def case_fragment(request: web.Request, site: TabSite, person: Person) -> web.StreamResponse:
    case_id = request.match_info["case_id"]
    nothing = f"There is no case {case_id} that you can see."
    try:
        loaded = await _load(site, case_id)
    except ValueError:  # an id the store refuses as a key: no such case
        loaded = None
    if loaded is None or loaded[0].board_id not in site.packs.board_ids():
        return _refuse(404, nothing)
    case, events = loaded
    now = site.clock()
    directory = await site.storage().directory.snapshot()
    detail = case_detail(case, events, site.packs.get(case.board_id), directory, person.id, now)
    if detail is None:
        return _refuse(404, nothing)  # the same answer as for a case that does not exist
    await _log(site, [AccessEntry(case.id, person.id, Seen.TAB, now, str(detail.view.level))])
    return _html(pages.detail_fragment(detail))


# -- the board's figures -------------------------------------------------------------------------------


def _board_roles(person: Person, board_id: str) -> bool:
    return any(board == board_id for board, _ in person.board_roles)


def _date(text: str, default: date, what: str) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refusal(400, f"The {what} date is not a date: use YYYY-MM-DD.") from None


async def _report(
    request: web.Request, site: TabSite, person: Person
) -> tuple[PolicyPack, BoardReport]:
    pack = _board_pack(site, request.match_info["board"])
    if not _board_roles(person, pack.board.id):
        raise Refusal(403, f"These figures are for people with a role on {pack.board.short_name}.")
    now = site.clock()
    default_start, default_end = _default_period(pack, now)
    query = request.query
    start = _date(query.get("from", ""), default_start, "'from'")
    end = _date(query.get("to", ""), default_end, "'to'")
    if end < start:
        raise Refusal(400, "The period ends before it starts.")
    if end - start > MAX_PERIOD:
        raise Refusal(400, "Choose a period of five years or less.")
    try:
        chosen = CaseFilter(
            query.get("agency", ""), query.get("category", ""), query.get("stage", "")
        ).check(pack)
    except FilterError as exc:
        raise Refusal(400, str(exc)) from None
    cases = chosen.select(await board_cases(site.storage(), pack.board.id))
    report = chosen.note(board_report(cases, pack, start=start, end=end), pack)
    await _log(site, [AccessEntry(board_subject(pack.board.id), person.id, Seen.REPORT, now)])
    return pack, report


async def board_fragment(request: web.Request, site: TabSite, person: Person) -> web.StreamResponse:
    try:
        pack, report = await _report(request, site, person)
    except Refusal as refusal:
        return _refuse(refusal.status, refusal.message)
    as_of = uk_time(site.clock(), calendar_for(pack).tz)
    return _html(pages.board_fragment(report, svg_charts(report), as_of=as_of))


def _download(report: BoardReport, suffix: str) -> str:
    return f"{report.board_id}-escalations-{report.start.isoformat()}-to-{report.end.isoformat()}.{suffix}"


async def board_file(request: web.Request, site: TabSite, person: Person) -> web.StreamResponse:
    fmt = request.match_info["fmt"]
    try:
        _, report = await _report(request, site, person)
    except Refusal as refusal:
        return _refuse(refusal.status, refusal.message)
    if fmt == "json":
        return web.Response(text=to_json(report), content_type="application/json", charset="utf-8")
    if fmt == "csv":
        response = web.Response(text=to_csv(report), content_type="text/csv", charset="utf-8")
    else:
        # Drawing the PNG charts is CPU work: keep it off the event loop.
        text = await asyncio.to_thread(lambda: to_html(report, render_charts(report)))
        response = web.Response(text=text, content_type="text/html", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{_download(report, fmt)}"'
    return response


# -- local sign-in ------------------------------------------------------------------------------------


def _local_only(request: web.Request) -> None:
    if request.app[TABS].signer is None or not is_loopback(request.remote or ""):
        raise web.HTTPNotFound()


async def _sample_people(site: TabSite) -> list[tuple[str, str, str, str, str]]:
    """(id, name, what they are, tenant, object id) of everyone who could sign in to Teams."""
    directory = site.storage().directory
    snapshot = await directory.snapshot()
    agencies = BoardAgencies.of(site.packs)
    people = []
    for person in sorted(snapshot.people.values(), key=lambda p: p.name):
        ids = await directory.teams_ids(person.id)
        tenants = sorted(snapshot.agency(person.agency_id).tenants)
        if ids is None or not ids[1] or not tenants:
            continue
        roles = [r.replace("_", " ") for r in sorted(person.roles)]
        roles += [
            f"{role.replace('_', ' ')} ({board})" for board, role in sorted(person.board_roles)
        ]
        about = f"{agencies.name(person.agency_id)}: {', '.join(roles) or 'no role'}"
        if not person.active:
            about += f" ({person.status.value})"
        people.append((person.id, person.name, about, tenants[0], ids[1]))
    return people


async def sign_in_page(request: web.Request) -> web.StreamResponse:
    _local_only(request)
    site = request.app[TABS]
    next_path = request.query.get("next", "/tabs/my-cases")
    if not next_path.startswith("/tabs/") or next_path.startswith("//"):
        next_path = "/tabs/my-cases"
    people = [(p[0], p[1], p[2]) for p in await _sample_people(site)]
    return _html(pages.sign_in_page(people, next_path=next_path))


async def local_token(request: web.Request) -> web.StreamResponse:
    _local_only(request)
    site = request.app[TABS]
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text='send JSON: {"person": ID}')
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise web.HTTPForbidden(text="another site may not sign people in here")
    try:
        wanted = str((await request.json())["person"])
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest(text='send JSON: {"person": ID}') from None
    found = next((p for p in await _sample_people(site) if p[0] == wanted), None)
    if found is None or site.signer is None:
        raise web.HTTPNotFound(text="nobody of that id can sign in")
    token = site.signer.mint(
        tenant_id=found[3], object_id=found[4], name=found[1], now=site.clock()
    )
    return web.json_response({"token": token, "name": found[1]})


# -- wiring ------------------------------------------------------------------------------------------------


def setup_tabs(app: web.Application, site: TabSite) -> None:
    app[TABS] = site
    add = app.router.add_get
    add("/tabs/my-cases", _headed(my_cases_page))
    add("/tabs/board", _headed(board_page))
    add("/tabs/board/config", _headed(config_page))
    add("/tabs/static/{name:.+}", _headed(static_file))
    add("/tabs/api/my-cases", _authed(my_cases_fragment))
    add("/tabs/api/my-cases.json", _authed(my_cases_json))
    add("/tabs/api/cases/{case_id}", _authed(case_fragment))
    add("/tabs/api/board/{board}", _authed(board_fragment))
    add("/tabs/api/board/{board}/report.{fmt:json|csv|html}", _authed(board_file))
    if site.signer is not None:
        add("/tabs/local/sign-in", _headed(sign_in_page))
        app.router.add_post("/tabs/local/token", _headed(local_token))
