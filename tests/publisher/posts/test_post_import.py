"""Importing posts: Markdown with front matter, RSS and Atom, rejected files, re-imports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.database import unit_of_work
from publisher.cli.main import app as cli_app
from publisher.posts.feeds import fetch_url, parse_feed
from publisher.posts.import_items import ImportRejected, ImportSource
from publisher.posts.importing import import_sources, parse_markdown, read_paths
from publisher.posts.models import Post
from publisher.posts.service import CLI, Actor
from tests.fixtures.factories import EDITOR
from tests.fixtures.paths import DATA

DATA = DATA / "posts"


def _source(path: Path) -> ImportSource:
    return ImportSource(path.name, path.read_bytes())


def _import(session: Session, *paths: Path, actor: Actor = CLI) -> Any:
    return import_sources(session, sources=[_source(path) for path in paths], actor=actor)


def _by_source(session: Session, source_id: str) -> Post:
    post = session.scalar(select(Post).where(Post.source_id == source_id))
    assert post is not None
    return post


def test_a_markdown_file_brings_every_field_unmangled(session: Session) -> None:
    report = _import(session, DATA / "good" / "forum.md")
    assert report.rejected == [] and [item.outcome for item in report.imported] == ["created"]
    post = _by_source(session, "file:ukraine-japan-forum-2027")
    assert post.title == "Ukraine–Japan Forum 2027: «Відбудова» and the long recovery"
    assert post.summary.startswith("One day, two capitals — “find out everything first”")
    assert post.kind == "event" and post.status == "draft" and post.language == "en"
    assert post.slug == "ukraine-japan-forum-2027"
    assert post.topics == ["Events", "Japan"]
    assert post.speakers[1] == {
        "name": "田中 健一",
        "role": "Senior Fellow",
        "organisation": "Tokyo Institute for Resilience",
        "quote": "復興 is a decade, not a season.",
    }
    assert [item["language"] for item in post.media] == ["en", "uk", ""]
    assert post.media[1]["label"] == "Відеозапис (українською)"
    assert post.images[0]["alt"].startswith("The main hall of the forum")
    assert post.timezone == "Europe/Kyiv"
    # A time without an offset is read in the post's zone: 09:00 in Kyiv (UTC+2) is 07:00 UTC.
    assert post.published_at == datetime(2027, 3, 19, 7, 0, tzinfo=UTC)
    assert post.starts_at == datetime(2027, 3, 18, 8, 0, tzinfo=UTC)
    assert "war‑risk insurance" in post.body and "«краще»" in post.body


def test_a_translation_is_linked_to_its_original_whatever_the_order(session: Session) -> None:
    report = _import(session, DATA / "good" / "forum-uk.md", DATA / "good" / "forum.md")
    assert report.rejected == []
    original = _by_source(session, "file:ukraine-japan-forum-2027")
    translation = _by_source(session, "file:ukrainsko-yaponskyi-forum-2027")
    assert translation.translation_of_id == original.id and translation.language == "uk"
    assert translation.author == "Центр політик «Герольд»"


def test_a_translation_of_an_unknown_post_is_rejected(session: Session) -> None:
    report = _import(session, DATA / "good" / "forum-uk.md")
    assert report.imported == []
    assert "translation_of: no post 'ukraine-japan-forum-2027'" in report.rejected[0].reason


def test_topics_may_be_a_comma_separated_line_and_a_date_a_day(session: Session) -> None:
    _import(session, DATA / "good" / "report.md")
    post = _by_source(session, "file:report.md")
    assert post.topics == ["Research", "Japan"] and post.kind == "report"
    assert post.published_at == datetime(2027, 4, 2, tzinfo=UTC)
    assert post.author == "Herald Policy Centre — Research Unit"
    assert post.takeaways[1] == "Keep tenders auditable — “security” starts with the paper trail"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad-yaml.md", "bad YAML"),
        ("no-title.md", "missing title"),
        ("unknown-kind.md", "unknown kind 'podcast'"),
        ("bad-date.md", "unparsable date in published_at"),
        ("no-front-matter.md", "no YAML front matter"),
        ("not-a-feed.xml", "not an RSS or Atom feed"),
    ],
)
def test_each_bad_file_is_rejected_with_its_reason(name: str, reason: str) -> None:
    path = DATA / "bad" / name
    with pytest.raises(ImportRejected, match=reason):
        if path.suffix == ".md":
            parse_markdown(_source(path))
        else:
            parse_feed(_source(path))


def test_bad_files_do_not_stop_the_good_ones(session: Session) -> None:
    bad = sorted((DATA / "bad").iterdir())
    report = _import(session, *bad, DATA / "good" / "report.md")
    assert len(report.imported) == 1
    assert sorted(item.origin for item in report.rejected) == sorted(path.name for path in bad)


def test_an_rss_feed_imports_each_item_as_a_draft(session: Session) -> None:
    report = _import(session, DATA / "feeds" / "events.rss")
    assert report.rejected == [] and len(report.imported) == 2
    forum = _by_source(session, "feed:herald-events-forum-2027")
    assert forum.title == "Ukraine–Japan Forum 2027: «Відбудова» from Kyiv to Tokyo"
    assert forum.kind == "event" and forum.topics == ["Events"] and forum.language == "en"
    assert forum.summary == "One day, two capitals — “find out everything first”."
    assert "## Panels" in forum.body and "- Energy — building back «краще»" in forum.body
    assert "田中 健一 on war‑risk insurance" in forum.body
    assert "alert" not in forum.body
    assert forum.published_at == datetime(2027, 3, 19, 7, 0, tzinfo=UTC)
    assert forum.media == [
        {
            "label": "Video recording",
            "url": "https://video.example.org/forum-2027/en.mp4",
            "language": "",
        }
    ]
    panel = _by_source(session, "feed:https://herald.example.org/events/cities-that-heal")
    assert panel.kind == "news" and panel.published_at == datetime(2027, 4, 8, 10, 30, tzinfo=UTC)
    assert panel.body == "Mayors’ advisers compare fifteen years of recovery — and the first three."


def test_an_atom_feed_keeps_each_entrys_language_and_script(session: Session) -> None:
    report = _import(session, DATA / "feeds" / "research.atom")
    assert report.rejected == [] and len(report.imported) == 2
    report_uk = _by_source(session, "feed:urn:herald:research:rebuilding-to-last-uk")
    assert report_uk.kind == "report" and report_uk.language == "uk"
    assert report_uk.title == "Відбудувати надовго: десять уроків Кобе для Харкова"
    assert report_uk.author == "Ірина Бондар"
    assert "п’ятнадцять років — звіт 佐藤 美咲" in report_uk.body
    assert (
        report_uk.summary == "Аналітичний звіт про довге відновлення — «що 1995 рік навчив Кобе»."
    )
    japanese = _by_source(session, "feed:urn:herald:research:decade-ja")
    assert japanese.language == "ja" and japanese.title == "日本とウクライナ：復興の十年"
    assert japanese.published_at == datetime(2027, 4, 10, 0, 0, tzinfo=UTC)


def test_importing_again_updates_instead_of_duplicating(session: Session, tmp_path: Path) -> None:
    files = [DATA / "good" / "forum.md", DATA / "feeds" / "events.rss"]
    _import(session, *files)
    again = _import(session, *files)
    assert {item.outcome for item in again.imported} == {"unchanged"}
    changed = tmp_path / "forum.md"
    changed.write_text(
        (DATA / "good" / "forum.md").read_text().replace("One day, two capitals", "Two capitals")
    )
    report = _import(session, changed)
    assert [item.outcome for item in report.imported] == ["updated"]
    assert session.scalar(select(func.count()).select_from(Post)) == 3
    assert _by_source(session, "file:ukraine-japan-forum-2027").summary.startswith("Two capitals")


def test_re_importing_an_approved_post_with_changes_sends_it_back_to_review(
    session: Session, tmp_path: Path
) -> None:
    _import(session, DATA / "good" / "report.md")
    post = _by_source(session, "file:report.md")
    post.status = "approved"
    changed = tmp_path / "report.md"
    changed.write_text((DATA / "good" / "report.md").read_text() + "\nA new paragraph.\n")
    _import(session, changed)
    assert post.status == "in_review"


def test_front_matter_may_publish_only_when_an_admin_imports(
    session: Session, tmp_path: Path
) -> None:
    text = (
        (DATA / "good" / "report.md")
        .read_text()
        .replace("kind: report", "kind: report\nstatus: published")
    )
    (tmp_path / "a.md").write_text(text.replace("Rebuilding", "A"))
    (tmp_path / "b.md").write_text(text.replace("Rebuilding", "B"))
    by_editor = _import(session, tmp_path / "a.md", actor=EDITOR)
    assert by_editor.imported[0].post.status == "draft"
    assert "imported as a draft" in by_editor.notes[0]
    by_admin = _import(session, tmp_path / "b.md", actor=CLI)
    assert by_admin.imported[0].post.status == "published"
    assert by_admin.imported[0].post.url.startswith("http://testserver/posts/")


def test_a_feed_url_is_fetched_with_httpx() -> None:
    feed = (DATA / "feeds" / "events.rss").read_bytes()
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return (
            httpx.Response(200, content=feed)
            if request.url.path == "/feed"
            else httpx.Response(404)
        )

    client = httpx.Client(transport=httpx.MockTransport(answer))
    assert fetch_url("https://herald.example.org/feed", client) == feed
    with pytest.raises(ImportRejected, match="could not fetch the feed"):
        fetch_url("https://herald.example.org/missing", client)
    sources, rejected = read_paths(
        ["https://herald.example.org/feed", "/no/such/file.md"],
        fetch=lambda url: fetch_url(url, client),
    )
    assert [source.name for source in sources] == ["https://herald.example.org/feed"]
    assert rejected[0].reason == "no such file"


def test_the_cli_prints_a_line_per_post_and_the_rejections(db: str) -> None:
    runner = CliRunner()
    paths = [
        str(DATA / "good"),
        str(DATA / "bad" / "no-title.md"),
        str(DATA / "feeds" / "events.rss"),
    ]
    answer = runner.invoke(cli_app, ["posts", "import", *paths])
    assert answer.exit_code == 1  # one file was rejected; the others are in
    lines = [line for line in answer.stdout.splitlines() if line]
    assert len(lines) == 5
    assert any(
        line.endswith("\tUkraine–Japan Forum 2027: «Відбудова» and the long recovery\tcreated")
        for line in lines
    )
    assert "rejected: " in answer.stderr and "no-title.md: missing title" in answer.stderr
    again = runner.invoke(cli_app, ["posts", "import", str(DATA / "good")])
    assert again.exit_code == 0 and again.stdout.count("\tunchanged") == 3
    listed = runner.invoke(cli_app, ["posts", "list", "--status", "draft", "--json"])
    assert listed.exit_code == 0 and "«Відбудова»" in listed.stdout  # not \u-escaped
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 5


PLAIN_REPORT = """---
title: "Financing Recovery: an analytical report"
kind: report
language: {language}
---
How cities pay for what the war broke, from a survey of 1 240 households.

{heading}

• Budgets were rebuilt three times in one year
• Spare parts matter more than plans,
  and they arrive late
• Trust is infrastructure, too

Method

We asked 60 councils the same twelve questions. Most answered twice.

Key takeaways of this section

- A section's own takeaways stay where they are
"""


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "Top 3 takeaways"), ("uk", "Ключові висновки:"), ("ja", "主なポイント")],
)
def test_a_plain_text_takeaways_section_becomes_the_posts_takeaways(
    language: str, heading: str
) -> None:
    text = PLAIN_REPORT.format(language=language, heading=heading)
    item = parse_markdown(ImportSource("plain.md", text.encode()))
    assert item.data.takeaways == [
        "Budgets were rebuilt three times in one year",
        "Spare parts matter more than plans, and they arrive late",
        "Trust is infrastructure, too",
    ]
    body = item.data.body
    assert heading.rstrip(":") not in body and "Budgets were rebuilt" not in body
    assert "## Method" in body  # a plain-text heading stays a heading
    assert "We asked 60 councils" in body and "## We asked" not in body
    assert "- A section's own takeaways stay where they are" in body


def test_takeaways_in_the_front_matter_win_and_the_body_stays_whole() -> None:
    text = PLAIN_REPORT.format(language="en", heading="Key takeaways").replace(
        "kind: report\n", "kind: report\ntakeaways: [Written by the editor]\n"
    )
    item = parse_markdown(ImportSource("plain.md", text.encode()))
    assert item.data.takeaways == ["Written by the editor"]
    assert (
        "## Key takeaways" in item.data.body and "- Trust is infrastructure, too" in item.data.body
    )


def test_a_markdown_body_keeps_its_own_headings_and_paragraphs() -> None:
    text = "---\ntitle: Panel\n---\nShort line\n\n## Agenda\n\nOne more short line\n"
    body = parse_markdown(ImportSource("panel.md", text.encode())).data.body
    assert body == "Short line\n\n## Agenda\n\nOne more short line"
