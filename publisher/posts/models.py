"""Tables of posts: what editors write, in one language each, and the reviewers' comments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime, utcnow


class PostKind(StrEnum):
    """What a post is: an event, a report or a news item (``posts.kind``)."""

    EVENT = "event"
    REPORT = "report"
    NEWS = "news"


class PostStatus(StrEnum):
    """Where a post is in review: draft, in review, approved, published (``posts.status``)."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"


POST_KINDS = tuple(PostKind)
POST_STATUSES = tuple(PostStatus)


class Post(Base):
    """An event, report or news item, in one language, possibly a translation of another."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16), default="en")
    translation_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), index=True
    )
    slug: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    takeaways: Mapped[list[str]] = mapped_column(JSON, default=list)
    speakers: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    media: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    author: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    image_url: Mapped[str] = mapped_column(String(2000), default="")
    image_alt: Mapped[str] = mapped_column(String(500), default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    status: Mapped[str] = mapped_column(String(16), default=PostStatus.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    images: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    """Further pictures (a photo report), each ``{"url", "alt"}``."""
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PostComment(Base):
    """A remark on a post under review; ``sent_back`` marks the one that returned it to draft."""

    __tablename__ = "post_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    sent_back: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
