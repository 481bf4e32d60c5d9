"""A long report's announcement in a real browser: "Read the full report" is above the fold
at 600 and at 375 px wide (Chromium, the admin's email preview). Screenshots are kept under
var/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, ViewportSize

from core.database import unit_of_work
from publisher.campaigns.service import create_campaign
from tests.fixtures.browser import screenshot
from tests.fixtures.factories import add_list
from tests.fixtures.long_reports import add_long_report

VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 600, "height": 720},
    "phone": {"width": 375, "height": 667},
}
BUTTONS = {"en": "Read the full report", "uk": "Читати повний звіт"}


@pytest.mark.parametrize("language", ["en", "uk"])
def test_read_the_full_report_is_above_the_fold(
    admin_page: Page, live_server: str, language: str
) -> None:
    with unit_of_work() as session:
        add_list(session)
        post = add_long_report(session, language, words=6500)
        assert len(post.body.split()) >= 6000
        campaign_id = create_campaign(
            session,
            kind="announcement",
            list_slugs=["news"],
            post_ids=[post.id],
            language=language,
        ).id
    for name, viewport in VIEWPORTS.items():
        admin_page.set_viewport_size(viewport)
        admin_page.goto(f"{live_server}/admin/campaigns/{campaign_id}/preview.html")
        button = admin_page.get_by_role("link", name=BUTTONS[language]).first
        box = button.bounding_box()
        assert box is not None, f"no {BUTTONS[language]!r} button at {name} width"
        assert box["y"] + box["height"] < viewport["height"], (name, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (name, box)
        screenshot(admin_page, f"teaser-{language}-{name}.png")
