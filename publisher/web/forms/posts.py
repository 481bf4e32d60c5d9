"""The post editor's form: plain text fields to and from a :class:`PostInput`.

Repeating parts are written one per line, fields split by ``|``: takeaways as lines,
speakers as ``Name | Role | Organisation | Quote``, media as ``Label | URL | language``,
images as ``URL | alt text``. Times are typed in the post's own time zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from publisher.posts.input import PostInput
from publisher.posts.models import Post, PostKind
from publisher.posts.service import (
    IMAGE_KEYS,
    MEDIA_KEYS,
    SPEAKER_KEYS,
    PostInputError,
    valid_timezone,
)

COMMON_TIMEZONES = (
    "Europe/Kyiv",
    "Asia/Tokyo",
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
)
COMMON_LANGUAGES = {"en": "English", "uk": "Українська", "ja": "日本語"}


class PostForm(BaseModel):
    """The editor form as submitted: every field is text."""

    kind: str = PostKind.EVENT
    title: str = ""
    language: str = "en"
    slug: str = ""
    summary: str = ""
    body: str = ""
    takeaways: str = ""
    speakers: str = ""
    media: str = ""
    images: str = ""
    topics: str = ""
    author: str = ""
    url: str = ""
    image_url: str = ""
    image_alt: str = ""
    location: str = ""
    starts_at: str = ""
    timezone: str = "Europe/Kyiv"
    published_at: str = ""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _rows(text: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
    rows = []
    for line in _lines(text):
        parts = [part.strip() for part in line.split("|", len(keys) - 1)]
        rows.append(dict(zip(keys, parts + [""] * (len(keys) - len(parts)), strict=True)))
    return rows


def _join(rows: list[dict[str, str]], keys: tuple[str, ...]) -> str:
    lines = (" | ".join(row.get(key, "") for key in keys).rstrip(" |") for row in rows)
    return "\n".join(lines)


def _local_time(text: str, zone: str, name: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise PostInputError([f"{name} is not a date and time"]) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def input_from_form(form: PostForm) -> PostInput:
    """The post an editor wrote in the form, or :class:`PostInputError`."""
    zone = form.timezone.strip() or "UTC"
    if not valid_timezone(zone):
        raise PostInputError([f"unknown time zone {zone!r}"])
    return PostInput(
        kind=form.kind,
        title=form.title,
        language=form.language,
        slug=form.slug,
        summary=form.summary,
        body=form.body.replace("\r\n", "\n"),
        takeaways=_lines(form.takeaways),
        speakers=_rows(form.speakers, SPEAKER_KEYS),
        media=_rows(form.media, MEDIA_KEYS),
        images=_rows(form.images, IMAGE_KEYS),
        topics=form.topics.split(","),
        author=form.author,
        url=form.url,
        image_url=form.image_url,
        image_alt=form.image_alt,
        location=form.location,
        starts_at=_local_time(form.starts_at, zone, "the start"),
        timezone=zone,
        published_at=_local_time(form.published_at, zone, "the publication time"),
    )


def form_from_post(post: Post) -> PostForm:
    """The form filled with a stored post, times shown in the post's zone."""
    zone = ZoneInfo(post.timezone if valid_timezone(post.timezone) else "UTC")

    def local(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""

    return PostForm(
        kind=post.kind,
        title=post.title,
        language=post.language,
        slug=post.slug,
        summary=post.summary,
        body=post.body,
        takeaways="\n".join(post.takeaways),
        speakers=_join(post.speakers, SPEAKER_KEYS),
        media=_join(post.media, MEDIA_KEYS),
        images=_join(post.images, IMAGE_KEYS),
        topics=", ".join(post.topics),
        author=post.author,
        url=post.url,
        image_url=post.image_url,
        image_alt=post.image_alt,
        location=post.location,
        starts_at=local(post.starts_at),
        timezone=post.timezone,
        published_at=local(post.published_at),
    )
