"""Browser-test helpers: the system Chromium, launched offline, an axe scan and a network log.

Playwright drives the Chromium that the operating system ships (`/usr/bin/chromium`); its own
browser downloads are never used. Playwright and axe are imported lazily so that a machine
without them can still collect the suite: `require_browser` then skips (or fails under CI).
The `browser` fixture is defined here and offered to every test in tests/browser by its
conftest.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypedDict
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from tests.support.servers import TEST_PASSWORD

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page, Request, Response, WebSocket

CHROMIUM_ENV = "NEXUS_CHROMIUM"
"""Environment variable naming the Chromium executable to use instead of the system one."""

SYSTEM_CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_NAMES_ON_PATH = ("chromium", "chromium-browser")

# Headless as root needs --no-sandbox; the rest keeps Chromium from phoning home. Even with
# --disable-background-networking this Chromium still tries update.googleapis.com and
# accounts.google.com (seen in a --log-net-log capture), so every host except localhost and
# 127.0.0.1 (the rule would map IP literals too) resolves to "not found" inside the browser:
# no DNS query or connection leaves the machine.
CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)

# WCAG 2.1 level A and AA: the bar set by Swedish law for public-sector websites.
WCAG21_AA_TAGS: tuple[str, ...] = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# WCAG 2.2 AA on top (target size, focus not obscured…): the bar for the staff pages.
WCAG22_AA_TAGS: tuple[str, ...] = (*WCAG21_AA_TAGS, "wcag22aa")

# Schemes that never touch the network, so they can never be a foreign request.
LOCAL_URL_SCHEMES = frozenset({"data", "blob", "about"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# A websocket belongs to the origin of the page that would serve it over HTTP.
WEBSOCKET_TO_HTTP_SCHEME = {"ws": "http", "wss": "https"}


def find_chromium() -> str | None:
    """Return the Chromium executable to drive, or None when there is none.

    `$NEXUS_CHROMIUM` (a path or a name on PATH) wins; then `/usr/bin/chromium`; then
    `chromium` or `chromium-browser` on PATH.
    """
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        return shutil.which(override)
    if os.access(SYSTEM_CHROMIUM_PATH, os.X_OK):
        return SYSTEM_CHROMIUM_PATH
    for name in CHROMIUM_NAMES_ON_PATH:
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser_unavailable(reason: str) -> NoReturn:
    """Fail under CI (browser tests are required there), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so browser tests must run)", pytrace=False)
    pytest.skip(reason)


def require_browser() -> str:
    """Return the Chromium executable path once Chromium and Playwright are both available.

    Raises pytest's fail outcome when either is missing and `$CI` is non-empty, its skip
    outcome otherwise; an explicit `$NEXUS_CHROMIUM` that names nothing always fails.
    """
    executable = find_chromium()
    if executable is None:
        override = os.environ.get(CHROMIUM_ENV)
        if override:
            pytest.fail(f"${CHROMIUM_ENV}={override!r} is not an executable", pytrace=False)
        _browser_unavailable(
            f"no Chromium found ({SYSTEM_CHROMIUM_PATH}, chromium or chromium-browser on PATH;"
            f" set ${CHROMIUM_ENV} to choose one)"
        )
    try:
        import playwright.async_api  # noqa: F401
    except ImportError as error:
        _browser_unavailable(f"Playwright for Python is not installed: {error}")
    return executable


@asynccontextmanager
async def chromium_browser() -> AsyncIterator[Browser]:
    """Launch the system Chromium headless and offline; close it and Playwright on exit.

    Skips or fails like `require_browser` when the browser cannot run. Each launch gets a
    fresh temporary profile from Playwright.
    """
    executable = require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One headless, offline system Chromium shared by all tests of a module.

    Module-scoped, so it lives in the module's event loop: a module using it marks its tests
    `pytest.mark.asyncio(loop_scope="module")`. Tests that need other browser settings (no
    JavaScript, another viewport) ask for them per context with `browser.new_context(...)`.
    Skips or fails like `require_browser` when Chromium cannot run.
    """
    async with chromium_browser() as launched:
        yield launched


async def sign_in_to_console(
    page: Page, base_url: str, username: str, password: str = TEST_PASSWORD
) -> None:
    """Sign in through the real console login form of the server at `base_url`.

    Returns once the page has reached the console; a refused login times out waiting for it.
    """
    await page.goto(f"{base_url}/console/login")
    await page.get_by_label("Användarnamn").fill(username)
    await page.get_by_label("Lösenord").fill(password)
    await page.get_by_role("button", name="Logga in").click()
    await page.wait_for_url(f"{base_url}/console/")


class AxeViolation(TypedDict):
    """One failed axe rule and the elements that fail it."""

    id: str
    impact: str | None
    help: str
    help_url: str
    targets: list[str]


def _selector_text(target: Sequence[Any]) -> str:
    """Render an axe node target; nested lists are selectors inside shadow roots or frames."""
    return " >>> ".join(part if isinstance(part, str) else _selector_text(part) for part in target)


async def axe_violations(
    page: Page, tags: Sequence[str] | None = WCAG21_AA_TAGS
) -> list[AxeViolation]:
    """Run axe-core (bundled, works offline) on the page as it is now; return its violations.

    `tags` limits the rules to those axe tags (default WCAG 2.1 A and AA); None runs every
    rule, best practices included.
    """
    from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]

    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if tags is not None:
        options["runOnly"] = {"type": "tag", "values": list(tags)}
    results = await Axe().run(page, options=options)
    return [
        AxeViolation(
            id=violation["id"],
            impact=violation.get("impact"),
            help=violation["help"],
            help_url=violation.get("helpUrl", ""),
            targets=[_selector_text(node["target"]) for node in violation["nodes"]],
        )
        for violation in results.response["violations"]
    ]


def format_violations(violations: Sequence[AxeViolation]) -> str:
    """Describe violations one per line, for an assertion message."""
    if not violations:
        return "no accessibility violations"
    lines = [f"{len(violations)} accessibility violation(s):"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" -> {', '.join(violation['targets'])} [{violation['help_url']}]"
        )
    return "\n".join(lines)


def url_origin(url: str) -> str:
    """Return `scheme://host:port` of a URL, with explicit default port; ws(s) maps to http(s)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme)
    scheme = WEBSOCKET_TO_HTTP_SCHEME.get(scheme, scheme)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


@dataclass(frozen=True)
class ResponseRecord:
    """A response's URL, status and every header (lower-case names, repeated ones kept)."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]


class NetworkLog:
    """Records every request, websocket and response of a browser context.

    Attach before the first navigation. Response headers are read asynchronously (Playwright
    withholds Set-Cookie from the synchronous `headers`), so `await drain()` before asking
    about responses.
    """

    def __init__(self) -> None:
        self.request_urls: list[str] = []
        self.responses: list[ResponseRecord] = []
        self._pending: set[asyncio.Task[None]] = set()

    @classmethod
    def attach(cls, context: BrowserContext) -> NetworkLog:
        """Return a log fed by `context`'s requests, responses and its pages' websockets."""
        log = cls()
        context.on("request", log._on_request)
        context.on("response", log._on_response)
        context.on("page", log._watch_page)
        for page in context.pages:
            log._watch_page(page)
        return log

    def _watch_page(self, page: Page) -> None:
        # Websockets are page events only; the context never reports them.
        page.on("websocket", self._on_websocket)

    def _on_request(self, request: Request) -> None:
        self.request_urls.append(request.url)

    def _on_websocket(self, websocket: WebSocket) -> None:
        self.request_urls.append(websocket.url)

    def _on_response(self, response: Response) -> None:
        task = asyncio.get_running_loop().create_task(self._record_response(response))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record_response(self, response: Response) -> None:
        headers = await response.headers_array()
        self.responses.append(
            ResponseRecord(
                url=response.url,
                status=response.status,
                headers=tuple((header["name"].lower(), header["value"]) for header in headers),
            )
        )

    async def drain(self) -> None:
        """Wait until every response seen so far is recorded; re-raise a failed header read."""
        while self._pending:
            await asyncio.gather(*self._pending)

    def foreign_requests(self, allowed_origins: Iterable[str]) -> list[str]:
        """Return the URLs requested from any origin outside `allowed_origins`, in order."""
        allowed = {url_origin(origin) for origin in allowed_origins}
        return [
            url
            for url in self.request_urls
            if urlsplit(url).scheme.lower() not in LOCAL_URL_SCHEMES
            and url_origin(url) not in allowed
        ]

    def set_cookie_responses(self) -> list[str]:
        """Return the URLs of responses that set a cookie.

        Raises RuntimeError while header reads are pending: call `await drain()` first.
        """
        if self._pending:
            raise RuntimeError("response headers still pending: await NetworkLog.drain() first")
        return [
            record.url
            for record in self.responses
            if any(name == "set-cookie" for name, _ in record.headers)
        ]
