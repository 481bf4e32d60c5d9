"""Script in every field an editor writes comes out inert: admin pages, public page, email.

The hostile post is stored straight into the database, past the editor form's checks, so
the pages and the email are tested on their own defences; the form's refusals are tested
too. A page passes when no element, event attribute or script URL came from the content.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.database import unit_of_work
from core.rendering.emails import CompiledEmail, Recipient, RecipientRenderer
from core.settings import get_settings
from publisher.campaigns.service import create_campaign
from publisher.posts.models import Post
from publisher.sending.messages import compile_campaign
from publisher.tracking.links import click_urls
from publisher.web.app import create_app
from tests.fixtures.factories import add_list

SCRIPT_URL = "javascript:alert(document.cookie)"
HOSTILE: dict[str, Any] = {
    "title": '<script>alert("title")</script> Forum «Відбудова»',
    "summary": '<img src=x onerror=alert("summary")> “quoted”',
    "body": (
        '<script>alert("body")</script>\n\n[a link](javascript:alert("md"))\n\n'
        '<a href="javascript:alert(1)">raw</a> <img src=x onerror=alert(2)>\n\n'
        "[ok](https://example.org/ok) <svg onload=alert(3)>"
    ),
    "author": "<b onmouseover=alert('author')>Author</b>",
    "location": '"><iframe src="javascript:alert(4)"></iframe>',
    "takeaways": ["<script>alert('takeaway')</script>", "Energy — first"],
    "topics": ["<img src=x onerror=alert('topic')>"],
    "speakers": [
        {
            "name": "<svg onload=alert('name')>",
            "role": '" onfocus="alert(5)',
            "organisation": "<style>body{display:none}</style>",
            "quote": '"><script>alert("quote")</script>',
        }
    ],
    "media": [
        {"label": "<img src=x onerror=alert('label')>", "url": SCRIPT_URL, "language": "en"},
        {"label": "Fine", "url": 'https://video.example.org/ok" onmouseover="alert(6)'},
    ],
    "images": [
        {"url": SCRIPT_URL, "alt": "x"},
        {"url": "https://photos.example.org/a.jpg", "alt": '" onerror="alert(7)'},
    ],
    "image_url": SCRIPT_URL,
    "image_alt": '" onerror="alert(8)',
    "url": SCRIPT_URL,
}
DANGEROUS_TAGS = {"script", "iframe", "svg", "object", "embed", "img-onerror"}


class _Inspector(HTMLParser):
    """Collects every live element or attribute that could run script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}>")
            url = (value or "").strip().lower()
            if name in ("href", "src", "action") and url.startswith(("javascript:", "data:")):
                self.problems.append(f"<{tag} {name}={value}>")


def assert_inert(html: str) -> None:
    """No script can run from this HTML (the page's own markup has none)."""
    inspector = _Inspector()
    inspector.feed(html)
    assert inspector.problems == []
    assert (
        "&lt;script&gt;alert(&#34;title&#34;)" in html
        or "&lt;script&gt;alert(&quot;title&quot;)" in html
    )


def _hostile_post(session: Session, status: str = "published") -> Post:
    post = Post(kind="event", slug="hostile", status=status, timezone="Europe/Kyiv", **HOSTILE)
    session.add(post)
    session.flush()
    return post


def test_the_admin_pages_show_hostile_content_as_text(admin: TestClient) -> None:
    with unit_of_work() as session:
        post_id = _hostile_post(session, status="in_review").id
    for path in ("/admin/posts", f"/admin/posts/{post_id}", f"/admin/posts/{post_id}/edit"):
        page = admin.get(path)
        assert page.status_code == 200, path
        assert_inert(page.text)
    preview = admin.get(f"/admin/posts/{post_id}").text
    assert 'href="https://example.org/ok"' in preview  # the good link survives
    assert "Energy — first" in preview and "Forum «Відбудова»" in preview


def test_the_public_post_page_shows_hostile_content_as_text(admin: TestClient) -> None:
    with unit_of_work() as session:
        _hostile_post(session)
    page = TestClient(create_app()).get("/posts/hostile")
    assert page.status_code == 200
    assert_inert(page.text)
    assert "“quoted”" in page.text


def test_a_campaign_email_of_a_hostile_post_is_inert(db: str) -> None:
    with unit_of_work() as session:
        post = _hostile_post(session)
        add_list(session, "news")
        campaign = create_campaign(
            session, kind="announcement", list_slugs=["news"], post_ids=[post.id]
        )
        snapshot = compile_campaign(session, campaign, ["en"], get_settings())
    compiled = CompiledEmail.from_json(snapshot["languages"]["en"])
    email = RecipientRenderer(compiled).render(
        Recipient(
            email="reader@example.com",
            name="Reader",
            unsubscribe_url="https://x.org/u",
            preferences_url="https://x.org/p",
            open_url="https://x.org/o",
            click_urls=click_urls("http://testserver", 1, compiled.links),
        )
    )
    assert_inert(email.html)
    assert email.subject == HOSTILE["title"]  # a subject is plain text: kept as written
    assert SCRIPT_URL not in email.html


def test_the_editor_form_refuses_script_urls_and_echoes_input_inertly(admin: TestClient) -> None:
    form = {
        "kind": "event",
        "language": "en",
        "timezone": "Europe/Kyiv",
        "title": HOSTILE["title"],
        "summary": HOSTILE["summary"],
        "body": HOSTILE["body"],
        "speakers": "<svg onload=alert(1)> | r | o | \"><script>alert('quote')</script>",
        "media": f"Recording | {SCRIPT_URL} | en",
        "images": f"{SCRIPT_URL} | alt",
        "image_url": SCRIPT_URL,
        "image_alt": HOSTILE["image_alt"],
        "url": SCRIPT_URL,
    }
    answer = admin.post(
        "/admin/posts/new", data={**form, "csrf_token": admin.headers["X-CSRF-Token"]}
    )
    assert answer.status_code == 422
    for problem in ("media link 1", "image 1 must", "the url must", "the image url must"):
        assert f"{problem}" in answer.text
    assert_inert(answer.text)
    with unit_of_work() as session:
        assert session.query(Post).count() == 0


@pytest.mark.parametrize(
    "html", ['<a href=" JavaScript:alert(1)">x</a>', "<p onclick=x>y</p>", "<script>x</script>"]
)
def test_the_inspector_catches_live_script(html: str) -> None:
    inspector = _Inspector()
    inspector.feed(html)
    assert inspector.problems
