"""The web pages in a real browser (headless Chromium) against a live server on SQLite.

A campaign is sent in-process to the outbox; a subscriber then follows the unsubscribe link
of a real rendered message, and an admin reads the campaign's counts. Screenshots are kept
in ``var/screenshots/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select, update

from core.database import unit_of_work, utcnow
from core.settings import get_settings
from publisher.campaigns.models import Campaign
from publisher.campaigns.service import start_sending
from publisher.sending.deliveries import delivery_counts
from publisher.sending.models import Delivery
from subscribers.models import Subscriber, Subscription
from tests.fixtures.browser import DESKTOP, log_in_page, screenshot
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from tests.fixtures.tasks import TaskRecorder, recording
from worker import planning

RECIPIENTS = 3


@pytest.fixture
def sent_campaign(live_server: str) -> Iterator[int]:
    """A campaign sent in-process to ``RECIPIENTS`` subscribers, through the outbox."""
    planning.current_provider.cache_clear()
    planning._emails_cache.clear()
    with recording(TaskRecorder()) as recorder:
        with unit_of_work() as session:
            add_subscribers(session, add_list(session, "news"), RECIPIENTS)
            campaign = add_announcement(session, "news", subject="Forum «Відбудова» — first")
            start_sending(session, campaign)
        recorder.run_all()
        planning.current_provider.cache_clear()
        yield campaign.id


def _first_message(campaign_id: int) -> EmailMessage:
    folder = get_settings().outbox_dir / f"campaign-{campaign_id}"
    files = sorted(folder.glob("*.eml"))
    assert len(files) == RECIPIENTS
    message = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert isinstance(message, EmailMessage)
    return message


def _unsubscribe_url(message: EmailMessage, base_url: str) -> str:
    header = str(message["List-Unsubscribe"])
    url = header.strip().removeprefix("<").removesuffix(">")
    assert url.startswith("http://testserver/unsubscribe/"), header
    return url.replace("http://testserver", base_url, 1)


def _statuses_by_email() -> dict[str, str]:
    with unit_of_work() as session:
        rows = session.execute(
            select(Subscriber.email, Subscription.status).join(
                Subscription, Subscription.subscriber_id == Subscriber.id
            )
        )
        return dict(rows.all())


def test_subscriber_unsubscribes_from_the_link_in_their_email(
    live_server: str, sent_campaign: int, page: Page
) -> None:
    message = _first_message(sent_campaign)
    address = parseaddr(str(message["To"]))[1]
    page.goto(_unsubscribe_url(message, live_server))
    expect(page.get_by_role("heading", name="Unsubscribe?")).to_be_visible()
    expect(page.get_by_text(address)).to_be_visible()
    button = page.get_by_role("button", name="Unsubscribe", exact=True)
    expect(button).to_be_visible()
    screenshot(page, "unsubscribe-before.png")
    assert _statuses_by_email()[address] == "confirmed"  # opening the page changed nothing

    button.click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    expect(page.get_by_text(address)).to_be_visible()
    page.set_viewport_size(DESKTOP)
    screenshot(page, "unsubscribe-after.png")
    statuses = _statuses_by_email()
    assert statuses.pop(address) == "unsubscribed"
    assert set(statuses.values()) == {"confirmed"}  # the other recipients stay


def test_admin_sees_the_sent_campaign_with_its_count(
    live_server: str, sent_campaign: int, page: Page
) -> None:
    page.set_viewport_size(DESKTOP)
    log_in_page(page, live_server)
    page.goto(f"{live_server}/admin")
    row = page.locator(f'tr[data-campaign-id="{sent_campaign}"]')
    expect(row).to_contain_text("Forum «Відбудова» — first")
    expect(row.locator('[data-count="sent"]')).to_have_text(str(RECIPIENTS))
    expect(row.locator(".pill")).to_have_text("sent")
    screenshot(page, "admin-campaigns.png")


def _sending_campaign(sent: int, queued: int) -> int:
    """A campaign mid-send with ``sent`` messages sent just now and ``queued`` waiting."""
    with unit_of_work() as session:
        people = add_subscribers(session, add_list(session, "news"), sent + queued)
        campaign = add_announcement(session, "news", subject="Forum «Відбудова» — sending")
        campaign.status, campaign.total, campaign.started_at = "sending", sent + queued, utcnow()
        session.flush()
        session.add_all(
            Delivery(campaign_id=campaign.id, subscriber_id=person.id, status="queued")
            for person in people
        )
    _send_some(campaign.id, sent)
    return campaign.id


def _send_some(campaign_id: int, count: int) -> None:
    """Do what a worker does to ``count`` queued deliveries: mark them sent now."""
    with unit_of_work() as session:
        ids = select(Delivery.id).where(
            Delivery.campaign_id == campaign_id, Delivery.status == "queued"
        )
        first = ids.order_by(Delivery.id).limit(count).subquery()
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(select(first.c.id)))
            .values(status="sent", sent_at=utcnow())
        )


def _campaign_status(campaign_id: int) -> str:
    with unit_of_work() as session:
        return session.scalars(select(Campaign.status).where(Campaign.id == campaign_id)).one()


def test_admin_follows_progress_and_pauses_a_sending_campaign(live_server: str, page: Page) -> None:
    campaign_id = _sending_campaign(sent=3, queued=3)
    log_in_page(page, live_server)
    page.goto(f"{live_server}/admin")
    row = page.locator(f'tr[data-campaign-id="{campaign_id}"]')
    expect(row.locator(".pill")).to_have_text("sending")
    bar = row.get_by_role("progressbar", name=f"Progress of campaign #{campaign_id}")
    expect(bar).to_have_attribute("value", "50")
    expect(row.locator('[data-field="sent-of-total"]')).to_have_text("3/6")
    expect(row.locator('[data-field="rate"]')).to_have_text("0.05")
    expect(row.locator('[data-field="eta"]')).to_have_text("1 min")
    expect(row.get_by_role("button", name=f"Resume campaign #{campaign_id}")).to_be_hidden()
    page.evaluate("window.notReloaded = true")

    _send_some(campaign_id, 1)  # a worker sends one more; the page follows by itself
    expect(row.locator('[data-count="sent"]')).to_have_text("4", timeout=10_000)
    expect(row.locator('[data-field="sent-of-total"]')).to_have_text("4/6")
    expect(bar).to_have_attribute("value", "66.7")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "admin-progress-phone.png")

    row.get_by_role("button", name=f"Pause campaign #{campaign_id}").click()
    expect(page.get_by_role("status")).to_have_text(f"Campaign #{campaign_id} paused.")
    expect(row.locator(".pill")).to_have_text("paused")
    expect(row.get_by_role("button", name=f"Resume campaign #{campaign_id}")).to_be_visible()
    expect(row.get_by_role("button", name=f"Pause campaign #{campaign_id}")).to_be_hidden()
    assert _campaign_status(campaign_id) == "paused"
    page.set_viewport_size(DESKTOP)
    screenshot(page, "admin-paused.png")


def test_cancelling_asks_for_confirmation_first(live_server: str, page: Page) -> None:
    campaign_id = _sending_campaign(sent=1, queued=2)
    log_in_page(page, live_server)
    page.goto(f"{live_server}/admin")
    row = page.locator(f'tr[data-campaign-id="{campaign_id}"]')
    cancel = row.get_by_role("button", name=f"Cancel campaign #{campaign_id}")
    questions: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    cancel.click()
    page.wait_for_timeout(500)  # time enough for a form post that must not happen
    assert questions == [
        f"Cancel campaign #{campaign_id}? Messages not sent yet will never be sent."
    ]
    assert _campaign_status(campaign_id) == "sending"

    page.once("dialog", lambda dialog: dialog.accept())
    cancel.click()
    expect(page.get_by_role("status")).to_have_text(f"Campaign #{campaign_id} cancelled.")
    expect(row.locator(".pill")).to_have_text("cancelled")
    assert _campaign_status(campaign_id) == "cancelled"
    with unit_of_work() as session:
        assert delivery_counts(session, [campaign_id])[campaign_id] == {"sent": 1, "cancelled": 2}
