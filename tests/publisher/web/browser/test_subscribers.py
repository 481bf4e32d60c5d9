"""A subscriber's whole path in a real browser (headless Chromium, phone width) against a live
server on SQLite: subscribe on the public form, confirm from the link in the confirmation
email found in the outbox, change topics and language in the preference centre, then leave
from the unsubscribe link of the welcome email. Screenshots are kept in
``var/screenshots/subscriber-*.png`` for people to look at.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.exc import NoResultFound

from core.database import unit_of_work
from subscribers.lists import create_list
from subscribers.models import Subscriber, Subscription
from tests.fixtures.browser import PHONE, screenshot
from tests.fixtures.mailroom import Mailroom, confirm_url, recording

EMAIL = "olena.koval@example.org"


@pytest.fixture
def mail(live_server: str) -> Iterator[Mailroom]:
    """Tasks the live server enqueues, kept for the test to run through the outbox."""
    yield from recording()


@pytest.fixture
def forum(live_server: str) -> int:
    with unit_of_work() as session:
        return create_list(
            session,
            slug="forum",
            name="Find out first",
            opt_in="double",
            topics=["Events", "Research"],
            description="Forums, panels and research of the Herald Policy Centre, first.",
        ).id


def _fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width}px)"


def _state() -> tuple[str, list[str], str]:
    with unit_of_work() as session:
        person = session.scalars(select(Subscriber).where(Subscriber.email == EMAIL)).one()
        subscription = session.scalars(select(Subscription)).one()
        return subscription.status, subscription.topics, person.language


def _stored_state(seconds: float = 5.0) -> tuple[str, list[str], str]:
    """The state once the signup is stored: it is, just after the answer has left."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return _state()
        except NoResultFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_subscribe_confirm_choose_and_leave(
    live_server: str, forum: int, mail: Mailroom, page: Page
) -> None:
    page.goto(f"{live_server}/subscribe/forum")
    expect(page.get_by_role("heading", name="Find out first")).to_be_visible()
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Name").fill("Олена Коваль")
    page.get_by_label("Language of the emails").select_option("uk")
    _fits_the_phone(page)
    screenshot(page, "subscriber-1-form.png")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("status")).to_contain_text("check your inbox")
    screenshot(page, "subscriber-2-check-inbox.png")
    assert _stored_state()[0] == "unconfirmed"

    mail.run()  # the transactional worker writes the confirmation to the outbox
    with unit_of_work() as session:
        person_id = session.scalar(select(Subscriber.id).where(Subscriber.email == EMAIL))
    assert person_id is not None
    confirmation = mail.message("confirm", forum, person_id)
    assert confirmation is not None and "Підтвердьте" in str(confirmation["Subject"])
    page.goto(live_server + confirm_url(confirmation))
    expect(page.get_by_text("Receive Find out first")).to_be_visible()
    screenshot(page, "subscriber-3-confirm.png")
    assert _state()[0] == "unconfirmed"  # opening the link is not consent
    page.get_by_role("button", name="Yes, subscribe me").click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    screenshot(page, "subscriber-4-confirmed.png")
    assert _state()[0] == "confirmed"

    page.get_by_role("link", name="Choose topics and language, or leave").click()
    expect(page.get_by_role("heading", name="Your subscriptions")).to_be_visible()
    expect(page.get_by_text("Subscribed", exact=True)).to_be_visible()
    page.get_by_label("Research").uncheck()
    page.get_by_label("Language of the emails").select_option("ja")
    _fits_the_phone(page)
    screenshot(page, "subscriber-5-preferences.png")
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("status")).to_have_text("Your choices are saved.")
    assert _state() == ("confirmed", ["Events"], "ja")

    mail.run()  # the welcome email, with its one-click unsubscribe link
    welcome = mail.message("welcome", forum, person_id)
    assert welcome is not None
    unsubscribe = str(welcome["List-Unsubscribe"]).strip("<>")
    page.goto(unsubscribe.replace("http://testserver", live_server, 1))
    expect(page.get_by_role("heading", name="Unsubscribe?")).to_be_visible()
    screenshot(page, "subscriber-6-unsubscribe.png")
    page.get_by_role("button", name="Unsubscribe", exact=True).click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    screenshot(page, "subscriber-7-unsubscribed.png")
    assert _state()[0] == "unsubscribed"
