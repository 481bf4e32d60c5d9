"""The review workflow: each step's rule, who may take it, the audit log, auto-announcements."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.audit import audit_trail
from core.database import unit_of_work
from core.tasks import TaskName
from publisher.campaigns.models import Campaign
from publisher.campaigns.queries import campaign_list_ids
from publisher.cli.main import app as cli_app
from publisher.posts.input import PostInput
from publisher.posts.models import Post
from publisher.posts.service import CLI, Actor, PostInputError, PostPermissionError, update_post
from publisher.posts.workflow import WorkflowError, allowed_steps, comments_on, take_step
from tests.conftest import use_settings
from tests.fixtures.factories import ADMIN, EDITOR, add_draft, add_list, add_user
from tests.fixtures.tasks import TaskRecorder


def _walk(session: Session, post: Post, *steps: str, actor: Actor = ADMIN) -> None:
    for step in steps:
        take_step(session, post=post, actor=actor, step=step)


def test_the_full_path_draft_to_published_is_stamped_and_audited(session: Session) -> None:
    post = add_draft(session)
    take_step(session, post=post, actor=EDITOR, step="submit")
    assert post.status == "in_review" and post.submitted_at is not None
    take_step(session, post=post, actor=ADMIN, step="approve")
    assert post.status == "approved" and post.approved_at is not None
    take_step(session, post=post, actor=ADMIN, step="publish")
    assert post.status == "published" and post.published_at is not None
    assert post.url == f"http://testserver/posts/{post.slug}"
    trail = audit_trail(session, object_type="post", object_id=post.id)
    assert [(entry.actor, entry.action) for entry in reversed(trail)] == [
        ("editor@example.com", "post.submit"),
        ("admin@example.com", "post.approve"),
        ("admin@example.com", "post.publish"),
    ]
    assert trail[0].details == {"from": "approved", "to": "published"}


@pytest.mark.parametrize("step", ["approve", "publish", "send_back"])
def test_an_editor_may_not_take_an_admins_step(session: Session, step: str) -> None:
    post = add_draft(session, status="in_review" if step != "publish" else "approved")
    with pytest.raises(PostPermissionError):
        take_step(session, post=post, actor=EDITOR, step=step, comment="why")
    assert post.status in ("in_review", "approved")
    assert audit_trail(session, object_type="post", object_id=post.id) == []


@pytest.mark.parametrize(
    ("status", "step"),
    [
        ("draft", "approve"),
        ("draft", "publish"),
        ("in_review", "publish"),
        ("in_review", "submit"),
        ("published", "approve"),
        ("published", "send_back"),
    ],
)
def test_a_step_out_of_order_is_refused(session: Session, status: str, step: str) -> None:
    post = add_draft(session, status=status)
    with pytest.raises(WorkflowError):
        take_step(session, post=post, actor=ADMIN, step=step, comment="because")
    assert post.status == status


def test_sending_back_needs_a_comment_and_keeps_it_in_the_thread(session: Session) -> None:
    post = add_draft(session, status="in_review")
    with pytest.raises(PostInputError):
        take_step(session, post=post, actor=ADMIN, step="send_back", comment="  ")
    assert post.status == "in_review"
    take_step(
        session, post=post, actor=ADMIN, step="send_back", comment="Name the moderator — «хто?»"
    )
    assert post.status == "draft" and post.approved_at is None
    [comment] = comments_on(session, post.id)
    assert comment.body == "Name the moderator — «хто?»" and comment.sent_back
    assert comment.author == "admin@example.com"


def test_editing_an_approved_post_sends_it_back_to_review(session: Session) -> None:
    post = add_draft(session, status="approved")
    data = PostInput.of(post)
    data.title = "Panel: Cities that heal — Kharkiv, Kobe and Christchurch"
    assert update_post(session, post=post, data=data, actor=ADMIN) == ["title"]
    assert post.status == "in_review" and post.approved_at is None
    assert audit_trail(session, object_type="post", object_id=post.id)[0].details == {
        "fields": ["title"],
        "back_to_review": True,
    }


def test_saving_an_unchanged_approved_post_keeps_it_approved(session: Session) -> None:
    post = add_draft(session, status="approved")
    assert update_post(session, post=post, data=PostInput.of(post), actor=ADMIN) == []
    assert post.status == "approved"


def test_editors_edit_their_own_unpublished_posts_only(session: Session) -> None:
    author = add_user(session, "author@example.com", "editor")
    other = add_user(session, "other@example.com", "editor")
    mine = add_draft(session, created_by_id=author.id)
    as_author = Actor(author.email, "editor", author.id)
    as_other = Actor(other.email, "editor", other.id)
    data = PostInput.of(mine)
    data.summary = "A shorter summary."
    with pytest.raises(PostPermissionError):
        update_post(session, post=mine, data=data, actor=as_other)
    assert update_post(session, post=mine, data=data, actor=as_author) == ["summary"]
    mine.status = "published"
    data.summary = "Changed after publishing."
    with pytest.raises(PostPermissionError):
        update_post(session, post=mine, data=data, actor=as_author)
    assert [
        step.name for step in allowed_steps(as_other, add_draft(session, created_by_id=author.id))
    ] == []


def test_the_buttons_follow_role_and_status(session: Session) -> None:
    statuses = ("draft", "in_review", "approved", "published")
    names = {
        (actor.role, status): [step.name for step in allowed_steps(actor, post)]
        for actor in (EDITOR, ADMIN)
        for status in statuses
        for post in [add_draft(session, status=status)]
    }
    assert names[("editor", "draft")] == ["submit"]
    assert names[("editor", "in_review")] == []
    assert names[("admin", "in_review")] == ["approve", "send_back"]
    assert names[("admin", "approved")] == ["send_back", "publish"]
    assert names[("admin", "published")] == []


def _published_with_lists(session: Session, topics: tuple[str, ...] = ("Events",)) -> Post:
    events, research, other = (
        add_list(session, "events"),
        add_list(session, "research"),
        add_list(session, "sport"),
    )
    events.topics, research.topics, other.topics = ["events", "Japan"], ["Research"], ["Football"]
    post = add_draft(session, status="approved", topics=topics)
    session.flush()
    return post


def test_publishing_drafts_one_held_announcement_for_the_following_lists(session: Session) -> None:
    post = _published_with_lists(session, topics=("Events", "Research"))
    result = take_step(session, post=post, actor=ADMIN, step="publish")
    campaign = result.announcement
    assert campaign is not None and not result.announcement_sent
    assert campaign.status == "draft" and campaign.kind == "announcement"
    assert campaign.subject == post.title
    assert set(session.scalars(select(Campaign.id))) == {campaign.id}
    assert len(campaign_list_ids(session, campaign.id)) == 2
    entry = audit_trail(session, object_type="post", object_id=post.id)[0]
    assert entry.action == "post.announce" and entry.details["held"] is True
    assert sorted(entry.details["lists"]) == ["events", "research"]


def test_republishing_does_not_announce_twice(session: Session) -> None:
    post = _published_with_lists(session)
    _walk(session, post, "publish")
    post.status = "approved"
    _walk(session, post, "publish")
    assert len(session.scalars(select(Campaign)).all()) == 1


def test_no_announcement_without_following_lists_or_when_off(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    lonely = _published_with_lists(session, topics=("Culture",))
    assert take_step(session, post=lonely, actor=ADMIN, step="publish").announcement is None
    use_settings(monkeypatch, auto_announce="off")
    post = add_draft(session, status="approved", topics=("Events",))
    assert take_step(session, post=post, actor=ADMIN, step="publish").announcement is None
    assert session.scalars(select(Campaign)).all() == []


def test_a_translation_is_not_announced_on_its_own(session: Session) -> None:
    original = _published_with_lists(session)
    translation = add_draft(session, "Панель: міста, що лікуються", status="approved")
    translation.translation_of_id, translation.language = original.id, "uk"
    assert take_step(session, post=translation, actor=ADMIN, step="publish").announcement is None


def test_send_mode_starts_sending_after_the_commit(
    tasks: TaskRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, auto_announce="send")
    sent = tasks.tasks
    with unit_of_work() as session:
        post = _published_with_lists(session)
        result = take_step(session, post=post, actor=ADMIN, step="publish")
        assert result.announcement is not None and result.announcement_sent
        assert sent == []
    assert result.announcement.status == "sending"
    assert sent == [(TaskName.PLAN, [result.announcement.id])]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli_app, ["posts", *args])


def test_the_cli_walks_the_workflow_as_cli_or_as_a_user(db: str) -> None:
    with unit_of_work() as session:
        add_user(session, "editor@example.com", "editor")
        post_id = add_draft(session).id
    assert _cli("submit", str(post_id), "--as", "editor@example.com").exit_code == 0
    refused = _cli("approve", str(post_id), "--as", "editor@example.com")
    assert refused.exit_code == 1 and "only admins may approve" in refused.output
    assert _cli("publish", str(post_id)).exit_code == 1  # not approved yet
    assert _cli("approve", str(post_id)).exit_code == 0
    answer = _cli("publish", str(post_id))
    assert answer.exit_code == 0, answer.output
    assert "published" in answer.output
    with unit_of_work() as session:
        actors = [
            entry.actor for entry in audit_trail(session, object_type="post", object_id=post_id)
        ]
        assert session.get(Post, post_id).status == "published"  # type: ignore[union-attr]
    assert actors == ["cli", "cli", "editor@example.com"]


def test_the_cli_refuses_an_editor_publishing(db: str) -> None:
    with unit_of_work() as session:
        add_user(session, "editor@example.com", "editor")
        post_id = add_draft(session, status="approved").id
    answer = _cli("publish", str(post_id), "--as", "editor@example.com")
    assert answer.exit_code == 1 and "only admins may publish" in answer.output
    with unit_of_work() as session:
        assert session.get(Post, post_id).status == "approved"  # type: ignore[union-attr]


def test_cli_actor_has_admin_rights() -> None:
    assert CLI.is_admin and CLI.label == "cli"
