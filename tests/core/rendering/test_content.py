"""Editor content to safe email HTML, and its plain-text reading."""

from __future__ import annotations

from core.rendering.content import html_to_text, markdown_to_html, sanitize_html


def test_script_tags_and_their_content_are_removed() -> None:
    cleaned = sanitize_html("<p>Hi<script>alert(1)</script><style>p{}</style></p>")
    assert cleaned == "<p>Hi</p>"


def test_event_handler_attributes_are_removed() -> None:
    cleaned = sanitize_html(
        '<p onclick="x()">a</p><img src="https://e.org/a.png" alt="A" onerror="y()">'
    )
    assert "onclick" not in cleaned and "onerror" not in cleaned
    assert '<img src="https://e.org/a.png" alt="A">' in cleaned


def test_only_http_https_mailto_links_survive() -> None:
    cleaned = sanitize_html(
        '<a href="javascript:alert(1)">j</a><a href="data:text/html,x">d</a>'
        '<a href="https://e.org/">h</a><a href="mailto:desk@e.org">m</a>'
    )
    assert "javascript:" not in cleaned and "data:" not in cleaned
    assert '<a href="https://e.org/" rel="noopener">h</a>' in cleaned
    assert '<a href="mailto:desk@e.org" rel="noopener">m</a>' in cleaned


def test_tags_outside_the_allow_list_are_dropped() -> None:
    cleaned = sanitize_html(
        '<iframe src="https://e.org"></iframe><div style="x">kept</div><h1>T</h1>'
    )
    assert "iframe" not in cleaned and "style" not in cleaned and "<div" not in cleaned
    assert "kept" in cleaned and "<h1>" not in cleaned


def test_markdown_lists_links_and_emphasis() -> None:
    html = markdown_to_html(
        "Some **bold** and *soft* [text](https://e.org/a?b=1&c=2)\n\n- one\n- two\n"
    )
    assert "<strong>bold</strong>" in html and "<em>soft</em>" in html
    assert '<a href="https://e.org/a?b=1&amp;c=2" rel="noopener">text</a>' in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html


def test_markdown_raw_html_is_text_not_markup() -> None:
    html = markdown_to_html('<script>alert(1)</script> <img src=x onerror="y()">')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_markdown_javascript_link_is_not_a_link() -> None:
    html = markdown_to_html("[click](javascript:alert(1))")
    assert "<a" not in html and "href" not in html


def test_markdown_tables_strikethrough_and_headings() -> None:
    html = markdown_to_html("# Top\n\n~~old~~\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<h2>Top</h2>" in html
    assert "<s>old</s>" in html
    assert "<table>" in html and "<td>1</td>" in html


def test_non_ascii_and_non_breaking_spaces_survive() -> None:
    html = markdown_to_html("Київ — “форум” – 東京\u00a0•")
    assert "Київ — “форум” – 東京" in html
    assert html_to_text(html) == "Київ — “форум” – 東京\u00a0•"


def test_text_reading_of_html() -> None:
    html = markdown_to_html(
        "## Panel\n\nRead [the report](https://e.org/r).\n\n- first\n- second\n\n"
        "1. one\n2. two\n\n> Quoted\n"
    )
    assert html_to_text(html) == (
        "Panel\n\nRead the report (https://e.org/r).\n\n• first\n• second\n\n"
        "1. one\n2. two\n\n> Quoted"
    )
