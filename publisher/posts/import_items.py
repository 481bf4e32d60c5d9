"""What an import passes along: the sources read, the items found in them, and the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from publisher.posts.input import PostInput
from publisher.posts.models import Post, PostStatus


class ImportRejected(ValueError):
    """A source (or one feed entry) cannot be imported; the message says why."""


@dataclass(frozen=True, slots=True)
class ImportSource:
    """One thing to import: a file's (or a fetched feed's) name and bytes."""

    name: str
    content: bytes


@dataclass(slots=True)
class ImportItem:
    """One post read from a source, not yet stored."""

    origin: str
    source_id: str
    data: PostInput
    status: str = PostStatus.DRAFT
    translation_of: str = ""


@dataclass(frozen=True, slots=True)
class Imported:
    """A stored post and what happened to it: ``created``, ``updated`` or ``unchanged``."""

    post: Post
    outcome: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """A source or entry that was not imported, and why."""

    origin: str
    reason: str


@dataclass(slots=True)
class ImportReport:
    """The outcome of one import: posts stored, sources rejected, remarks."""

    imported: list[Imported] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
