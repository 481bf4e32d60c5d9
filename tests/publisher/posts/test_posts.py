"""Posts as written: the checks every way in shares, slugs, translations, times, feed HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from core.audit import audit_trail
from core.rendering.content import html_to_markdown, markdown_to_html
from publisher.posts.input import PostInput
from publisher.posts.service import (
    CLI,
    PostInputError,
    check_input,
    create_post,
    create_translation,
    post_json,
    post_time,
    slugify,
    translation_group,
)


def _input(**values: object) -> PostInput:
    return PostInput(**{"kind": "event", "title": "Ukraine–Japan Forum «Відбудова» 復興", **values})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"kind": "podcast"}, "unknown kind 'podcast'"),
        ({"title": "   "}, "the title is missing"),
        ({"language": "Ukrainian"}, "not a language code"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"slug": "a b/c"}, "the slug may hold only"),
        ({"url": "javascript:alert(1)"}, "the url must be an http(s) address"),
        ({"image_url": "https://x.org/a.jpg"}, "the image needs alt text"),
        ({"speakers": [{"role": "Director"}]}, "speaker 1 has no name"),
        (
            {"media": [{"label": "Video", "url": "data:text/html,hi"}]},
            "media link 1 must be an http(s)",
        ),
        ({"images": [{"url": "https://x.org/a.jpg"}]}, "image 1 needs alt text"),
        ({"starts_at": datetime(2027, 3, 18, 10)}, "starts at needs a time zone"),
    ],
)
def test_check_input_names_each_problem(values: dict[str, object], problem: str) -> None:
    with pytest.raises(PostInputError) as error:
        check_input(_input(**values))
    assert any(problem in line for line in error.value.problems)


def test_check_input_tidies_without_mangling() -> None:
    written = _input(
        title="  Forum — «Відбудова»\u00a02027  ",
        topics=[" Events", "Events", "", "Japan "],
        takeaways=["  Energy first ", " "],
        speakers=[{"name": " 佐藤 美咲 ", "quote": "“Yes.”"}, {}],
    )
    tidy = check_input(written)
    assert tidy.title == "Forum — «Відбудова»\u00a02027"
    assert tidy.topics == ["Events", "Japan"] and tidy.takeaways == ["Energy first"]
    assert tidy.speakers == [
        {"name": "佐藤 美咲", "role": "", "organisation": "", "quote": "“Yes.”"}
    ]


def test_slugs_keep_every_script_and_stay_unique(session: Session) -> None:
    assert slugify("Ukraine–Japan Forum: «Відбудова» 復興!") == "ukraine-japan-forum-відбудова-復興"
    assert slugify("«»—") == "post"
    first = create_post(session, data=_input(), actor=CLI)
    second = create_post(session, data=_input(), actor=CLI)
    assert second.slug == f"{first.slug}-2"
    entry = audit_trail(session, object_type="post", object_id=first.id)[0]
    assert entry.actor == "cli" and entry.action == "post.create"


def test_a_translation_copies_the_post_and_joins_its_group(session: Session) -> None:
    original = create_post(session, data=_input(speakers=[{"name": "Oksana Melnyk"}]), actor=CLI)
    uk = create_translation(session, post=original, language="uk", actor=CLI)
    ja = create_translation(session, post=uk, language="ja", actor=CLI)
    assert uk.translation_of_id == original.id and ja.translation_of_id == original.id
    assert uk.speakers == original.speakers and uk.status == "draft"
    assert [post.language for post in translation_group(session, ja)] == ["en", "ja", "uk"]
    with pytest.raises(PostInputError):
        create_translation(session, post=original, language="uk", actor=CLI)


def test_times_are_shown_in_the_posts_zone() -> None:
    moment = datetime(2027, 3, 18, 8, 0, tzinfo=UTC)
    assert post_time(moment, "Europe/Kyiv") == "18 March 2027, 10:00 (Europe/Kyiv)"
    assert post_time(moment, "Asia/Tokyo", "%H:%M") == "17:00"
    assert post_time(None, "UTC") == ""


def test_post_json_is_plain_data(session: Session) -> None:
    post = create_post(
        session, data=_input(starts_at=datetime(2027, 3, 18, 8, tzinfo=UTC)), actor=CLI
    )
    data = post_json(post)
    assert data["title"] == "Ukraine–Japan Forum «Відбудова» 復興"
    assert data["starts_at"] == "2027-03-18T08:00:00+00:00" and data["status"] == "draft"


def test_markdown_is_rendered_and_raw_html_is_not() -> None:
    html = markdown_to_html("## Panel\n\n<b>raw</b> [x](javascript:alert(1)) — «так»")
    assert "<h2>Panel</h2>" in html and "&lt;b&gt;raw&lt;/b&gt;" in html
    assert 'href="javascript' not in html and "«так»" in html


def test_feed_html_becomes_markdown_with_headings_and_lists() -> None:
    markdown = html_to_markdown(
        "<h2>Панелі</h2><ul><li>Енергетика — «краще»</li></ul><script>x()</script>"
    )
    assert markdown == "## Панелі\n\n- Енергетика — «краще»"
