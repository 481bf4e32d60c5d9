"""The demo's posts go into the database through the post importer, published and linked."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditEntry
from publisher.demo.loader import import_demo_posts
from publisher.demo.samples import DIGEST_SLUGS, FORUM_SLUG
from publisher.posts.models import Post

BASE_URL = "http://testserver/"
"""The tests' site: links in the bodies and the posts' own addresses agree."""


def test_the_demo_posts_are_imported_published_at_the_base_url(session: Session) -> None:
    posts = import_demo_posts(session, BASE_URL)
    assert len(posts) == 6 and {FORUM_SLUG, *DIGEST_SLUGS} <= set(posts)
    for slug, post in posts.items():
        assert post.status == "published" and post.slug == slug
        assert post.url == f"http://testserver/posts/{slug}"
        assert post.source_id == f"file:{slug}"
    forum = posts[FORUM_SLUG]
    link = f"](http://testserver/posts/{forum.slug})"
    assert link in posts["ukrainsko-yaponskyi-forum-2026"].body
    assert link in posts["panel-clearing-the-fields"].body


def test_the_translations_are_linked_to_the_forum(session: Session) -> None:
    posts = import_demo_posts(session, BASE_URL)
    session.expire_all()
    forum = posts[FORUM_SLUG]
    translations = session.scalars(select(Post).where(Post.translation_of_id == forum.id))
    assert sorted(post.language for post in translations) == ["ja", "uk"]
    assert forum.translation_of_id is None


def test_the_dates_are_stored_as_the_moments_the_files_give(session: Session) -> None:
    posts = import_demo_posts(session, BASE_URL)
    session.commit()
    session.expire_all()
    forum = session.get(Post, posts[FORUM_SLUG].id)
    assert forum is not None and forum.starts_at is not None and forum.published_at is not None
    assert forum.starts_at.isoformat() == "2026-03-18T08:00:00+00:00"
    assert forum.published_at.isoformat() == "2026-03-20T09:00:00+00:00"


def test_the_import_is_audited_as_any_import(session: Session) -> None:
    import_demo_posts(session, BASE_URL)
    imports = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "post.import")
    assert session.scalar(imports) == 1
