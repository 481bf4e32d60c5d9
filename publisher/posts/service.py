"""Posts: what an editor may write, checked once for every way in (form, API, import).

A post is written as a :class:`PostInput`, checked by :func:`check_input` (kinds, time
zones, http(s)-only links, alt text on images, the limits in ``publisher.posts.limits``)
and stored by :func:`create_post` or :func:`update_post`. Who may change what is decided
here too (:func:`can_edit`): admins anything, editors their own (or imported) posts until
they are published. Editing an approved post sends it back to review. Status changes live
in ``publisher.posts.workflow``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.settings import get_settings
from publisher.accounts.identity import Identity
from publisher.accounts.models import Role
from publisher.posts.input import INPUT_FIELDS, PostInput
from publisher.posts.limits import limit_problems
from publisher.posts.models import POST_KINDS, POST_STATUSES, Post, PostStatus

# PostInput is re-exported: the form, the API and the importer take the post as written and
# its checks from this one module, though the type lives apart so the limits can read it
# without importing this module.

SPEAKER_KEYS = ("name", "role", "organisation", "quote")
MEDIA_KEYS = ("label", "url", "language")
IMAGE_KEYS = ("url", "alt")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_SLUG_INVALID = re.compile(r"[^\w]+")
_WEB_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on a post: a signed-in user, or the command line (``cli``, admin rights)."""

    label: str
    role: str
    user_id: int | None = None

    @property
    def is_admin(self) -> bool:
        """Whether this actor may approve, publish and send."""
        return self.role == Role.ADMIN

    @classmethod
    def of(cls, identity: Identity) -> Actor:
        """The actor a signed-in user (browser or API token) is."""
        return cls(label=identity.label, role=identity.role, user_id=identity.user_id)


CLI = Actor(label="cli", role=Role.ADMIN)


class PostInputError(ValueError):
    """The post as written cannot be stored; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class PostPermissionError(PermissionError):
    """The actor's role or the post's status does not allow this."""


class PostNotFound(LookupError):
    """No post has this id."""


def is_web_url(value: str) -> bool:
    """Whether ``value`` is an absolute http(s) URL (never javascript:, data: and the like)."""
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        return False
    return parts.scheme.lower() in _WEB_SCHEMES and bool(parts.hostname) and "\x00" not in value


def check_input(data: PostInput) -> PostInput:
    """``data`` tidied (stripped, empty rows dropped), or :class:`PostInputError`."""
    tidy = _tidied(data)
    problems = [*limit_problems(tidy), *_field_problems(tidy), *_row_problems(tidy)]
    if problems:
        raise PostInputError(problems)
    return tidy


def _tidied(data: PostInput) -> PostInput:
    def rows(items: list[dict[str, str]], keys: tuple[str, ...]) -> list[dict[str, str]]:
        clean = [{key: str(item.get(key) or "").strip() for key in keys} for item in items]
        return [item for item in clean if any(item.values())]

    return PostInput(
        kind=data.kind.strip().lower(),
        title=data.title.strip(),
        language=data.language.strip() or "en",
        slug=data.slug.strip().lower(),
        summary=data.summary.strip(),
        body=data.body.strip("\n"),
        takeaways=[item.strip() for item in data.takeaways if item.strip()],
        speakers=rows(data.speakers, SPEAKER_KEYS),
        media=rows(data.media, MEDIA_KEYS),
        images=rows(data.images, IMAGE_KEYS),
        topics=list(dict.fromkeys(topic.strip() for topic in data.topics if topic.strip())),
        author=data.author.strip(),
        url=data.url.strip(),
        image_url=data.image_url.strip(),
        image_alt=data.image_alt.strip(),
        location=data.location.strip(),
        starts_at=data.starts_at,
        timezone=data.timezone.strip() or "UTC",
        published_at=data.published_at,
    )


def _field_problems(data: PostInput) -> list[str]:
    problems = []
    if data.kind not in POST_KINDS:
        problems.append(f"unknown kind {data.kind!r} (one of {', '.join(POST_KINDS)})")
    if not data.title:
        problems.append("the title is missing")
    if not _LANGUAGE.match(data.language):
        problems.append(f"the language {data.language!r} is not a language code such as en, uk, ja")
    if data.slug and (len(data.slug) > 200 or _SLUG_INVALID.sub("-", data.slug) != data.slug):
        problems.append("the slug may hold only letters, digits, - and _")
    if not valid_timezone(data.timezone):
        problems.append(f"unknown time zone {data.timezone!r}")
    for name in ("url", "image_url"):
        if getattr(data, name) and not is_web_url(getattr(data, name)):
            problems.append(f"the {name.replace('_', ' ')} must be an http(s) address")
    for name in ("starts_at", "published_at"):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            problems.append(f"{name.replace('_', ' ')} needs a time zone")
    if data.image_url and not data.image_alt:
        problems.append("the image needs alt text")
    return problems


def _row_problems(data: PostInput) -> list[str]:
    problems = []
    for number, speaker in enumerate(data.speakers, 1):
        if not speaker["name"]:
            problems.append(f"speaker {number} has no name")
    for number, item in enumerate(data.media, 1):
        if not is_web_url(item["url"]):
            problems.append(f"media link {number} must be an http(s) address")
    for number, image in enumerate(data.images, 1):
        if not is_web_url(image["url"]):
            problems.append(f"image {number} must be an http(s) address")
        if not image["alt"]:
            problems.append(f"image {number} needs alt text")
    return problems


def valid_timezone(name: str) -> bool:
    """Whether ``name`` is a known IANA time zone (Europe/Kyiv, Asia/Tokyo, UTC)."""
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def slugify(title: str) -> str:
    """A URL slug from a title; letters of every script are kept (Кирилиця, 日本語)."""
    return _SLUG_INVALID.sub("-", title.lower()).strip("-_")[:80].strip("-_") or "post"


def _free_slug(session: Session, wanted: str, post_id: int | None) -> str:
    taken = set(
        session.scalars(
            select(Post.slug).where(
                or_(Post.slug == wanted, Post.slug.like(f"{wanted}-%")),
                Post.id != (post_id or 0),
            )
        )
    )
    slug, number = wanted, 2
    while slug in taken:
        slug, number = f"{wanted}-{number}", number + 1
    return slug


def can_edit(actor: Actor, post: Post) -> bool:
    """Admins edit anything; editors their own or imported posts, until published."""
    if actor.is_admin:
        return True
    return post.status != PostStatus.PUBLISHED and post.created_by_id in (None, actor.user_id)


def get_post(session: Session, post_id: int) -> Post:
    """The post with this id, or :class:`PostNotFound`."""
    post = session.get(Post, post_id)
    if post is None:
        raise PostNotFound(f"no post {post_id}")
    return post


def published_post(session: Session, slug: str) -> Post | None:
    """The published post with this slug, if any (the first made, should two share it)."""
    query = (
        select(Post).where(Post.slug == slug, Post.status == PostStatus.PUBLISHED).order_by(Post.id)
    )
    return session.scalars(query).first()


def list_posts(session: Session, *, status: str | None = None, limit: int = 200) -> list[Post]:
    """Posts, most recently changed first, optionally of one status."""
    if status is not None and status not in POST_STATUSES:
        raise PostInputError([f"unknown status {status!r} (one of {', '.join(POST_STATUSES)})"])
    query = select(Post).order_by(Post.updated_at.desc(), Post.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Post.status == status)
    return list(session.scalars(query))


def create_post(
    session: Session,
    *,
    data: PostInput,
    actor: Actor,
    source_id: str | None = None,
    translation_of_id: int | None = None,
) -> Post:
    """A new draft post written by ``actor`` (checked, with a free slug); audited."""
    tidy = check_input(data)
    post = Post(status=PostStatus.DRAFT, source_id=source_id, translation_of_id=translation_of_id)
    _apply(post, tidy)
    post.slug = _free_slug(session, tidy.slug or slugify(tidy.title), None)
    post.created_by_id = actor.user_id
    session.add(post)
    session.flush()
    details = {"title": post.title, "source": source_id} if source_id else {"title": post.title}
    record_audit(
        session,
        actor=actor.label,
        action="post.create",
        object_type="post",
        object_id=post.id,
        details=details,
    )
    return post


def update_post(session: Session, *, post: Post, data: PostInput, actor: Actor) -> list[str]:
    """Store ``data`` on ``post``; returns the changed fields (none: nothing recorded).

    An approved post that changes goes back to review.
    """
    if not can_edit(actor, post):
        raise PostPermissionError(f"{actor.label} may not edit post {post.id} ({post.status})")
    tidy = check_input(data)
    if tidy.slug != post.slug:
        tidy.slug = _free_slug(session, tidy.slug or slugify(tidy.title), post.id)
    changed = [name for name in INPUT_FIELDS if getattr(post, name) != getattr(tidy, name)]
    if not changed:
        return []
    _apply(post, tidy)
    post.slug = tidy.slug
    details: dict[str, Any] = {"fields": changed}
    if post.status == PostStatus.APPROVED:
        post.status, post.approved_at = PostStatus.IN_REVIEW, None
        details["back_to_review"] = True
    record_audit(
        session,
        actor=actor.label,
        action="post.edit",
        object_type="post",
        object_id=post.id,
        details=details,
    )
    return changed


def _apply(post: Post, data: PostInput) -> None:
    for name in INPUT_FIELDS:
        if name != "slug":
            setattr(post, name, getattr(data, name))


def translation_group(session: Session, post: Post) -> list[Post]:
    """The post, its original and every translation of that original, original first."""
    root = post.translation_of_id or post.id
    query = select(Post).where(or_(Post.id == root, Post.translation_of_id == root))
    return sorted(session.scalars(query), key=lambda item: (item.id != root, item.language))


def create_translation(session: Session, *, post: Post, language: str, actor: Actor) -> Post:
    """A draft copy of ``post`` in another language, linked to the same original."""
    group = translation_group(session, post)
    if any(item.language == language for item in group):
        raise PostInputError([f"there is already a {language} version of this post"])
    data = PostInput.of(post)
    data.language, data.slug = language, f"{post.slug}-{language}"
    root = post.translation_of_id or post.id
    return create_post(session, data=data, actor=actor, translation_of_id=root)


def post_time(value: datetime | None, zone: str, pattern: str = "") -> str:
    """A time as the post's readers see it: in the post's zone, named unless ``pattern``."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone if valid_timezone(zone) else "UTC"))
    return local.strftime(pattern) if pattern else f"{local:%d %B %Y, %H:%M} ({zone})"


def public_url(post: Post) -> str:
    """The post's page on the public site."""
    return f"{get_settings().base_url.rstrip('/')}/posts/{post.slug}"


def post_json(post: Post) -> dict[str, Any]:
    """A post as the JSON API and ``--json`` output show it."""

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    data: dict[str, Any] = {"id": post.id, "status": post.status, "slug": post.slug}
    data.update({name: getattr(post, name) for name in INPUT_FIELDS if name != "slug"})
    data.update(
        starts_at=when(post.starts_at),
        published_at=when(post.published_at),
        translation_of_id=post.translation_of_id,
        source_id=post.source_id,
        submitted_at=when(post.submitted_at),
        approved_at=when(post.approved_at),
        created_at=when(post.created_at),
        updated_at=when(post.updated_at),
    )
    return data
