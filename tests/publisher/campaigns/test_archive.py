"""The public archive: public lists and sent campaigns only, no one's tokens, a valid feed."""

from __future__ import annotations

import re

import feedparser
from fastapi.testclient import TestClient

from core.database import unit_of_work
from publisher.campaigns.queries import campaign_posts
from publisher.campaigns.service import start_sending
from publisher.web.app import app
from tests.fixtures.factories import add_announcement, add_list, add_post, add_subscribers
from tests.fixtures.tasks import TaskRecorder

TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}|/t/|/unsubscribe/|/preferences/")
"""A signed token (payload.signature), or a tracking, unsubscribe or preferences URL."""


def _sent_campaigns(tasks: TaskRecorder) -> tuple[int, int, int]:
    """A sent announcement (with a Ukrainian translation), a draft, one sent to a private list."""
    with unit_of_work() as session:
        add_subscribers(session, add_list(session, "news"), 3)
        private = add_list(session, "board")
        private.public = False
        add_subscribers(session, private, 1, prefix="board")
        sent = add_announcement(session, "news", subject="Forum «Відбудова» — report")
        [original] = campaign_posts(session, sent.id)
        translation = add_post(session, "Форум «Відбудова» — звіт")
        translation.language, translation.translation_of_id = "uk", original.id
        draft = add_announcement(session, "news", subject="Not yet")
        hidden = add_announcement(session, "board", subject="Board only")
        start_sending(session, sent)
        start_sending(session, hidden)
    tasks.run_all()
    return sent.id, draft.id, hidden.id


def test_archive_shows_sent_campaigns_of_public_lists_without_tokens(tasks: TaskRecorder) -> None:
    sent, draft, hidden = _sent_campaigns(tasks)
    client = TestClient(app)
    home = client.get("/archive")
    assert home.status_code == 200
    assert "/archive/news" in home.text and "/archive/board" not in home.text
    listing = client.get("/archive/news")
    assert f"/archive/news/{sent}" in listing.text
    assert f"/archive/news/{draft}" not in listing.text
    assert client.get(f"/archive/news/{draft}").status_code == 404
    assert client.get("/archive/board").status_code == 404
    assert client.get(f"/archive/news/{hidden}").status_code == 404
    pages = [client.get(f"/archive/news/{sent}"), client.get(f"/archive/news/{sent}?lang=uk")]
    for page in [home, listing, *pages]:
        assert page.status_code == 200
        assert not TOKEN_LIKE.search(page.text), TOKEN_LIKE.search(page.text)
        assert "open_url" not in page.text and "click_urls" not in page.text
    assert "Forum «Відбудова» — report" in pages[0].text
    assert "Форум «Відбудова» — звіт" in pages[1].text


def test_the_atom_feed_is_valid_and_has_the_sent_campaigns(tasks: TaskRecorder) -> None:
    sent, draft, _ = _sent_campaigns(tasks)
    answer = TestClient(app).get("/archive/news/feed.atom")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert [entry.link for entry in feed.entries] == [f"http://testserver/archive/news/{sent}"]
    assert feed.entries[0].title == "Forum «Відбудова» — report"
    assert not TOKEN_LIKE.search(answer.text)
    assert TOKEN_LIKE.search("http://testserver/x/WzEsWzFdLDFd.rY9eLPYVDLX4O2nYwL1BSXNaUs4Ktw")
    assert TestClient(app).get("/archive/board/feed.atom").status_code == 404
    _ = draft
