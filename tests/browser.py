"""Browser test fixtures, shared by every test module (a pytest plugin named in conftest).

A live server (uvicorn in a thread on the test's SQLite database), Debian's Chromium driven
by Playwright (never a downloaded browser), fresh pages, logging in through the real form,
and screenshots kept under ``var/screenshots/`` (a CI artefact) for people to look at.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from core.database import unit_of_work
from core.settings import project_root
from publisher.app import create_app
from publisher.users import find_user
from tests.conftest import REQUIRE_SERVICES
from tests.factories import PASSWORD, add_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = project_root() / "var" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_server(sqlite_db: str) -> Iterator[str]:
    """The web app served by uvicorn in a thread, on the test's settings; its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system (never downloaded)."""
    if not CHROMIUM.exists():
        reason = f"!!! {CHROMIUM} is missing: browser tests NOT run !!!"
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} (HERALD_TEST_REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser page (no cookies), phone-sized to start with."""
    context = browser.new_context(viewport=PHONE)
    yield context.new_page()
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Keep a full-page screenshot as ``var/screenshots/<name>``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def log_in_page(
    page: Page, live_server: str, email: str = "admin@example.com", role: str = "admin"
) -> None:
    """Create the account if new, then log in through the login form like a person."""
    with unit_of_work() as session:
        if find_user(session, email) is None:
            add_user(session, email, role)
    page.goto(f"{live_server}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


@pytest.fixture
def admin_page(page: Page, live_server: str) -> Page:
    """A fresh page, logged in as an admin."""
    log_in_page(page, live_server)
    return page
