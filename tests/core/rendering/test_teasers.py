"""Long posts go out as teasers, the lede appears once, and the email's form: per-content
``lang``, a preheader in a real colour, Outlook-safe image widths, a text part of at most
78 columns, labels and recordings that are not repeated."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy.orm import Session

from core.rendering.emails import CompiledEmail, Recipient, RecipientRenderer, RenderedEmail
from core.rendering.plain_text import columns, wrap_text
from core.settings import get_settings
from publisher.campaigns.service import create_campaign
from publisher.posts.models import Post
from publisher.sending.messages import compile_campaign
from tests.conftest import use_settings
from tests.fixtures.factories import add_list, add_post
from tests.fixtures.long_reports import SUMMARY, add_long_report

READER = Recipient(
    email="reader@example.org",
    name="Reader",
    unsubscribe_url="https://herald.example/unsubscribe/" + "T" * 120,
    preferences_url="https://herald.example/preferences/" + "T" * 120,
)


def _announce(session: Session, post: Post, kind: str = "announcement") -> RenderedEmail:
    add_list(session, f"list-{post.id}")
    campaign = create_campaign(
        session,
        kind=kind,
        list_slugs=[f"list-{post.id}"],
        post_ids=[post.id],
        language=post.language,
    )
    snapshot = compile_campaign(session, campaign, [], get_settings(), tracked=False)
    compiled = CompiledEmail.from_json(snapshot["languages"][post.language])
    return RecipientRenderer(compiled).render(READER)


class _Visible(HTMLParser):
    """The text a reader sees (not the head, not the hidden preheader) and the preheader."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.visible: list[str] = []
        self.preheader: list[str] = []
        self.skip = 0
        self.in_preheader = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "style", "title"):
            self.skip += 1
        if ("class", "preheader") in attrs:
            self.in_preheader = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "title"):
            self.skip -= 1
        if tag == "div" and self.in_preheader:
            self.in_preheader = False

    def handle_data(self, data: str) -> None:
        if self.in_preheader:
            self.preheader.append(data)
        elif not self.skip:
            self.visible.append(data)


def _read(html: str) -> tuple[str, str]:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.visible).split()), " ".join(parser.preheader).strip()


@pytest.mark.parametrize(
    ("language", "button"), [("en", "Read the full report"), ("uk", "Читати повний звіт")]
)
def test_a_long_report_goes_out_as_a_teaser(session: Session, language: str, button: str) -> None:
    post = add_long_report(session, language, words=7000)
    email = _announce(session, post)
    visible, preheader = _read(email.html)
    assert button in visible and "Section 2" not in visible and "Розділ 2" not in visible
    assert visible.index(button) < visible.index(post.takeaways[0])  # near the top
    assert visible.count(SUMMARY[language]) == 1  # the lede once: the body's copy is gone
    assert SUMMARY[language] not in preheader and preheader.startswith(post.takeaways[0])
    assert len(email.html.encode()) < 30_000
    assert f"{button}:\n{post.url}" in email.text
    assert email.text.count(SUMMARY[language][:40]) == 1


def test_a_short_post_carries_its_whole_body_without_the_repeated_lede(session: Session) -> None:
    post = add_long_report(session, words=300)
    email = _announce(session, post)
    visible, _ = _read(email.html)
    assert "Section 1" in visible and "Read the full report" not in visible
    assert visible.count(SUMMARY["en"]) == 1


def test_the_teaser_length_is_a_setting(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, teaser_words="100")
    assert "Read the full report" in _announce(session, add_long_report(session, words=300)).html
    use_settings(monkeypatch, teaser_words="0")
    long = add_long_report(session, words=7000, slug="whole")
    assert "Read the full report" not in _announce(session, long).html


def test_a_digest_of_a_long_report_stays_short(session: Session) -> None:
    post = add_long_report(session, "uk", words=7000)
    email = _announce(session, post, kind="digest")
    assert "Розділ 1" not in email.html and len(email.html.encode()) < 25_000


def test_the_email_form_lang_preheader_head_and_images(session: Session) -> None:
    post = add_post(session, "Форум Україна–Японія")
    post.language, post.image_url = "uk", "https://img.example.org/wide.jpg"
    post.body += '\n\n![Зала](https://img.example.org/hall.jpg "x")\n'
    email = _announce(session, post)
    assert re.search(r'<div class="card lang-uk" lang="uk" dir="ltr"', email.html)
    assert 'name="x-apple-disable-message-reformatting"' in email.html
    assert 'name="format-detection"' in email.html
    hidden = re.search(r'<div class="preheader" style="([^"]*)"', email.html)
    assert hidden is not None and "color:#5b6270" in hidden[1]
    assert "color:#ffffff;line-height:1px" not in email.html  # mj-preview's white
    widths = re.findall(r'<img\b[^>]*\bwidth="(\d+)"', email.html)
    assert len(widths) == 2 and all(int(width) <= 576 for width in widths)


def test_the_text_part_is_wrapped_with_links_on_their_own(session: Session) -> None:
    post = add_long_report(session, "uk", words=400)
    post.body += "\n\nДив. [повний набір даних](https://data.example.org/" + "x" * 90 + ")."
    post.takeaways = ["Дуже довгий висновок, що не вміщується в один рядок, " * 4]
    email = _announce(session, post)
    for line in email.text.splitlines():
        assert columns(line) <= 78 or re.fullmatch(r"(\[\d+\] )?https?://\S+", line), line
    assert "повний набір даних [1]" in email.text
    assert "[1] https://data.example.org/" in email.text


def test_labels_and_recordings_are_not_repeated(session: Session) -> None:
    post = add_post(session)
    post.media = [
        {"label": "Video recording (English)", "url": "https://v.example/en", "language": "en"},
        {"label": "Відеозапис українською", "url": "https://v.example/uk", "language": "uk"},
        {"label": "Photo report", "url": "https://v.example/photos", "language": "uk"},
    ]
    post.body += "\n\n### Recordings\n\n- [Video recording (English)](https://v.example/en)\n"
    email = _announce(session, post)
    assert "(English) (English)" not in email.html + email.text
    assert "українською (Ukrainian)" not in email.html + email.text
    assert "Photo report (Ukrainian)" in email.text
    assert email.html.count('href="https://v.example/en"') == 1  # in the body, not twice
    assert email.html.count('href="https://v.example/uk"') == 1


def test_wrapping_keeps_placeholders_whole_and_breaks_japanese_between_characters() -> None:
    japanese = "東京とキーウの専門家が、「エネルギー」、安全保障、復興の資金調達を議論した。" * 3
    line = "• {% if name %}{{ name }}{% endif %} " + "word " * 30 + japanese
    wrapped = wrap_text(line)
    assert wrapped.replace("\n  ", "").replace(" ", "") == line.replace(" ", "")
    assert "{% if name %}{{ name }}{% endif %}" in wrapped
    for part in wrapped.splitlines():
        assert columns(part) <= 78
        assert not part.lstrip().startswith(("、", "。", "」"))  # no closing mark starts a line
        assert not part.endswith("「")  # and no opening one ends it
    assert wrapped.splitlines()[1].startswith("  ")  # continues under the bullet
    assert wrap_text("a" * 76 + "「テスト」です").splitlines()[1].startswith("「テ")
