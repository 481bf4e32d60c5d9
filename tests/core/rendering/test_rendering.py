"""Two-stage email rendering: compile once per campaign, fill per recipient."""

from __future__ import annotations

import json
import re
import time

import pytest

from core.rendering.emails import (
    CompiledEmail,
    EmailContent,
    RecipientRenderer,
    compile_email,
    labels_for,
    post_date,
)
from tests.fixtures.rendering import (
    INJECTION,
    digest_content,
    email_content,
    event_post,
    recipient,
    render,
    report_post,
)


def test_compiled_once_rendered_per_recipient() -> None:
    renderer = RecipientRenderer(compile_email(email_content()))
    first = renderer.render(recipient("Ada", "ada@example.org"))
    second = renderer.render(recipient("O'Brien <b>", "ob@example.org"))

    assert "Hello, Ada!" in first.html
    assert "https://herald.example/u/ada?list=1&amp;sig=ab" in first.html
    assert "https://herald.example/u/ob?list=1&amp;sig=ab" in second.html
    assert "/u/ada" not in second.html
    assert "O&#39;Brien &lt;b&gt;" in second.html
    assert "<b>" not in second.html
    assert "Hello, O'Brien <b>!" in second.text
    assert "https://herald.example/u/ob?list=1&sig=ab" in second.text
    assert "https://herald.example/p/ob" in second.text
    assert "ob@example.org" in second.text


def test_greeting_left_out_without_name() -> None:
    rendered = render(email_content(), recipient(name=""))
    assert "Hello" not in rendered.html
    assert "Hello" not in rendered.text


@pytest.mark.parametrize("template", ["announcement", "digest"])
def test_editor_content_is_never_template_code(template: str) -> None:
    post = event_post(
        title=INJECTION,
        summary=INJECTION,
        body_html="<p>{{ 7*7 }} {% if true %}x{% endif %} {# c #}</p>",
        takeaways=[INJECTION],
        speakers=[{"name": INJECTION, "quote": INJECTION}],
        author="{{ name }}",
    )
    content = email_content(template=template, posts=[post], subject=INJECTION)
    rendered = render(content)

    assert "49" not in rendered.html + rendered.text + rendered.subject
    assert "<script>" not in rendered.html
    assert "{{ 7*7 }} &lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html.replace("&#123;", "{")
    assert INJECTION in rendered.text
    assert rendered.subject == INJECTION
    assert "By {{ name }}" in rendered.text
    assert "By {{ name }}" in rendered.html.replace("&#123;", "{")


def test_editor_body_template_syntax_is_literal() -> None:
    body = "<p>{{ 7*7 }} {% if true %}x{% endif %} {# comment #} {{ unsubscribe_url }}</p>"
    rendered = render(email_content(posts=[event_post(body_html=body)]))
    literal = "{{ 7*7 }} {% if true %}x{% endif %} {# comment #} {{ unsubscribe_url }}"
    assert literal in rendered.text
    assert literal in rendered.html.replace("&#123;", "{")


def test_non_ascii_survives_everywhere() -> None:
    subject = "Форум «Відкриті горизонти» — 12\u00a0грудня • 東京と キーウ"
    post = event_post(title="Стійкість міст — “resilience” – 回復力\u00a0•")
    content = email_content(language="uk", subject=subject, posts=[post])
    rendered = render(content, recipient(name="Олена 佐藤"))

    assert rendered.subject == subject
    for part in (rendered.html, rendered.text):
        assert "Стійкість міст — “resilience” – 回復力\u00a0•" in part
        assert "Олена 佐藤" in part
        assert "Олена Коваленко" in part
        assert "「復興」は建物だけではなく、信頼の問題です。" in part


def test_labels_follow_the_language() -> None:
    ukrainian = render(email_content(language="uk"))
    japanese = render(email_content(language="ja"))
    unknown = render(email_content(language="xx"))

    assert "Ключові висновки" in ukrainian.html and "Відписатися" in ukrainian.text
    assert "12 грудня 2026 р. · 10:00 за київським часом" in ukrainian.text
    assert "主なポイント" in japanese.html and "配信停止" in japanese.text
    assert "2026年12月12日 · 10:00（キーウ時間）" in japanese.html
    assert "Key takeaways" in unknown.html and "Unsubscribe" in unknown.text


def test_event_date_in_event_zone_and_report_date() -> None:
    labels = labels_for("en")
    assert post_date(event_post(), labels) == "12 December 2026 · 10:00 Kyiv time"
    tokyo = event_post(timezone="Asia/Tokyo")
    assert post_date(tokyo, labels) == "12 December 2026 · 17:00 Tokyo time"
    assert post_date(report_post(), labels) == "3 March 2026"


def test_dark_mode_and_image_alt_text() -> None:
    html = render(email_content()).html
    assert '<meta name="color-scheme" content="light dark"' in html
    assert '<meta name="supported-color-schemes" content="light dark"' in html
    assert "@media (prefers-color-scheme: dark)" in html
    images = re.findall(r"<img\b[^>]*>", html)
    assert images
    assert all(re.search(r'\balt="[^"]+"', image) for image in images)


def test_image_without_alt_falls_back_to_title() -> None:
    html = render(email_content(posts=[event_post(image_alt="")])).html
    assert 'alt="Open Horizons Forum 2026: resilience after the winter"' in html


@pytest.mark.parametrize("content", [email_content(), digest_content()])
def test_html_is_a_compiled_document(content: EmailContent) -> None:
    html = render(content).html
    assert html.lower().startswith("<!doctype html>")
    assert "<mj-" not in html and "</mj-" not in html
    assert '<html lang="en"' in html


def test_announcement_carries_the_whole_post() -> None:
    rendered = render(email_content())
    for part in (rendered.html, rendered.text):
        assert "12 December 2026 · 10:00 Kyiv time" in part
        assert "Trust is infrastructure, too" in part
        assert "Kyiv Energy Lab" in part
        assert "Register now" in rendered.html
        assert "Centre for Open Horizons" in part
    assert "<blockquote" in rendered.html
    assert "• Trust is infrastructure, too" in rendered.text
    assert "• Повний запис (Ukrainian):\n  https://video.example/ohf-uk" in rendered.text
    assert "Read more:\nhttps://herald.example/posts/open-horizons-2026" in rendered.text
    assert "• Decentralised generation" in rendered.text


def test_digest_shows_three_takeaways_per_post() -> None:
    rendered = render(digest_content())
    assert "Spare parts matter more than plans" in rendered.html
    assert "Third" in rendered.html and "4th" not in rendered.html
    assert "By Centre for Urban Resilience" in rendered.text
    assert rendered.text.count("Read more:\n") == 2


def test_unsafe_links_are_dropped() -> None:
    post = event_post(url="javascript:alert(1)", image_url="javascript:x")
    rendered = render(email_content(posts=[post]))
    assert "javascript:" not in rendered.html + rendered.text


def test_per_recipient_render_is_cheap() -> None:
    renderer = RecipientRenderer(compile_email(digest_content()))
    recipients = [recipient(f"Reader {n}", f"r{n}@example.org") for n in range(300)]
    started = time.perf_counter()
    for each in recipients:
        renderer.render(each)
    assert (time.perf_counter() - started) / len(recipients) < 0.002


def test_compiled_email_json_round_trip() -> None:
    compiled = compile_email(email_content(language="uk"))
    stored = json.loads(json.dumps(compiled.to_json(), ensure_ascii=False))
    assert CompiledEmail.from_json(stored) == compiled
    again = RecipientRenderer(CompiledEmail.from_json(stored)).render(recipient())
    assert again == RecipientRenderer(compiled).render(recipient())
