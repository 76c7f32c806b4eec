"""The tabs' HTML: the pages Teams frames, and the fragments their script puts in them.

Every page is the same shell: an external stylesheet and one external script, `tab.js`, which
loads the Teams JavaScript client library (served from this app) when Teams frames the page; no
inline script or style, so
the pages run under a strict Content-Security-Policy (`tab_headers`). The forms are drawn here,
from the packs (stages, agencies, categories: no personal data), so the pages open before the
person is known; what needs the person comes as a fragment, for a token. Every value that came
from a person or a pack is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from html import escape
from typing import Final
from urllib.parse import quote

from escalation.access import ViewLevel
from escalation.policy import PolicyPack
from reports.figures import BoardReport
from reports.render import report_body, title_of
from reports.svg import SvgChart
from tabs.my_cases import FILTERS, SORTS, CaseDetail, CaseLine

# Where Teams, and the Microsoft 365 and Outlook hosts that run Teams apps, may frame the tabs
# (Microsoft's "Prerequisites" for tabs: the frame-ancestors of each host, with the
# *.cloud.microsoft domains the web clients are moving to).
FRAME_ANCESTORS: Final = (
    "'self'",
    "https://teams.microsoft.com",
    "https://*.teams.microsoft.com",
    "https://*.cloud.microsoft",
    "https://*.microsoft365.com",
    "https://*.office.com",
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://outlook-sdf.office.com",
    "https://outlook-sdf.office365.com",
)

STATIC: Final = "/tabs/static"


def tab_headers() -> dict[str, str]:
    """Headers for every answer under /tabs: framed only by Teams' hosts, scripts and styles
    only from this app, nothing from anywhere else, never stored, no referrer."""
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            f"frame-ancestors {' '.join(FRAME_ANCESTORS)}",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def page(
    title: str, page_id: str, body: str, *, auth: str, data: Mapping[str, str] | None = None
) -> str:
    """A whole page: `auth` is "entra" (in Teams) or "local" (this machine's sample people)."""
    attrs = "".join(f' data-{_e(k)}="{_e(v)}"' for k, v in (data or {}).items())
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en-GB">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>{_e(title)}</title>",
            f'<link rel="stylesheet" href="{STATIC}/tab.css">',
            f'<script src="{STATIC}/tab.js" defer></script>',
            "</head>",
            f'<body data-page="{_e(page_id)}" data-auth="{_e(auth)}"{attrs}>',
            '<a class="skip" href="#main">Skip to the content</a>',
            '<main id="main">',
            body,
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _select(name: str, label: str, options: Iterable[tuple[str, str]], chosen: str = "") -> str:
    items = "".join(
        f'<option value="{_e(v)}"{" selected" if v == chosen else ""}>{_e(t)}</option>'
        for v, t in options
    )
    return (
        f'<div class="field"><label for="f-{_e(name)}">{_e(label)}</label>'
        f'<select id="f-{_e(name)}" name="{_e(name)}">{items}</select></div>'
    )


def _status(message: str) -> str:
    return f'<p class="status" role="status">{_e(message)}</p>'


# -- My cases ----------------------------------------------------------------------------------------


def my_cases_page(packs: Sequence[PolicyPack], *, auth: str) -> str:
    stages: dict[str, str] = {}
    for pack in packs:
        for stage in pack.stages:
            stages.setdefault(stage.id, f"Stage {stage.id}: {stage.short_name}")
    body = "\n".join(
        [
            '<header class="top"><h1>My cases</h1>',
            '<p class="lead">Every case you are a party to or act on, as the bot shows it to '
            "you. To act on a case, open it in your chat with the bot: the buttons are on its "
            "card.</p></header>",
            '<form id="filters" class="filters" action="/tabs/my-cases" method="get" '
            'aria-label="Choose cases">',
            _select("show", "Show", ((k, v[0]) for k, v in FILTERS.items()), "all"),
            _select("stage", "Stage", [("", "Any stage"), *stages.items()]),
            _select("sort", "Order", ((k, v[0]) for k, v in SORTS.items()), "due"),
            '<div class="field actions"><button type="submit">Show cases</button></div>',
            "</form>",
            '<section id="results" class="results" aria-live="polite" aria-label="Cases">',
            _status("Signing you in…"),
            "</section>",
        ]
    )
    return page("My cases", "my-cases", body, auth=auth)


def chat_link(bot_id: str, case_id: str) -> str:
    """A Teams deep link to the person's chat with the bot, with `case ID` ready to send."""
    return (
        f"https://teams.microsoft.com/l/chat/0/0?users=28:{quote(bot_id, safe='')}"
        f"&message={quote(f'case {case_id}', safe='')}"
    )


def _line(line: CaseLine, bot_id: str) -> str:
    copy = line.level == ViewLevel.COPY
    badges = []
    if line.immediate_risk:
        badges.append('<span class="badge risk">Immediate risk</span>')
    if line.overdue:
        badges.append('<span class="badge overdue">Overdue</span>')
    if line.waiting_on_me:
        badges.append('<span class="badge mine">Waiting on you</span>')
    if copy:
        badges.append(f'<span class="badge copy">{_e(line.board_short_name)} copy</span>')
    if line.status != "open":
        badges.append(f'<span class="badge done">{_e(line.status.capitalize())}</span>')
    facts = [
        ("Adult's case reference", line.adult_reference or "not given"),
        ("Other agency" if not copy else "Agencies", line.agencies),
        ("Stage", f"{line.stage_id}: {line.stage_name}"),
        ("Raised", line.raised),
    ]
    if line.status == "closed":
        facts.append(("Next deadline", "none: the case is closed"))
    elif line.status == "resolved":
        facts.append(("Next deadline", "none: resolved, to be closed"))
    else:
        facts.append(
            (
                "Next deadline",
                line.next_due.describe if line.next_due else "nothing due at this stage",
            )
        )
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    if line.overdue:
        rows += (
            "<dt>Overdue</dt><dd><ul>"
            + "".join(f"<li>{_e(o)}</li>" for o in line.overdue)
            + "</ul></dd>"
        )
    if line.waiting_on_me:
        rows += (
            "<dt>Waiting on you</dt><dd><ul>"
            + "".join(f"<li>{_e(w)}</li>" for w in line.waiting_on_me)
            + "</ul></dd>"
        )
    message = f"case {line.case_id}"
    if bot_id:
        open_in_chat = (
            f'<a class="button" data-deeplink href="{_e(chat_link(bot_id, line.case_id))}" '
            f'target="_blank" rel="noopener">Open case {_e(line.case_id)} in the chat with the bot</a>'
        )
    else:
        open_in_chat = ""
    fallback = (
        f'<p class="hint">{"Or, i" if bot_id else "I"}n your chat with the bot, send '
        f"<kbd>{_e(message)}</kbd>: the case card comes back with the buttons you may use.</p>"
    )
    return "\n".join(
        [
            f'<li><article class="case" data-case-id="{_e(line.case_id)}" '
            f'aria-labelledby="h-{_e(line.case_id)}">',
            f'<h2 id="h-{_e(line.case_id)}">{_e(line.case_id)} '
            f'<span class="board">({_e(line.board_short_name)})</span></h2>',
            f'<p class="badges">{"".join(badges)}</p>' if badges else "",
            f"<dl>{rows}</dl>",
            f'<div class="open">{open_in_chat}{fallback}</div>',
            f'<details data-case="{_e(line.case_id)}"><summary>Timeline and deadlines</summary>'
            '<div class="detail" aria-live="polite"></div></details>',
            "</article></li>",
        ]
    )


def cases_fragment(
    lines: Sequence[CaseLine], *, total: int, show: str, stage: str, bot_id: str
) -> str:
    """The chosen cases, or why there are none."""
    label = FILTERS.get(show, FILTERS["all"])[0].lower()
    where = f" at stage {stage}" if stage else ""
    if not total:
        return _status(
            "You have no cases: none names you or waits on you, and you hold no board role."
        )
    if not lines:
        return _status(f"None of your {total} case(s) to show ({label}{where}).")
    head = f"Showing {len(lines)} of your {total} case(s) ({label}{where})."
    items = "\n".join(_line(line, bot_id) for line in lines)
    return f'{_status(head)}\n<ul class="cases">\n{items}\n</ul>'


def detail_fragment(detail: CaseDetail) -> str:
    view = detail.view
    parts = []
    if view.full:
        parts.append(
            "<dl>"
            f"<dt>Category</dt><dd>{_e(view.category)}</dd>"
            f"<dt>Issue</dt><dd>{_e(view.issue or 'not recorded')}</dd>"
            f"<dt>Risk to the adult</dt><dd>{_e(view.risk_to_adult or 'not recorded')}</dd>"
            + "".join(f"<dt>{_e(p.role)}</dt><dd>{_e(p.describe)}</dd>" for p in view.parties)
            + "</dl>"
        )
    else:
        parts.append(
            "<dl>"
            f"<dt>Category</dt><dd>{_e(view.category)}</dd>"
            f"<dt>Risk to the adult</dt><dd>{_e(view.risk_to_adult or 'not recorded')}</dd>"
            "</dl>"
            f'<p class="hint">This is the {_e(view.board_short_name)} copy: the board follows the '
            "case; the parties act on it.</p>"
        )
    parts.append("<h3>Deadlines</h3>")
    if detail.clocks:
        parts.append(
            '<ul class="clocks">'
            + "".join(
                f'<li class="clock {_e(c.status)}"><strong>{_e(c.label)}</strong> '
                f"(stage {_e(c.stage)}): {_e(c.describe)}</li>"
                for c in detail.clocks
            )
            + "</ul>"
        )
    else:
        parts.append("<p>No deadlines yet.</p>")
    parts.append("<h3>What happened</h3>")
    parts.append(
        '<ol class="timeline">'
        + "".join(
            f'<li class="{_e(e.kind)}"><time datetime="{_e(e.at.isoformat())}">{_e(e.when)}</time>'
            + (f' <span class="who">{_e(e.who)}</span>' if e.who else "")
            + f' <span class="what">{_e(e.what)}</span></li>'
            for e in detail.timeline
        )
        + "</ol>"
    )
    return "\n".join(parts)


# -- the board's figures -------------------------------------------------------------------------


def board_page(pack: PolicyPack, *, start: date, end: date, auth: str) -> str:
    agencies = [("", "Every agency"), *((a.id, a.name) for a in pack.agencies)]
    categories = [("", "Every category"), *((c.id, c.label) for c in pack.categories)]
    stages = [("", "Any stage"), *((s.id, f"Stage {s.id}: {s.short_name}") for s in pack.stages)]
    board = _e(pack.board.id)
    body = "\n".join(
        [
            f'<header class="top"><h1>{_e(pack.board.short_name)}: escalations, live</h1>',
            '<p class="lead">The board report\'s figures, worked out from the cases as they stand '
            "now: counts only, no adult, person or case text. Choose a period and, if you like, an "
            "agency, a category or a stage.</p></header>",
            f'<form id="board-filters" class="filters" action="/tabs/board" method="get" '
            f'aria-label="Choose the figures" data-board="{board}">',
            f'<input type="hidden" name="board" value="{board}">',
            '<div class="field"><label for="f-from">From</label>'
            f'<input id="f-from" name="from" type="date" required value="{start.isoformat()}"></div>',
            '<div class="field"><label for="f-to">To</label>'
            f'<input id="f-to" name="to" type="date" required value="{end.isoformat()}"></div>',
            _select("agency", "Agency", agencies),
            _select("category", "Category", categories),
            _select("stage", "Stage reached", stages),
            '<div class="field actions"><button type="submit">Show figures</button></div>',
            "</form>",
            '<p class="downloads">Download these figures: '
            '<button type="button" data-download="html">HTML report</button> '
            '<button type="button" data-download="csv">CSV</button></p>',
            '<section id="results" class="results" aria-live="polite" aria-label="Figures">',
            _status("Signing you in…"),
            "</section>",
        ]
    )
    return page(
        f"{pack.board.short_name} escalations",
        "board",
        body,
        auth=auth,
        data={"board": pack.board.id},
    )


def board_fragment(report: BoardReport, charts: Sequence[SvgChart], *, as_of: str) -> str:
    figures = [
        (
            c.name,
            c.title,
            f'<figure class="chart-figure">{c.svg}<figcaption>{_e(c.alt)}</figcaption></figure>',
        )
        for c in charts
    ]
    body = report_body(report, figures, heading=2)
    return "\n".join(
        [
            _status(f"{title_of(report)}. Figures as of {as_of}."),
            f'<div class="report" data-raised="{report.raised}">{_wrap_tables(body)}</div>',
        ]
    )


def _wrap_tables(html: str) -> str:
    """Tables scroll sideways on a narrow screen, in a region the keyboard can reach."""
    out, rest = [], html
    while "<table id=" in rest:
        before, _, after = rest.partition("<table id=")
        table_id = after.split('"', 2)[1]
        table, _, rest = after.partition("</table>")
        out.append(
            f'{before}<div class="table-scroll" role="region" tabindex="0" '
            f'aria-label="Table {_e(table_id)}"><table id={table}</table></div>'
        )
    out.append(rest)
    return "".join(out)


def config_page(packs: Sequence[PolicyPack], *, auth: str) -> str:
    boards = [(p.board.id, p.board.name) for p in packs]
    body = "\n".join(
        [
            '<header class="top"><h1>Add the board\'s figures to this channel</h1>',
            '<p class="lead">The tab shows the board report\'s figures, live, to people with a '
            "role on the board. Others in the channel see a note that it is not for them.</p></header>",
            '<form id="config" class="filters" aria-label="Choose the board">',
            _select("board", "Board", boards, boards[0][0] if boards else ""),
            "</form>",
            '<p id="config-status" class="status" role="status"></p>',
        ]
    )
    return page("Board figures: set up", "config", body, auth=auth)


def sign_in_page(people: Sequence[tuple[str, str, str]], *, next_path: str) -> str:
    """Local use only: choose whose token to mint (id, name, what they are)."""
    items = "".join(
        f'<li><button type="submit" name="person" value="{_e(pid)}">{_e(name)}</button> '
        f'<span class="hint">{_e(about)}</span></li>'
        for pid, name, about in people
    )
    body = "\n".join(
        [
            '<header class="top"><h1>Sign in as a sample person</h1>',
            '<p class="lead">This page exists only in a local run (no Microsoft app id), on this '
            "machine. It signs a token for the person you choose with a key made when the app "
            "started; the tabs check it as they check Microsoft Entra's tokens in Teams.</p></header>",
            f'<form id="sign-in" method="post" action="/tabs/local/token" data-next="{_e(next_path)}">',
            f'<ul class="people">{items}</ul>'
            if items
            else "<p>Nobody in the directory can sign in: "
            "import a directory whose people have an aad_object_id and whose agencies list a tenant.</p>",
            "</form>",
            '<p id="sign-in-status" class="status" role="status"></p>',
        ]
    )
    return page("Sign in (local)", "sign-in", body, auth="local")


def problem_fragment(message: str) -> str:
    return f'<p class="problem" role="alert">{_e(message)}</p>'
