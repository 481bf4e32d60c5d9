"""In a real browser: an editor writes and submits a post, an admin approves and publishes it."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.fixtures.browser import DESKTOP, PHONE, log_in_page, screenshot

TITLE = "Briefing: Kyiv — Tokyo, «енергетика» and 復興"


def _write_and_submit(page: Page, live_server: str) -> str:
    log_in_page(page, live_server, "editor@example.com", "editor")
    page.goto(f"{live_server}/admin/posts")
    page.get_by_role("link", name="New post").click()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Summary").fill("Two capitals, one grid — “find out everything first”.")
    page.get_by_label("Body (Markdown)").fill(
        "## Agenda\n\n- Distributed generation\n- War‑risk insurance"
    )
    page.get_by_label("Key takeaways").fill(
        "Repair so the grid is harder to break\nInsure the first years"
    )
    page.get_by_label("Speakers").fill(
        "佐藤 美咲 | Director | Tokyo Institute | We rebuild — together."
    )
    page.get_by_label("Topics").fill("Events, Japan")
    screenshot(page, "posts-editor-form-phone.png")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("status")).to_have_text("Post created.")
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("status")).to_have_text("Submitted for review.")
    screenshot(page, "posts-submitted-editor-phone.png")
    match = re.search(r"/admin/posts/(\d+)", page.url)
    assert match is not None
    return match[1]


def test_editor_submits_then_admin_approves_and_publishes(
    page: Page, browser: Browser, live_server: str
) -> None:
    post_id = _write_and_submit(page, live_server)
    context = browser.new_context(viewport=DESKTOP)
    admin = context.new_page()
    log_in_page(admin, live_server, "admin@example.com", "admin")
    admin.goto(f"{live_server}/admin/posts?status=in_review")
    admin.get_by_role("link", name=TITLE).click()
    admin.get_by_role("button", name="Approve").click()
    expect(admin.get_by_role("status")).to_have_text("Approved.")
    admin.get_by_role("button", name="Publish").click()
    expect(admin.get_by_role("status")).to_have_text("Published.")
    expect(admin.get_by_text("admin@example.com published it")).to_be_visible()
    expect(admin.get_by_text("editor@example.com submitted it for review")).to_be_visible()
    screenshot(admin, "posts-published-admin-desktop.png")
    admin.get_by_role("link", name="View public page").click()
    expect(admin.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(admin.get_by_text("We rebuild — together.")).to_be_visible()
    admin.set_viewport_size(PHONE)
    screenshot(admin, "posts-public-page-phone.png")
    admin.goto(f"{live_server}/admin/posts")
    expect(admin.get_by_role("link", name=TITLE)).to_be_visible()
    screenshot(admin, "posts-list-phone.png")
    context.close()
    assert post_id
