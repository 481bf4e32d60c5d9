"""Click and open tokens, and the links an email's compile step rewrites (no database)."""

from __future__ import annotations

import html

import pytest

from core.rendering.emails import Recipient, RecipientRenderer, compile_email
from core.tokens import InvalidToken, make_id_token, make_token
from publisher.tracking.links import (
    CampaignLinks,
    click_urls,
    open_url,
    read_click_token,
    read_open_token,
    track_email,
)
from subscribers.unsubscribe import unsubscribe_token
from tests.fixtures.rendering import INJECTION, email_content, event_post
from tests.fixtures.tracking import CLICK, HREF, PIXEL, PROGRAMME


def test_tokens_name_one_delivery_and_link_and_cannot_be_forged() -> None:
    token = click_urls("http://x", 41, (3,))[3].rsplit("/", 1)[1]
    assert read_click_token(token) == (41, 3)
    payload, signature = token.split(".")
    forged = [
        f"42-3.{signature}",  # moved to another delivery
        f"41-4.{signature}",  # moved to another link
        f"{payload}.{signature[:-2]}xx",
        make_id_token("open", 41),  # a token made for another purpose
        unsubscribe_token(41, (1,), 3),
        make_id_token("click", 41),  # signed, but not a click's shape
        make_id_token("click", 41, 3, 5),
        make_token("click", [41, 3]),  # another kind of token for the same purpose
    ]
    for bad in forged:
        with pytest.raises(InvalidToken):
            read_click_token(bad)
    assert read_open_token(make_id_token("open", 41)) == 41
    for bad in (token, make_token("open", "41"), "garbage", "41.", ".x"):
        with pytest.raises(InvalidToken):
            read_open_token(bad)


def _tracked(**changes: object) -> tuple[CampaignLinks, RecipientRenderer, str]:
    links = CampaignLinks.for_site("https://herald.example")
    compiled = track_email(compile_email(email_content(**changes)), links, opens=True, clicks=True)
    return links, RecipientRenderer(compiled), compiled.html


def test_links_become_numbered_placeholders_and_their_urls_are_kept() -> None:
    own = "https://herald.example/unsubscribe/old-token"
    post = event_post(
        body_html=(
            f'<p><a href="{html.escape(PROGRAMME)}">a</a> <a href="mailto:x@example.org">m</a>'
            f' <a href="#top">t</a> <a href="/relative">r</a> <a href="{own}">u</a></p>'
        )
    )
    links, _, compiled = _tracked(posts=[post])
    assert links.urls == [
        PROGRAMME,
        "https://video.example/ohf-en",
        "https://video.example/ohf-uk",
        "https://herald.example/posts/open-horizons-2026",
    ]
    hrefs = HREF.findall(compiled)
    assert "{{ click_urls[0] }}" in hrefs and "{{ click_urls[3] }}" in hrefs
    assert {"mailto:x@example.org", "#top", "/relative", own} <= set(hrefs)
    assert {"{{ unsubscribe_url }}", "{{ preferences_url }}"} <= set(hrefs)
    assert not [href for href in hrefs if href.startswith("https://video.example")]


def test_each_recipient_gets_signed_click_urls_and_a_pixel_at_the_end_of_the_body() -> None:
    links, renderer, _ = _tracked()
    rendered = renderer.render(_recipient(77, renderer))
    clicks = CLICK.findall(rendered.html)
    resolved = {read_click_token(url.rsplit("/", 1)[1]) for url in clicks}
    assert resolved == {(77, number) for number in range(len(links.urls))}
    pixel = PIXEL.search(rendered.html)
    assert pixel is not None and read_open_token(pixel.group(1)) == 77
    assert rendered.html.rstrip().endswith('style="display:none"></body></html>')
    # The plain-text part keeps the addresses people read and may copy.
    assert "https://video.example/ohf-uk" in rendered.text and "/t/c/" not in rendered.text


def test_editor_content_is_still_never_template_code() -> None:
    post = event_post(
        title=INJECTION,
        url="https://herald.example/posts/x?q={{ 7*7 }}",
        body_html='<p><a href="https://e.example/{{ 7*7 }}" title="{{ 7*7 }}">{{ 7*7 }}</a></p>',
        media=[{"label": "{{ 7*7 }}", "url": "https://video.example/{% if 1 %}x{% endif %}"}],
    )
    links, renderer, _ = _tracked(posts=[post])
    rendered = renderer.render(_recipient(5, renderer))
    assert "49" not in rendered.html + rendered.text
    assert "https://herald.example/posts/x?q={{ 7*7 }}" in links.urls
    assert "https://video.example/{% if 1 %}x{% endif %}" in links.urls
    assert "https://e.example/{{ 7*7 }}" in links.urls
    assert 'title="&#123;&#123; 7*7 }}"' in rendered.html


def _recipient(delivery_id: int, renderer: RecipientRenderer) -> Recipient:
    return Recipient(
        email="ada@example.org",
        name="Ada",
        unsubscribe_url="https://herald.example/unsubscribe/t",
        preferences_url="https://herald.example/preferences/t",
        open_url=open_url("https://herald.example", delivery_id),
        click_urls=click_urls("https://herald.example", delivery_id, renderer.links),
    )
