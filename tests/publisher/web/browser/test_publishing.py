"""The editor's whole flow in a real browser: write a post, take it through review, create
an announcement, check and preview it (desktop and phone), schedule it, see it sent.

The pipeline runs in-process (tasks recorded, then run) and the scheduler's clock is passed
explicitly. Screenshots are kept under var/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.database import unit_of_work
from publisher.campaigns.models import Campaign
from tests.fixtures.browser import DESKTOP, PHONE, screenshot
from tests.fixtures.factories import add_list, add_subscribers
from tests.fixtures.tasks import TaskRecorder, recording
from worker import planning, scheduled

TITLE = "Forum «Відбудова»: what Kyiv and Tokyo agreed"


@pytest.fixture
def recorder(live_server: str) -> Iterator[TaskRecorder]:
    planning.current_provider.cache_clear()
    planning._emails_cache.clear()
    with recording(TaskRecorder()) as tasks:
        with unit_of_work() as session:
            people = add_subscribers(session, add_list(session, "news"), 4)
            people[2].timezone = "Asia/Tokyo"
        yield tasks


def _write_and_publish_post(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/admin/posts/new")
    page.fill("#title", TITLE)
    page.fill("#summary", "Two days of panels — “find out everything first”.")
    page.fill("#body", "## Panels\n\n* Energy\n* Reconstruction\n")
    page.get_by_role("button", name="Create draft").click()
    for step in ("Submit for review", "Approve", "Publish"):
        page.get_by_role("button", name=step).click()
    expect(page.get_by_text("Published").first).to_be_visible()


def test_an_editor_takes_a_post_to_a_sent_announcement(
    live_server: str, recorder: TaskRecorder, admin_page: Page
) -> None:
    page = admin_page
    page.set_viewport_size(DESKTOP)
    _write_and_publish_post(page, live_server)

    page.goto(f"{live_server}/admin")
    page.get_by_role("link", name="New announcement").click()
    page.get_by_label("News (news").check()
    page.get_by_label(f"Carry {TITLE}").check()
    page.fill("#subject", "New: Forum «Відбудова» report")
    screenshot(page, "campaign-new.png")
    page.get_by_role("button", name="Create draft").click()

    expect(page.get_by_role("status")).to_have_text("Draft created.")
    expect(page.get_by_text("All checks pass")).to_be_visible()
    expect(page.get_by_role("cell", name="Asia/Tokyo")).to_be_visible()
    desktop = page.frame_locator('iframe[title="Desktop preview"]')
    expect(desktop.get_by_role("heading", name="Panels")).to_be_visible()
    page.fill("#preview-email", "reader1@example.com")
    page.get_by_role("button", name="Show").click()
    expect(desktop.get_by_text("Мар'яна Коваленко", exact=False).first).to_be_visible()
    page.locator("#preview-title").scroll_into_view_if_needed()
    screenshot(page, "campaign-preview-desktop.png")

    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Phone").click()
    expect(page.locator('iframe[title="Desktop preview"]')).to_be_hidden()
    expect(
        page.frame_locator('iframe[title="Phone preview"]').get_by_role("heading", name="Panels")
    ).to_be_visible()
    page.locator("#preview-title").scroll_into_view_if_needed()
    screenshot(page, "campaign-preview-phone.png")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("status")).to_have_text("The campaign is scheduled.")
    expect(page.locator(".campaign-head .pill")).to_have_text("scheduled")
    screenshot(page, "campaign-scheduled.png")

    with unit_of_work() as session:
        campaign = session.scalars(select(Campaign).where(Campaign.status == "scheduled")).one()
        campaign_id, due = campaign.id, campaign.scheduled_at
    assert due is not None
    recorder.tasks.clear()  # anything the post's workflow queued is not this test's concern
    scheduled.tick(now=due - timedelta(seconds=1))
    assert recorder.tasks == []
    scheduled.tick(now=due)
    recorder.run_all()
    scheduled.tick(now=due + timedelta(seconds=5))

    page.goto(f"{live_server}/admin")
    row = page.locator(f'tr[data-campaign-id="{campaign_id}"]')
    expect(row.locator(".pill")).to_have_text("sent")
    expect(row.locator('[data-count="sent"]')).to_have_text("4")
    screenshot(page, "campaign-sent.png")
