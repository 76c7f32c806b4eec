"""Drive the Microsoft 365 Agents Playground in headless Chromium, for the browser tests.

`LocalRun` starts `scripts/run_local.py` (what `./dev run` runs: the bot and one Playground per
sample person, on 127.0.0.1) on free ports with its data in a temporary folder; the functions below
act as a person would in a Playground's page. Python's playwright drives Debian's Chromium
(/usr/bin/chromium, or $CHROMIUM); it never downloads a browser of its own.

Selectors, in the Playground 0.2.28 (pinned exactly in package.json; check them after an upgrade):

* message box: ``[data-lexical-editor="true"][role="textbox"]`` (click, type, Enter)
* one message from the bot: ``.fai-OutputCard`` (user messages have no such class); its text,
  Markdown or an Adaptive Card, is inside it
* an Adaptive Card: ``.ac-adaptiveCard``; its buttons: ``.ac-actionSet button``, each with
  ``title`` and ``aria-label`` set to the action's title (``Action.Execute`` and
  ``Action.Submit`` alike). After an ``Action.Execute`` the card is replaced in place, in the
  same ``.fai-OutputCard``, with the note "Your response was sent to the app".
* the chat list (left) repeats the last message's text: never search the whole page for a text,
  search the bot's messages.
* the team channels are in the list on the left, by name (``Announcements``); a post there is no
  ``.fai-OutputCard``: find its card by ``.ac-adaptiveCard`` and its text.
* a page shows only what arrives while it is open, and a reload forgets it: open a person's page
  before the bot writes to them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, Playwright, Route

REPO = Path(__file__).resolve().parents[2]
RUN_LOCAL = REPO / "scripts" / "run_local.py"
PLAYGROUND_CONFIG = REPO / ".m365agentsplayground.yml"
PLAYGROUND_CLI = REPO / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
ARTIFACTS = REPO / "artifacts" / "e2e"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# As root, headless, on a machine with no network but loopback.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1"})

MESSAGE_BOX = '[data-lexical-editor="true"][role="textbox"]'
BOT_MESSAGE = ".fai-OutputCard"
CARD = ".ac-adaptiveCard"
CARD_BUTTON = ".ac-actionSet button"

WAIT_MS = 30_000
START_SECONDS = 60.0
STOP_SECONDS = 20.0
QUIET_MS = 500


def missing_prerequisites() -> list[str]:
    """What the browser tests need and this machine lacks, each with how to get it."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"Chromium ({CHROMIUM}): apt-get install -y chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright: pip install -e '.[dev]'")
    if shutil.which("node") is None:
        missing.append("Node.js (node on the PATH)")
    if not PLAYGROUND_CLI.is_file():
        missing.append("the Agents Playground (node_modules): npm ci, or ./dev test")
    return missing


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def playground_people() -> int:
    """How many Playgrounds `scripts/run_local.py` starts: one per person of the mock tenant."""
    import yaml

    config = yaml.safe_load(PLAYGROUND_CONFIG.read_text(encoding="utf-8"))
    return 1 + len(config["users"])


def free_ports(count: int, attempts: int = 50) -> int:
    """The first of `count` consecutive ports that are free on 127.0.0.1 now."""
    for _ in range(attempts):
        first = free_port()
        if first + count - 1 > 65535:
            continue
        with contextlib.ExitStack() as held:
            try:
                for port in range(first, first + count):
                    sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return first
    raise AssertionError(f"found no {count} consecutive free ports in {attempts} attempts")


def accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on host:port. A server bound to 127.0.0.1 alone refuses
    127.0.0.2, which is on the loopback interface too; one bound to every address accepts it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


# --- the bot and the Playground -----------------------------------------------------------------


@dataclass
class LocalRun:
    """`scripts/run_local.py` as a child process, in a process group (a session) of its own."""

    work_dir: Path
    bot_port: int = field(default_factory=free_port)
    # The first Playground's; the others take the next ports, one per person.
    playground_port: int = field(default_factory=lambda: free_ports(playground_people()))
    process: subprocess.Popen[bytes] | None = None
    playgrounds: dict[str, str] = field(default_factory=dict)  # a person's name -> their URL

    def __post_init__(self) -> None:
        people = playground_people()
        while self.playground_port <= self.bot_port < self.playground_port + people:
            self.playground_port = free_ports(people)

    @property
    def log(self) -> Path:
        return self.work_dir / "run_local.log"

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    @property
    def playground_url(self) -> str:
        """The first Playground's (its current user is the config's, Alex Wilber)."""
        return f"http://127.0.0.1:{self.playground_port}/"

    @property
    def playground_ports(self) -> list[int]:
        return [int(urlsplit(url).port or 0) for url in self.playgrounds.values()]

    def url_of(self, name: str) -> str:
        """The Playground in which one is `name`, as `scripts/run_local.py` printed it."""
        try:
            return self.playgrounds[name]
        except KeyError:
            raise AssertionError(f"no Playground runs as {name!r}: {self.playgrounds}") from None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.is_file() else ""

    def start(self) -> None:
        env = dict(
            os.environ,
            PORT=str(self.bot_port),
            PLAYGROUND_PORT=str(self.playground_port),
            ESCALATION_DATA_DIR=str(self.data_dir),
            PYTHONUNBUFFERED="1",
        )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(RUN_LOCAL)],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while "Open the Playground" not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"scripts/run_local.py exited ({self.process.returncode}):\n{self.output()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"scripts/run_local.py was not ready in {START_SECONDS:.0f} s:\n{self.output()}"
                )
            time.sleep(0.2)
        self.playgrounds = {
            name: url
            for url, name in re.findall(
                r"^playground: (\S+) as (.+) \(pid \d+\)$", self.output(), re.M
            )
        }

    def stop(self) -> int | None:
        """SIGTERM, as Ctrl-C or a service manager would; its exit code (None if never started).

        If it has not ended in time, its process group and its children's are killed: it prints
        "(pid N)" for each child, and each child leads a process group of its own. (Only then:
        once it has ended and been reaped, those numbers may belong to someone else.)
        """
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                children = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", self.output())]
                for group in (*children, process.pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(group, signal.SIGKILL)
                process.wait(timeout=STOP_SECONDS)
        return process.returncode

    def keep_logs(self, name: str) -> None:
        """Copy this run's logs (run_local.py's output, each Playground's log) to artifacts/e2e/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        if self.log.is_file():
            shutil.copyfile(self.log, ARTIFACTS / f"{name}-run_local.log")
        for work_dir in sorted((self.data_dir / "playground").glob("*")):
            playground_log = work_dir / "devTools" / "m365agentsplayground.log"
            if playground_log.is_file():
                shutil.copyfile(
                    playground_log, ARTIFACTS / f"{name}-playground-{work_dir.name}.log"
                )


@contextlib.contextmanager
def local_run(work_dir: Path, name: str) -> Iterator[LocalRun]:
    run = LocalRun(work_dir)
    try:
        run.start()
        yield run
    finally:
        run.stop()
        run.keep_logs(name)


# --- the browser --------------------------------------------------------------------------------


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS), timeout=WAIT_MS
    )


def _loopback_only(route: Route) -> None:
    """The page loads fonts and an animation from a CDN: refuse everything not on 127.0.0.1."""
    url = route.request.url
    if urlsplit(url).hostname in LOOPBACK_HOSTS or url.startswith(("data:", "blob:")):
        route.continue_()
    else:
        route.abort()


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    context.route("**/*", _loopback_only)
    return context.new_page()


def open_playground(page: Page, url: str) -> None:
    """Load the Playground (which sends the install activities again) and wait for its box."""
    page.goto(url)
    page.locator(MESSAGE_BOX).wait_for(state="visible")


def bot_messages(page: Page) -> Locator:
    return page.locator(BOT_MESSAGE)


def wait_until_quiet(page: Page, quiet_ms: int = QUIET_MS, timeout_ms: int = WAIT_MS) -> int:
    """Wait until no new bot message has come for `quiet_ms`; the number of bot messages."""
    deadline = time.monotonic() + timeout_ms / 1000
    count = bot_messages(page).count()
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        now = bot_messages(page).count()
        if now != count:
            count, stable_since = now, time.monotonic()
        elif (time.monotonic() - stable_since) * 1000 >= quiet_ms:
            return count
    raise AssertionError(f"the bot kept sending messages for {timeout_ms / 1000:.0f} s")


def send(page: Page, text: str) -> int:
    """Type `text` into the message box and press Enter, once the bot has stopped talking.

    Returns the number of bot messages before it, for `wait_for_text(..., after=...)`.
    """
    before = wait_until_quiet(page)
    box = page.locator(MESSAGE_BOX)
    box.click()
    box.press_sequentially(text)
    box.press("Enter")
    return before


def wait_for_text(page: Page, text: str, *, after: int = 0, timeout_ms: int = WAIT_MS) -> Locator:
    """The first bot message from number `after` on (0: the first) that contains `text`."""
    try:
        page.wait_for_function(
            """([selector, after, text]) => Array.from(document.querySelectorAll(selector))
                .slice(after).some((message) => message.innerText.includes(text))""",
            arg=[BOT_MESSAGE, after, text],
            timeout=timeout_ms,
        )
    except Exception as exc:
        said = [m.inner_text() for m in bot_messages(page).all()[after:]]
        raise AssertionError(
            f"no bot message from number {after} on says {text!r} within {timeout_ms / 1000:.0f} s;"
            f" the bot said: {said!r}"
        ) from exc
    messages = bot_messages(page)
    for index in range(after, messages.count()):
        if text in messages.nth(index).inner_text():
            return messages.nth(index)
    raise AssertionError(f"the bot message saying {text!r} went away")  # pragma: no cover


def wait_for_card_in(
    page: Page, message: int, *, has: str, lacks: str | None = None, timeout_ms: int = WAIT_MS
) -> str:
    """The text of bot message number `message` once its card says `has` and not `lacks`: after
    an `Action.Execute` the card is replaced there, so this waits on what the action did (a
    record listed, a button gone), never on the sentence that confirms it."""
    try:
        page.wait_for_function(
            """([selector, index, has, lacks]) => {
                const message = document.querySelectorAll(selector)[index];
                const text = message ? message.innerText : "";
                return text.includes(has) && !(lacks && text.includes(lacks));
            }""",
            arg=[BOT_MESSAGE, message, has, lacks],
            timeout=timeout_ms,
        )
    except Exception as exc:
        said = bot_messages(page).nth(message).inner_text()
        raise AssertionError(
            f"bot message {message} does not say {has!r}"
            + (f" without {lacks!r}" if lacks else "")
            + f" within {timeout_ms / 1000:.0f} s; it says: {said!r}"
        ) from exc
    return bot_messages(page).nth(message).inner_text()


def click_card_button(page: Page, title: str, *, message: int | None = None) -> int:
    """Click the card button `title` in bot message number `message`, or in the last bot message
    that has such a button. Returns the message's number: an `Action.Execute` replaces the card in
    place, so `wait_for_text(page, text, after=that number)` sees the new card.
    """
    messages = bot_messages(page)
    if message is None:
        button = page.locator(CARD_BUTTON, has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
        holder = messages.filter(has=button).last
        holder.wait_for(state="visible")
        message = int(
            holder.evaluate(
                "(node, selector) => Array.from(document.querySelectorAll(selector)).indexOf(node)",
                BOT_MESSAGE,
            )
        )
    else:
        holder = messages.nth(message)
    holder.locator(CARD).last.get_by_role("button", name=title, exact=True).click()
    return message


def open_channel(page: Page, name: str) -> None:
    """Show the team channel `name` (from the list on the left) instead of the chat."""
    page.get_by_text(name, exact=True).first.click()


def wait_for_card(page: Page, text: str, *, timeout_ms: int = WAIT_MS) -> Locator:
    """The first Adaptive Card anywhere in the conversation shown that contains `text` (a team
    channel's posts are not `.fai-OutputCard`s)."""
    card = page.locator(CARD, has_text=text).first
    try:
        card.wait_for(state="visible", timeout=timeout_ms)
    except Exception as exc:
        shown = [c.inner_text()[:200] for c in page.locator(CARD).all()]
        raise AssertionError(
            f"no card says {text!r} within {timeout_ms / 1000:.0f} s; the cards: {shown!r}"
        ) from exc
    return card


def screenshot(page: Page, name: str) -> Path:
    """Save the page to artifacts/e2e/NAME.png (git-ignored) and return the path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
