"""Browser tests: Debian's Chromium driven by Playwright, against a live local server.

No browser is ever downloaded: Playwright launches ``/usr/bin/chromium``.  When it is
missing the tests are skipped with a loud summary, except under CI where that fails.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import not_run
from tests.webui.browser.pmo_conftest import pmo_page, pmo_server  # noqa: F401  (fixtures)

CHROMIUM = Path(os.environ.get("PMOFLOW_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing"
        if os.environ.get("CI"):
            pytest.fail(message + " and CI is set: browser tests must run", pytrace=False)
        not_run(message + ": browser tests skipped. Install it with "
                "`apt-get install chromium chromium-driver` (scripts/dev.py test "
                "does this when it can).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


def whole_bodies(app):
    """``app`` answering with its body read whole and its iterable closed before the
    server writes a byte.  Werkzeug's development server skips ``close()`` when the
    browser drops a connection mid-answer (a page left while its script still loads), which
    leaves a static file open: an unraisable ResourceWarning that fails whichever test runs
    next.  No answer of this app streams, so nothing but that leak changes."""

    def wsgi(environ, start_response):
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    return wsgi


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """``app`` on a free local port in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, whole_bodies(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serving(app) as url:
        yield url


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, errors


def sign_in(page, username: str, password: str = "demo") -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("[data-testid=sign-in]")


#: What every dmn-js bundle logs as an error when it loads: an upstream packaging issue,
#: harmless (bpmn-io/dmn-js#965, see webui/static/vendor/README.md).
INFERNO_NOTICE = "minified copy of the development build of Inferno"


def page_factory(browser, base_url: str):
    """Yield ``make(username)``: signed-in pages, each in its own browser context (its
    own cookies); closes them afterwards.

    Page errors and console errors (a blocked script, a failed request) fail the test.
    """
    contexts, errors = [], []

    def make(username: str | None = None, *, width: int = 1280, height: int = 900,
             javascript: bool = True):
        context = browser.new_context(base_url=base_url, java_script_enabled=javascript,
                                      viewport={"width": width, "height": height})
        contexts.append(context)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: errors.append(f"{username}: {exc}"))
        pg.on("console", lambda m: m.type == "error" and errors.append(f"{username}: {m.text}"))
        if username:
            sign_in(pg, username)
            pg.wait_for_selector("[data-testid=whoami]", state="attached")
        return pg

    yield make
    for context in contexts:
        context.close()
    assert not [e for e in errors if "status of 403" not in e and "status of 409" not in e
                and "status of 422" not in e and "status of 413" not in e
                and INFERNO_NOTICE not in e], errors


@pytest.fixture
def new_page(browser, live_server):
    """Make signed-in pages on the web tests' app (see :func:`page_factory`)."""
    yield from page_factory(browser, live_server)
