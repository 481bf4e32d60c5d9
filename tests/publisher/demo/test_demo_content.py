"""The demo content has the shape the rest of Herald relies on."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from publisher.demo.content import FORUM_KEY, DemoPost, demo_posts, demo_subscribers, post_url

BASE_URL = "https://herald.example.org"
ALLOWED_LINKS = ("https://video.example.org/", "https://photos.example.org/", f"{BASE_URL}/posts/")
EMAIL = re.compile(r"^[a-z0-9._-]+@example\.(com|org|net)$")


@pytest.fixture
def posts() -> list[DemoPost]:
    return demo_posts(BASE_URL)


def test_posts_have_unique_keys_and_slugs(posts: list[DemoPost]) -> None:
    assert len({post.key for post in posts}) == len(posts)
    assert len({post.slug for post in posts}) == len(posts)
    assert all(re.fullmatch(r"[a-z0-9-]+", post.slug) for post in posts)


def test_post_fields_use_the_agreed_vocabulary(posts: list[DemoPost]) -> None:
    for post in posts:
        assert post.kind in {"event", "report", "news"}
        assert post.language in {"en", "uk", "ja"}
        assert set(post.topics) <= {"Events", "Research"} and post.topics
        assert post.title and post.summary and post.body and post.author
        ZoneInfo(post.timezone)


def test_exactly_one_report_with_ten_takeaways(posts: list[DemoPost]) -> None:
    reports = [post for post in posts if post.kind == "report"]
    assert len(reports) == 1
    report = reports[0]
    assert len(report.takeaways) == 10
    assert report.topics == ["Research"]
    assert report.author == "Herald Policy Centre"
    assert 600 <= len(report.body.split()) <= 1000
    assert report.body.count("**Key takeaways**") >= 3
    assert report.body.count("\n## ") >= 4


def test_translations_point_to_existing_originals(posts: list[DemoPost]) -> None:
    by_key = {post.key: post for post in posts}
    translations = [post for post in posts if post.translation_of is not None]
    assert {post.language for post in translations} == {"uk", "ja"}
    for post in translations:
        original = by_key[post.translation_of or ""]
        assert original.translation_of is None
        assert original.key == FORUM_KEY
        assert original.language != post.language
        assert post.starts_at == original.starts_at


def test_forum_has_speakers_media_and_the_closing_call(posts: list[DemoPost]) -> None:
    forum = next(post for post in posts if post.key == FORUM_KEY)
    assert forum.kind == "event" and forum.starts_at is not None
    assert 3 <= len(forum.speakers) <= 4
    for speaker in forum.speakers:
        assert set(speaker) == {"name", "role", "organisation", "quote"}
        assert all(speaker.values()) and len(speaker["quote"]) > 150
    videos = [item for item in forum.media if item["url"].startswith("https://video.")]
    assert {item["language"] for item in videos} == {"en", "uk"}
    assert any(item["url"].startswith("https://photos.example.org/") for item in forum.media)
    assert "Subscribe and find out everything first" in forum.body
    assert "### Panel 3" in forum.body


def test_links_stay_on_example_domains_and_the_base_url(posts: list[DemoPost]) -> None:
    for post in posts:
        for item in post.media:
            assert set(item) == {"label", "url", "language"}
            assert re.match(r"^https://(video|photos)\.example\.org/", item["url"])
        assert post.image_url.startswith("https://photos.example.org/")
        for url in re.findall(r"\]\((\S+?)\)", post.body):
            assert url.startswith(ALLOWED_LINKS), url
    forum = next(post for post in posts if post.key == FORUM_KEY)
    assert post_url(BASE_URL + "/", forum.slug) == f"{BASE_URL}/posts/{forum.slug}"


def test_all_datetimes_are_aware_utc(posts: list[DemoPost]) -> None:
    for post in posts:
        moments = [post.published_at] + ([post.starts_at] if post.starts_at else [])
        for moment in moments:
            assert moment.tzinfo is not None
            assert moment.utcoffset() == timedelta(0)


def test_every_image_has_alt_text(posts: list[DemoPost]) -> None:
    assert all(post.image_url and post.image_alt.strip() for post in posts)


def test_text_mixes_scripts_and_typography(posts: list[DemoPost]) -> None:
    text = "\n".join(
        " ".join([post.title, post.body, *[s["quote"] for s in post.speakers]]) for post in posts
    )
    for needle in ["“", "”", "–", "—", "•", "\u00a0", "«", "Відбудова", "佐藤 美咲"]:
        assert needle in text
    assert re.search(r"[\u0400-\u04ff]", text) and re.search(r"[\u3040-\u30ff]", text)
    for post in posts:
        assert not post.body.isascii() or not post.title.isascii()


def test_posts_are_the_same_on_every_call() -> None:
    assert demo_posts(BASE_URL) == demo_posts(BASE_URL)


def test_subscribers_are_unique_valid_and_deterministic() -> None:
    subscribers = demo_subscribers()
    assert len(subscribers) == 300
    emails = [subscriber.email for subscriber in subscribers]
    assert len(set(emails)) == len(emails)
    assert all(EMAIL.match(email) for email in emails)
    assert subscribers == demo_subscribers()
    assert demo_subscribers(7) == subscribers[:7]
    for subscriber in subscribers:
        ZoneInfo(subscriber.timezone)


def test_subscribers_mix_languages_scripts_and_names() -> None:
    subscribers = demo_subscribers()
    counts = Counter(subscriber.language for subscriber in subscribers)
    assert counts == {"uk": 120, "en": 120, "ja": 60}
    names = [subscriber.name for subscriber in subscribers]
    assert any(name == "" for name in names)
    assert any("'" in name and re.search(r"[\u0400-\u04ff]", name) for name in names)
    for subscriber in subscribers:
        if not subscriber.name:
            continue
        if subscriber.language == "uk":
            assert re.search(r"[\u0400-\u04ff]", subscriber.name)
        elif subscriber.language == "ja":
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", subscriber.name)
        else:
            assert re.search(r"[A-Za-z]", subscriber.name)
    zones = {s.timezone for s in subscribers}
    assert {"Europe/Kyiv", "Europe/London", "Asia/Tokyo"} <= zones
