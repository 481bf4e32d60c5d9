"""Email rendering in two stages: once per campaign and language, then once per recipient.

Stage 1 (``compile_email``) fills the MJML and plain-text templates under
``templates/email`` with the campaign's posts and compiles the MJML to HTML. Its output is
itself a pair of Jinja templates holding only the per-recipient placeholders (``name``,
``email``, ``unsubscribe_url``, ``preferences_url``). Stage 2 (``RecipientRenderer``)
parses those once and fills them per recipient, which is cheap. Where a campaign tracks
opens and clicks, ``publisher.tracking.links`` adds two more to the compiled HTML after stage 1:
``open_url`` (the pixel) and ``click_urls[n]`` (each rewritten link).

Editor content must never be read as template code in stage 2, so stage 1 neutralises
every ``{`` it emits: ``&#123;`` in HTML, ``{{ '{' }}`` in text (stage 2 turns it back
into a literal brace). Only ``_Stage2Code`` values pass through unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import mjml
from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    Template,
    pass_eval_context,
    select_autoescape,
)
from jinja2.nodes import EvalContext
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from core.rendering.content import html_to_text
from core.rendering.plain_text import wrap_text

# Package data (the repository's templates/ folder): found wherever Herald is installed.
TEMPLATES_PACKAGE = "core.templates"
TEMPLATES_DIR = resources.files(TEMPLATES_PACKAGE) / "email"
DEFAULT_LANGUAGE = "en"
RECIPIENT_FIELDS = ("name", "email", "unsubscribe_url", "preferences_url")

_TEXT_BRACE = "{{ '{' }}"
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_LABEL_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class PostView:
    """One post as the email templates see it; ``body_html`` is already sanitised."""

    kind: str
    title: str
    summary: str
    body_html: str
    url: str
    takeaways: list[str] = field(default_factory=list)
    speakers: list[dict[str, str]] = field(default_factory=list)
    media: list[dict[str, str]] = field(default_factory=list)
    author: str = ""
    image_url: str = ""
    image_alt: str = ""
    location: str = ""
    starts_at: datetime | None = None
    timezone: str = "UTC"
    published_at: datetime | None = None
    topics: list[str] = field(default_factory=list)
    language: str = DEFAULT_LANGUAGE
    teaser: bool = False
    """Shown as its lede, key takeaways and a link to the full text instead of the body."""


@dataclass(frozen=True, slots=True)
class EmailContent:
    """Everything stage 1 needs for one campaign in one language."""

    template: str
    language: str
    subject: str
    preheader: str
    posts: list[PostView]
    organisation_name: str
    organisation_address: str
    base_url: str


@dataclass(frozen=True, slots=True)
class CompiledEmail:
    """Stage-1 output: per-recipient Jinja template sources for subject, HTML and text.

    ``links`` are the campaign's link numbers the HTML's ``click_urls[n]`` placeholders use,
    and ``tracks_opens`` says whether it holds the ``open_url`` pixel (both: see tracking).
    """

    subject: str
    html: str
    text: str
    links: tuple[int, ...] = ()
    tracks_opens: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the snapshot as a JSON-ready dict."""
        return {
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "links": list(self.links),
            "tracks_opens": self.tracks_opens,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompiledEmail:
        """Rebuild a snapshot stored with ``to_json`` (snapshots from before tracking too)."""
        return cls(
            subject=str(data["subject"]),
            html=str(data["html"]),
            text=str(data["text"]),
            links=tuple(int(number) for number in data.get("links", ())),
            tracks_opens=bool(data.get("tracks_opens", False)),
        )


@dataclass(frozen=True, slots=True)
class Recipient:
    """The per-recipient values stage 2 fills in (tracking URLs only where tracked)."""

    email: str
    name: str
    unsubscribe_url: str
    preferences_url: str
    open_url: str = ""
    click_urls: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """One recipient's finished subject, HTML and plain-text parts."""

    subject: str
    html: str
    text: str


class _Stage2Code(str):
    """Template code meant for stage 2; stage 1 writes it out untouched."""

    __slots__ = ()


def _neutralise_html(value: object) -> Markup:
    return Markup(str(escape(value)).replace("{", "&#123;"))  # noqa: S704 - escaped just before


def _neutralise_text(value: object) -> str:
    return str(value).replace("{", _TEXT_BRACE)


@pass_eval_context
def _finalize(eval_ctx: EvalContext, value: object) -> object:
    """Applied to every ``{{ }}`` output of stage 1, before autoescaping."""
    if isinstance(value, _Stage2Code):
        # Our own placeholders and labels, escaped where they were composed.
        return Markup(value) if eval_ctx.autoescape else str(value)  # noqa: S704
    return _neutralise_html(value) if eval_ctx.autoescape else _neutralise_text(value)


@pass_eval_context
def _compose(eval_ctx: EvalContext, label: str, **values: str) -> _Stage2Code:
    """Fill a label's ``{field}`` markers: given values, else recipient placeholders."""
    neutralise = _neutralise_html if eval_ctx.autoescape else _neutralise_text

    def fill(key: str) -> str:
        if key in values:
            return str(neutralise(values[key]))
        if key in RECIPIENT_FIELDS:
            return "{{ " + key + " }}"
        return str(neutralise("{" + key + "}"))

    parts = _LABEL_FIELD.split(label)  # literal, field, literal, field, ..., literal
    pieces = (fill(part) if i % 2 else str(neutralise(part)) for i, part in enumerate(parts))
    return _Stage2Code("".join(pieces))


def _safe_url(value: str) -> str:
    """Return ``value`` if it is an http, https or mailto URL, else an empty string."""
    try:
        scheme = urlsplit(value.strip()).scheme.lower()
    except ValueError:
        return ""
    return value.strip() if scheme in _LINK_SCHEMES else ""


@cache
def _all_labels() -> dict[str, dict[str, Any]]:
    labels: dict[str, dict[str, Any]] = json.loads(
        (TEMPLATES_DIR / "labels.json").read_text(encoding="utf-8")
    )
    return labels


def labels_for(language: str) -> dict[str, Any]:
    """Return the UI strings for ``language``, each missing one falling back to English."""
    fallback = _all_labels()[DEFAULT_LANGUAGE]
    chosen = _all_labels().get(language, {})
    merged = dict(fallback)
    for key, value in chosen.items():
        merged[key] = {**fallback[key], **value} if isinstance(value, dict) else value
    return merged


def _format_day(day: date, labels: Mapping[str, Any]) -> str:
    month = labels["months"][day.month - 1]
    return str(labels["date"]).format(day=day.day, month=month, year=day.year)


def _zone(name: str) -> tuple[str, ZoneInfo]:
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC", ZoneInfo("UTC")


def _zone_label(name: str, labels: Mapping[str, Any]) -> str:
    known: dict[str, str] = labels["zones"]
    if name in known:
        return known[name]
    city = name.rsplit("/", 1)[-1].replace("_", " ")
    return str(labels["zone_fallback"]).format(city=city)


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def post_date(post: PostView, labels: Mapping[str, Any]) -> str:
    """Event start in the event's zone with the zone named; otherwise the published date."""
    name, zone = _zone(post.timezone)
    if post.starts_at is not None:
        local = _as_utc(post.starts_at).astimezone(zone)
        when = _format_day(local.date(), labels)
        zone_label = _zone_label(name, labels)
        return str(labels["event_time"]).format(date=when, time=f"{local:%H:%M}", zone=zone_label)
    if post.published_at is not None:
        return _format_day(_as_utc(post.published_at).astimezone(zone).date(), labels)
    return ""


RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "yi", "ps", "sd", "ug", "dv", "ku"})


def text_direction(language: str) -> str:
    """``rtl`` for languages written right to left, else ``ltr``."""
    return "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


def _names_language(label: str, code: str) -> bool:
    """Whether ``label`` already names the language ``code`` in any of our languages
    ("Video recording (English)", "Відеозапис англійською", "録画（英語）")."""
    folded = label.casefold()
    names = (labels.get("languages", {}).get(code, "") for labels in _all_labels().values())
    return any(name and name.casefold() in folded for name in names)


def _template_helpers(labels: Mapping[str, Any]) -> dict[str, Any]:
    """Functions and values every stage-1 template may use, bound to one language."""

    def kind_label(post: PostView) -> str:
        kinds: dict[str, str] = labels["kinds"]
        return kinds.get(post.kind, post.kind.capitalize())

    def meta_line(post: PostView) -> str:
        return " · ".join(part for part in (kind_label(post), post_date(post, labels)) if part)

    def language_name(code: str) -> str:
        names: dict[str, str] = labels["languages"]
        return names.get(code, code)

    def affiliation(speaker: Mapping[str, str]) -> str:
        parts = (speaker.get("role", ""), speaker.get("organisation", ""))
        return ", ".join(part for part in parts if part)

    def media_label(item: Mapping[str, str]) -> str:
        label = item.get("label") or item.get("url", "")
        code = item.get("language", "")
        if not code or _names_language(label, code):
            return label
        return f"{label} ({language_name(code)})"

    def read_full(post: PostView) -> str:
        wording: dict[str, str] = labels["read_full"]
        return wording.get(post.kind, wording["default"])

    return {
        "labels": labels,
        "recipient": {key: _Stage2Code("{{ " + key + " }}") for key in RECIPIENT_FIELDS},
        "compose": _compose,
        "url": _safe_url,
        "plain": html_to_text,
        "kind_label": kind_label,
        "meta_line": meta_line,
        "language_name": language_name,
        "affiliation": affiliation,
        "media_label": media_label,
        "read_full": read_full,
    }


@cache
def _stage1_environment() -> Environment:
    return Environment(
        loader=PackageLoader(TEMPLATES_PACKAGE, "email"),
        autoescape=select_autoescape(enabled_extensions=("mjml",), default=False),
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _one_line(subject: str) -> str:
    """Subjects are headers: line breaks become spaces (non-breaking spaces stay)."""
    return re.sub(r"[ \t]*[\r\n]+[ \t]*", " ", subject).strip(" \t")


_LANGUAGE_BLOCK = re.compile(
    r'<div class="([^"]*\blang-([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?))\b([^"]*)"'
)


def _mark_languages(html: str) -> str:
    """Give each content block its ``lang`` and ``dir``: a ``lang-xx`` class in the MJML
    (MJML passes no other attribute through) becomes the attributes on its block."""

    def mark(match: re.Match[str]) -> str:
        language = match[2]
        return f'{match[0]} lang="{language}" dir="{text_direction(language)}"'

    return _LANGUAGE_BLOCK.sub(mark, html)


def compile_email(content: EmailContent) -> CompiledEmail:
    """Stage 1, once per campaign and language: fill and compile the MJML and text templates.

    The result still contains the per-recipient placeholders for ``RecipientRenderer``.
    """
    environment = _stage1_environment()
    context = {"content": content, **_template_helpers(labels_for(content.language))}
    source = environment.get_template(f"{content.template}.mjml").render(context)
    text = wrap_text(environment.get_template(f"{content.template}.txt").render(context))
    html = _mark_languages(mjml.mjml2html(source, disable_comments=True, fonts={}))
    return CompiledEmail(subject=_neutralise_text(_one_line(content.subject)), html=html, text=text)


_HTML_STAGE2 = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_TEXT_STAGE2 = SandboxedEnvironment(
    autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True
)


class RecipientRenderer:
    """Stage 2: the compiled templates, parsed once, filled per recipient (cheap)."""

    def __init__(self, compiled: CompiledEmail) -> None:
        """Parse the compiled subject, HTML and text templates once."""
        self.links = compiled.links
        self.tracks_opens = compiled.tracks_opens
        self._subject: Template = _TEXT_STAGE2.from_string(compiled.subject)
        self._html: Template = _HTML_STAGE2.from_string(compiled.html)
        self._text: Template = _TEXT_STAGE2.from_string(compiled.text)

    def render(self, recipient: Recipient) -> RenderedEmail:
        """Fill the placeholders for one recipient."""
        values = {
            "name": recipient.name,
            "email": recipient.email,
            "unsubscribe_url": recipient.unsubscribe_url,
            "preferences_url": recipient.preferences_url,
            "open_url": recipient.open_url,
            "click_urls": recipient.click_urls,
        }
        return RenderedEmail(
            subject=self._subject.render(values),
            html=self._html.render(values),
            text=self._text.render(values),
        )
