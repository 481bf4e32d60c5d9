"""A post as an editor writes it: the fields of the form, the JSON API and an import.

:class:`PostInput` is the data only; :mod:`publisher.posts.service` checks and stores it and
:mod:`publisher.posts.limits` says how much each field may hold. Both read this module, and
it reads neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from publisher.posts.models import Post


@dataclass(slots=True)
class PostInput:
    """Everything an editor writes about a post (status and ids are not theirs to set)."""

    kind: str
    title: str
    language: str = "en"
    slug: str = ""
    summary: str = ""
    body: str = ""
    takeaways: list[str] = field(default_factory=list)
    speakers: list[dict[str, str]] = field(default_factory=list)
    media: list[dict[str, str]] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    author: str = ""
    url: str = ""
    image_url: str = ""
    image_alt: str = ""
    location: str = ""
    starts_at: datetime | None = None
    timezone: str = "UTC"
    published_at: datetime | None = None

    @classmethod
    def of(cls, post: Post) -> PostInput:
        """The editable part of a stored post."""
        return cls(**{name: getattr(post, name) for name in INPUT_FIELDS})


INPUT_FIELDS = tuple(item.name for item in fields(PostInput))
