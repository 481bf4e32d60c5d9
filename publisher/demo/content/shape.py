"""The demo content's shape: its constants, records and the small helpers that build them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

FORUM_KEY = "forum-2026"
FORUM_UK_KEY = "forum-2026-uk"
FORUM_JA_KEY = "forum-2026-ja"
DEMINING_KEY = "panel-demining-2026"
CITIES_KEY = "panel-cities-2026"
REPORT_KEY = "report-rebuilding-to-last"

ORGANISATION = "Herald Policy Centre"
NBSP = "\u00a0"

_VIDEO = "https://video.example.org/herald"
_PHOTOS = "https://photos.example.org/herald"


@dataclass(frozen=True, slots=True)
class DemoPost:
    """One post as an editor would enter it; ``key`` is stable, ids are the database's.

    ``speakers`` hold name, role, organisation and quote; ``media`` hold label, url and
    language (empty for a language-neutral item such as a photo report).
    """

    key: str
    kind: str
    language: str
    translation_of: str | None
    slug: str
    title: str
    summary: str
    body: str
    takeaways: list[str]
    speakers: list[dict[str, str]]
    media: list[dict[str, str]]
    topics: list[str]
    author: str
    location: str
    starts_at: datetime | None
    timezone: str
    published_at: datetime
    image_url: str
    image_alt: str


@dataclass(frozen=True, slots=True)
class DemoSubscriber:
    """One reader: address, display name (may be empty), language and time zone."""

    email: str
    name: str
    language: str
    timezone: str


def post_url(base_url: str, slug: str) -> str:
    """The public page of the post with ``slug`` on the site at ``base_url``."""
    return f"{base_url.rstrip('/')}/posts/{slug}"


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _md(*blocks: str) -> str:
    """Markdown from blocks (paragraphs, headings, lists), separated by blank lines."""
    return "\n\n".join(blocks)


def _speaker(name: str, role: str, organisation: str, quote: str) -> dict[str, str]:
    return {"name": name, "role": role, "organisation": organisation, "quote": quote}


def _media(label: str, url: str, language: str) -> dict[str, str]:
    return {"label": label, "url": url, "language": language}


# Slugs, needed up front because the three language versions of the forum link to each other.
_SLUGS = {
    FORUM_KEY: "ukraine-japan-forum-2026",
    FORUM_UK_KEY: "ukrainsko-yaponskyi-forum-2026",
    FORUM_JA_KEY: "ukraine-japan-forum-2026-ja",
    DEMINING_KEY: "panel-clearing-the-fields",
    CITIES_KEY: "panel-cities-that-heal",
    REPORT_KEY: "rebuilding-to-last",
}

# The forum opened with a live link to Tokyo: 10:00 in Kyiv (UTC+2) is 17:00 in Tokyo.
_FORUM_STARTS = _utc(2026, 3, 18, 8)

_FORUM_MEDIA = [
    ("Video recording (English)", f"{_VIDEO}/forum-2026/en", "en"),
    ("Video recording (Ukrainian)", f"{_VIDEO}/forum-2026/uk", "uk"),
    ("Photo report", f"{_PHOTOS}/forum-2026/", ""),
]
