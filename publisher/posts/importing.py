"""Importing posts: Markdown files with YAML front matter (bodies: publisher.posts.import_body), and
RSS or Atom feeds.

Every source is read on its own: a file that cannot be read (bad YAML, no title, an
unknown kind, a date that is no date, not a feed) is reported with its reason and the
others are still imported. Each post remembers where it came from (``Post.source_id``:
``file:<slug or file name>``, ``feed:<entry id or link>``), so importing the same item
again updates the post instead of adding a second one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.database import utcnow
from publisher.posts.feeds import Fetcher, fetch_url, parse_feed
from publisher.posts.front_matter import load_front_matter
from publisher.posts.import_body import read_body
from publisher.posts.import_items import (
    Imported,
    ImportItem,
    ImportRejected,
    ImportReport,
    ImportSource,
    Rejection,
)
from publisher.posts.input import PostInput
from publisher.posts.models import POST_KINDS, POST_STATUSES, Post, PostKind, PostStatus
from publisher.posts.service import (
    Actor,
    PostInputError,
    PostPermissionError,
    create_post,
    public_url,
    update_post,
    valid_timezone,
)

MARKDOWN_SUFFIXES = (".md", ".markdown")
FEED_SUFFIXES = (".xml", ".rss", ".atom")
EDITOR_STATUSES = (PostStatus.DRAFT, PostStatus.IN_REVIEW)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*$\r?\n?(.*)\Z", re.S | re.M)


def read_paths(
    paths: Sequence[str], *, fetch: Fetcher = fetch_url
) -> tuple[list[ImportSource], list[Rejection]]:
    """The sources named by files, folders (their .md and feed files) and feed URLs."""
    sources: list[ImportSource] = []
    rejected: list[Rejection] = []
    for name in paths:
        try:
            sources.extend(_read_path(name, fetch))
        except ImportRejected as error:
            rejected.append(Rejection(name, str(error)))
    return sources, rejected


def _read_path(name: str, fetch: Fetcher) -> list[ImportSource]:
    if name.startswith(("http://", "https://")):
        return [ImportSource(name, fetch(name))]
    path = Path(name)
    if path.is_dir():
        wanted = (*MARKDOWN_SUFFIXES, *FEED_SUFFIXES)
        found = sorted(item for item in path.iterdir() if item.suffix.lower() in wanted)
        return [ImportSource(str(item), item.read_bytes()) for item in found if item.is_file()]
    if not path.is_file():
        raise ImportRejected("no such file")
    return [ImportSource(name, path.read_bytes())]


def parse_source(source: ImportSource) -> tuple[list[ImportItem], list[Rejection]]:
    """The posts a source holds, and its entries that could not be read."""
    if source.name.lower().endswith(MARKDOWN_SUFFIXES):
        return [parse_markdown(source)], []
    return parse_feed(source)


def parse_markdown(source: ImportSource) -> ImportItem:
    """One post from a Markdown file with YAML front matter, or :class:`ImportRejected`."""
    try:
        text = source.content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise ImportRejected("the file is not UTF-8 text") from error
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise ImportRejected("no YAML front matter (a block between --- lines) at the top")
    try:
        meta = load_front_matter(match[1])
    except yaml.YAMLError as error:
        raise ImportRejected(f"bad YAML: {_yaml_problem(error)}") from error
    if not isinstance(meta, dict):
        raise ImportRejected("bad YAML: the front matter is not a set of fields")
    return _item_from_front_matter(source.name, meta, match[2])


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{problem} (line {mark.line + 1})" if mark is not None else str(problem)


def _item_from_front_matter(origin: str, meta: dict[str, Any], body: str) -> ImportItem:
    title = _text(meta, "title")
    if not title:
        raise ImportRejected("missing title")
    kind = (_text(meta, "kind") or PostKind.NEWS).lower()
    if kind not in POST_KINDS:
        raise ImportRejected(f"unknown kind {kind!r} (one of {', '.join(POST_KINDS)})")
    zone = _text(meta, "timezone") or "UTC"
    if not valid_timezone(zone):
        raise ImportRejected(f"unknown time zone {zone!r}")
    status = (_text(meta, "status") or PostStatus.DRAFT).lower()
    if status not in POST_STATUSES:
        raise ImportRejected(f"unknown status {status!r}")
    slug, takeaways = _text(meta, "slug"), _strings(meta, "takeaways")
    read = read_body(body, lift_takeaways=not takeaways)
    data = PostInput(
        kind=kind,
        title=title,
        language=_text(meta, "language") or "en",
        slug=slug,
        summary=_text(meta, "summary"),
        body=read.markdown,
        author=_text(meta, "author"),
        takeaways=takeaways or read.takeaways,
        topics=_strings(meta, "topics"),
        speakers=_rows(meta, "speakers"),
        media=_rows(meta, "media"),
        images=_rows(meta, "images"),
        url=_text(meta, "url"),
        image_url=_text(meta, "image_url"),
        image_alt=_text(meta, "image_alt"),
        location=_text(meta, "location"),
        timezone=zone,
        published_at=_when(meta, "published_at", zone),
        starts_at=_when(meta, "starts_at", zone),
    )
    source_id = f"file:{slug or Path(origin).name}"
    return ImportItem(origin, source_id, data, status, _text(meta, "translation_of"))


def _text(meta: dict[str, Any], key: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise ImportRejected(f"{key} should be text")
    return str(value).strip()


def _strings(meta: dict[str, Any], key: str) -> list[str]:
    value = meta.get(key) or []
    if isinstance(value, str):
        value = value.split(",") if key == "topics" else [value]
    if not isinstance(value, list) or any(isinstance(item, (dict, list)) for item in value):
        raise ImportRejected(f"{key} should be a list of texts")
    return [str(item) for item in value if item is not None]


def _rows(meta: dict[str, Any], key: str) -> list[dict[str, str]]:
    value = meta.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ImportRejected(f"{key} should be a list of fields (- name: …)")
    return [{str(k): "" if v is None else str(v) for k, v in item.items()} for item in value]


def _when(meta: dict[str, Any], key: str, zone: str) -> datetime | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as error:
            raise ImportRejected(f"unparsable date in {key}: {value!r}") from error
    if not isinstance(value, datetime):
        raise ImportRejected(f"unparsable date in {key}: {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))


def import_sources(
    session: Session, *, sources: Sequence[ImportSource], actor: Actor
) -> ImportReport:
    """Store the posts of every source (originals before their translations); audited."""
    report = ImportReport()
    items: list[ImportItem] = []
    for source in sources:
        try:
            found, rejected = parse_source(source)
        except ImportRejected as error:
            report.rejected.append(Rejection(source.name, str(error)))
            continue
        items.extend(found)
        report.rejected.extend(rejected)
    for item in sorted(items, key=lambda item: bool(item.translation_of)):
        try:
            report.imported.append(_store(session, item, actor, report))
        except (ImportRejected, PostInputError, PostPermissionError) as error:
            report.rejected.append(Rejection(item.origin, str(error)))
    if report.imported or report.rejected:
        details = {"imported": len(report.imported), "rejected": len(report.rejected)}
        record_audit(
            session, actor=actor.label, action="post.import", object_type="post", details=details
        )
    return report


def _store(session: Session, item: ImportItem, actor: Actor, report: ImportReport) -> Imported:
    original_id = _original_id(session, item.translation_of) if item.translation_of else None
    existing = session.scalar(select(Post).where(Post.source_id == item.source_id))
    if existing is not None:
        changed = update_post(session, post=existing, data=item.data, actor=actor)
        if original_id is not None:
            existing.translation_of_id = original_id
        return Imported(existing, "updated" if changed else "unchanged")
    post = create_post(
        session,
        data=item.data,
        actor=actor,
        source_id=item.source_id,
        translation_of_id=original_id,
    )
    _set_imported_status(post, item, actor, report)
    return Imported(post, "created")


def _original_id(session: Session, reference: str) -> int:
    query = select(Post).where(
        or_(Post.slug == reference, Post.source_id == f"file:{reference}"),
        Post.translation_of_id.is_(None),
    )
    original = session.scalars(query.order_by(Post.id)).first()
    if original is None:
        raise ImportRejected(f"translation_of: no post {reference!r} (import the original first)")
    return original.id


def _set_imported_status(post: Post, item: ImportItem, actor: Actor, report: ImportReport) -> None:
    if item.status == PostStatus.DRAFT:
        return
    if item.status not in EDITOR_STATUSES and not actor.is_admin:
        report.notes.append(
            f"{item.origin}: imported as a draft (only admins import it {item.status})"
        )
        return
    now = utcnow()
    post.status = item.status
    post.submitted_at = now
    if item.status in (PostStatus.APPROVED, PostStatus.PUBLISHED):
        post.approved_at = now
    if item.status == PostStatus.PUBLISHED:
        post.published_at = post.published_at or now
        post.url = post.url or public_url(post)
