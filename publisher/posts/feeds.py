"""RSS and Atom feeds as posts: fetched with a timeout and a size limit, each entry a draft."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx

from core.netguard import guarded_client, parse_web_url
from core.rendering.content import html_to_markdown, html_to_text
from publisher.posts.import_items import ImportItem, ImportRejected, ImportSource, Rejection
from publisher.posts.input import PostInput
from publisher.posts.models import POST_KINDS, PostKind, PostStatus
from publisher.posts.service import is_web_url

FETCH_TIMEOUT_SECONDS = 15.0


MAX_FEED_BYTES = 10 * 1024 * 1024


Fetcher = Callable[[str], bytes]


def fetch_url(url: str, client: httpx.Client | None = None, *, public_only: bool = False) -> bytes:
    """The body of a feed URL (redirects followed, with a timeout and a size limit).

    ``public_only`` (a URL typed into the admin page): every request on the way, redirects
    included, connects only to a checked public address (:mod:`core.netguard`), so
    the form cannot be used to read the server's own network (metadata services,
    databases, admin ports).
    """
    try:
        parse_web_url(url)
    except ValueError as error:
        raise ImportRejected(f"could not fetch the feed: {error}") from error
    own = client is None
    http = client or _feed_client(public_only)
    try:
        answer = http.get(url, headers={"Accept": "application/rss+xml, application/atom+xml"})
        answer.raise_for_status()
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise ImportRejected(f"could not fetch the feed: {error}") from error
    finally:
        if own:
            http.close()
    if len(answer.content) > MAX_FEED_BYTES:
        raise ImportRejected("the feed is larger than 10 MB")
    return answer.content


def _feed_client(public_only: bool) -> httpx.Client:
    if public_only:
        return guarded_client(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
    return httpx.Client(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)


def parse_feed(source: ImportSource) -> tuple[list[ImportItem], list[Rejection]]:
    """The entries of an RSS or Atom feed as posts (``news`` unless a category names a kind)."""
    # A stream, never bytes or a string: feedparser would open those as a path or URL.
    parsed = feedparser.parse(io.BytesIO(source.content))
    if not parsed.get("version"):
        raise ImportRejected("not an RSS or Atom feed")
    language = _language(parsed.feed.get("language", "")) or "en"
    items, rejected = [], []
    for number, entry in enumerate(parsed.entries, 1):
        origin = f"{source.name} entry {number}"
        try:
            items.append(_item_from_entry(origin, entry, language))
        except ImportRejected as error:
            rejected.append(Rejection(origin, str(error)))
    return items, rejected


def _language(value: str) -> str:
    return value.strip().lower().split("-")[0].split("_")[0]


def _item_from_entry(origin: str, entry: Any, language: str) -> ImportItem:
    key = entry.get("id") or entry.get("link")
    if not key:
        raise ImportRejected("the entry has neither an id nor a link")
    title = html_to_text(entry.get("title", "")).strip()
    if not title:
        raise ImportRejected("missing title")
    terms = [tag.get("term", "").strip() for tag in entry.get("tags", []) if tag.get("term")]
    kinds = [term.lower() for term in terms if term.lower() in POST_KINDS]
    content = entry.get("content") or []
    summary_html = entry.get("summary", "")
    body_html = content[0].get("value", "") if content else ""
    link = entry.get("link", "")
    data = PostInput(
        kind=kinds[0] if kinds else PostKind.NEWS,
        title=title,
        language=_language(entry.get("title_detail", {}).get("language") or "") or language,
        summary=html_to_text(summary_html) if body_html else "",
        body=html_to_markdown(body_html or summary_html),
        author=entry.get("author", ""),
        topics=[term for term in terms if term.lower() not in POST_KINDS],
        url=link if is_web_url(link) else "",
        media=[_enclosure(item) for item in entry.get("enclosures", []) if item.get("href")],
        published_at=_entry_time(entry),
    )
    return ImportItem(origin, f"feed:{key}", data, PostStatus.DRAFT)


def _enclosure(item: Any) -> dict[str, str]:
    kind = str(item.get("type", "")).split("/")[0]
    label = {"video": "Video recording", "audio": "Audio recording"}.get(kind, "Attachment")
    return {"label": label, "url": str(item.get("href", "")), "language": ""}


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published", "updated"):
        if entry.get(key):
            parsed = entry.get(f"{key}_parsed")
            if parsed is None:
                raise ImportRejected(f"unparsable date in {key}: {entry.get(key)!r}")
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return None
