"""The statistics dashboard in a real browser: charts and tables, on a laptop and a phone, in
light and dark mode; screenshots kept under var/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from core.database import unit_of_work
from core.providers.events import ProviderEvent
from publisher.campaigns.models import Campaign
from publisher.sending.deliveries import plan_deliveries
from publisher.sending.models import Delivery
from publisher.stats import health
from publisher.tracking.provider_events import record_events
from tests.fixtures.browser import DESKTOP, PHONE, screenshot
from tests.fixtures.factories import add_announcement, add_list, add_subscribers

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _sent_campaign() -> int:
    with unit_of_work() as session:
        news = add_list(session, "news")
        add_subscribers(session, news, 40)
        campaign = add_announcement(session, "news", subject="Форум «Відбудова» — 復興")
        plan_deliveries(session, campaign.id)
        session.execute(update(Delivery).values(status="sent", sent_at=T0))
        session.execute(update(Campaign).values(status="sent", started_at=T0, finished_at=T0))
        ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
        events = [ProviderEvent(f"d{i}", "delivered", i, "", T0) for i in ids[:38]]
        events += [ProviderEvent("b", "bounced", ids[39], "", T0, bounce="hard")]
        for n, i in enumerate(ids[:25]):
            at = T0 + timedelta(hours=n % 9, minutes=5)
            events.append(ProviderEvent(f"o{i}", "opened", i, "", at))
            if n % 3 == 0:
                url = f"https://example.org/forum/{n % 2}"
                events.append(ProviderEvent(f"c{i}", "clicked", i, "", at, details={"url": url}))
        record_events(session, "postmark", events)
        health.record_call(session, health.ProviderCall("postmark", 40, 40, 180))
        return campaign.id


def test_the_dashboard_shows_charts_beside_tables(admin_page: Page, live_server: str) -> None:
    campaign_id = _sent_campaign()
    page = admin_page
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server}/admin/stats")
    expect(page.get_by_role("heading", name="Delivery statistics")).to_be_visible()
    expect(page.locator("figure.chart svg[role=img]").first).to_be_visible()
    expect(page.get_by_role("alert").first).to_contain_text("Bounce rate 2.50% is above 2%")
    row = page.locator(f"tr[data-campaign-id='{campaign_id}']")
    expect(row.locator("td").nth(2)).to_contain_text("38")  # delivered; the bounce is apart
    screenshot(page, "stats-dashboard-desktop.png")

    page.get_by_role("link", name="Форум «Відбудова» — 復興").click()
    expect(page.get_by_role("heading", name="Форум «Відбудова» — 復興")).to_be_visible()
    expect(page.locator("figure.chart")).to_have_count(2)
    expect(page.get_by_role("cell", name="https://example.org/forum/0")).to_be_visible()
    box = page.locator("figure.chart").first.bounding_box()
    assert box is not None and box["width"] > 500  # beside its table, not squeezed
    screenshot(page, "stats-campaign-desktop.png")

    page.set_viewport_size(PHONE)
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, "the page must not scroll sideways on a phone"
    screenshot(page, "stats-campaign-phone.png")
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server}/admin/stats/providers")
    expect(page.get_by_role("heading", name="Provider health")).to_be_visible()
    screenshot(page, "stats-providers-phone-dark.png")
