"""The demo content has the shape the rest of Herald relies on, read as the importer reads it."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from datetime import UTC, datetime
from fnmatch import fnmatch
from zoneinfo import ZoneInfo

import pytest

from publisher.demo.people import demo_subscribers
from publisher.demo.samples import (
    BASE_URL_PLACEHOLDER,
    DIGEST_SLUGS,
    FORUM_SLUG,
    content_folder,
    demo_posts,
    demo_sources,
)
from publisher.posts.import_items import ImportItem
from tests.fixtures.paths import ROOT

BASE_URL = "https://herald.example.org"
ALLOWED_LINKS = ("https://video.example.org/", "https://photos.example.org/", f"{BASE_URL}/posts/")
EMAIL = re.compile(r"^[a-z0-9._-]+@example\.(com|org|net)$")


@pytest.fixture
def posts() -> list[ImportItem]:
    return demo_posts(BASE_URL)


def _forum(posts: list[ImportItem]) -> ImportItem:
    return next(post for post in posts if post.data.slug == FORUM_SLUG)


def test_posts_have_unique_slugs_and_are_published(posts: list[ImportItem]) -> None:
    assert len(posts) == 6
    assert len({post.source_id for post in posts}) == len(posts)
    assert len({post.data.slug for post in posts}) == len(posts)
    assert all(re.fullmatch(r"[a-z0-9-]+", post.data.slug) for post in posts)
    assert {post.status for post in posts} == {"published"}
    slugs = {post.data.slug for post in posts}
    assert {FORUM_SLUG, *DIGEST_SLUGS} <= slugs


def test_post_fields_use_the_agreed_vocabulary(posts: list[ImportItem]) -> None:
    for post in (item.data for item in posts):
        assert post.kind in {"event", "report", "news"}
        assert post.language in {"en", "uk", "ja"}
        assert set(post.topics) <= {"Events", "Research"} and post.topics
        assert post.title and post.summary and post.body and post.author
        ZoneInfo(post.timezone)


def test_exactly_one_report_with_ten_takeaways(posts: list[ImportItem]) -> None:
    reports = [post.data for post in posts if post.data.kind == "report"]
    assert len(reports) == 1
    report = reports[0]
    assert len(report.takeaways) == 10
    assert report.topics == ["Research"]
    assert report.author == "Herald Policy Centre"
    assert 600 <= len(report.body.split()) <= 1000
    assert report.body.count("**Key takeaways**") >= 3
    assert report.body.count("\n## ") >= 4


def test_translations_point_to_existing_originals(posts: list[ImportItem]) -> None:
    by_slug = {post.data.slug: post for post in posts}
    translations = [post for post in posts if post.translation_of]
    assert {post.data.language for post in translations} == {"uk", "ja"}
    for post in translations:
        original = by_slug[post.translation_of]
        assert not original.translation_of
        assert original.data.slug == FORUM_SLUG
        assert original.data.language != post.data.language
        assert post.data.starts_at == original.data.starts_at


def test_forum_has_speakers_media_and_the_closing_call(posts: list[ImportItem]) -> None:
    forum = _forum(posts).data
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


def test_links_stay_on_example_domains_and_name_demo_posts(posts: list[ImportItem]) -> None:
    slugs = {post.data.slug for post in posts}
    for post in (item.data for item in posts):
        for item in post.media:
            assert set(item) == {"label", "url", "language"}
            assert re.match(r"^https://(video|photos)\.example\.org/", item["url"])
        assert post.image_url.startswith("https://photos.example.org/")
        for url in re.findall(r"\]\((\S+?)\)", post.body):
            assert url.startswith(ALLOWED_LINKS), url
            if url.startswith(f"{BASE_URL}/posts/"):
                assert url.removeprefix(f"{BASE_URL}/posts/") in slugs, url
        assert BASE_URL_PLACEHOLDER not in post.body


def test_the_base_url_is_written_in_without_a_trailing_slash() -> None:
    bodies = [source.content.decode() for source in demo_sources(BASE_URL + "/")]
    assert any(f"]({BASE_URL}/posts/{FORUM_SLUG})" in body for body in bodies)
    assert not any("//posts/" in body or BASE_URL_PLACEHOLDER in body for body in bodies)


def test_dates_carry_their_zone_and_are_the_moments_meant(posts: list[ImportItem]) -> None:
    for post in (item.data for item in posts):
        moments = [post.published_at] + ([post.starts_at] if post.starts_at else [])
        for moment in moments:
            assert moment is not None and moment.tzinfo is not None
    # 10:00 in Kyiv (UTC+2 in March) is 17:00 in Tokyo, as the forum's body says.
    assert _forum(posts).data.starts_at == datetime(2026, 3, 18, 8, tzinfo=UTC)


def test_every_image_has_alt_text(posts: list[ImportItem]) -> None:
    assert all(post.data.image_url and post.data.image_alt.strip() for post in posts)


def test_text_mixes_scripts_and_typography(posts: list[ImportItem]) -> None:
    text = "\n".join(
        " ".join([post.title, post.body, *[s["quote"] for s in post.speakers]])
        for post in (item.data for item in posts)
    )
    for needle in ["“", "”", "–", "—", "•", "\u00a0", "«", "Відбудова", "佐藤 美咲"]:
        assert needle in text
    assert re.search(r"[\u0400-\u04ff]", text) and re.search(r"[\u3040-\u30ff]", text)
    for post in (item.data for item in posts):
        assert not post.body.isascii() or not post.title.isascii()


def test_posts_are_the_same_on_every_call() -> None:
    assert demo_posts(BASE_URL) == demo_posts(BASE_URL)


def test_every_content_file_ships_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["publisher.demo"]
    names = [item.name for item in content_folder().iterdir()]
    assert "people.yaml" in names and len([name for name in names if name.endswith(".md")]) == 6
    for name in names:
        assert any(fnmatch(f"content/{name}", pattern) for pattern in patterns), name


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


def test_japanese_readers_are_named_family_name_first() -> None:
    reader = demo_subscribers(5)[4]
    assert reader.language == "ja"
    assert reader.name == "渡辺 由紀" and reader.email == "yuki.watanabe.5@example.org"
