"""The review workflow: draft → in_review → approved → published, with who may do what.

Editors write and submit; admins approve, send back (with a comment) and publish. Every
step is written to the audit log. Publishing can draft the post's announcement for the
lists that follow its topics ("find out everything first"); ``HERALD_AUTO_ANNOUNCE`` says
whether it is held for an admin (the default), sent at once, or not drafted at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.database import utcnow
from core.settings import get_settings
from publisher.campaigns.models import Campaign, CampaignKind, CampaignPost
from publisher.campaigns.service import create_campaign, start_sending
from publisher.posts.models import Post, PostComment, PostStatus
from publisher.posts.service import Actor, PostInputError, PostPermissionError, can_edit, public_url
from subscribers.models import MailingList


class WorkflowError(ValueError):
    """The post's status does not allow this step now."""


@dataclass(frozen=True, slots=True)
class Step:
    """One move of the workflow: from which statuses, to which, and whether admins only."""

    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    admins_only: bool


STEPS = {
    "submit": Step(
        "submit", "Submit for review", (PostStatus.DRAFT,), PostStatus.IN_REVIEW, admins_only=False
    ),
    "approve": Step(
        "approve", "Approve", (PostStatus.IN_REVIEW,), PostStatus.APPROVED, admins_only=True
    ),
    "send_back": Step(
        "send_back",
        "Send back",
        (PostStatus.IN_REVIEW, PostStatus.APPROVED),
        PostStatus.DRAFT,
        True,
    ),
    "publish": Step(
        "publish", "Publish", (PostStatus.APPROVED,), PostStatus.PUBLISHED, admins_only=True
    ),
}


@dataclass(frozen=True, slots=True)
class StepResult:
    """What a step did: the post, and the announcement it drafted (if any)."""

    post: Post
    announcement: Campaign | None = None
    announcement_sent: bool = False


def allowed_steps(actor: Actor, post: Post) -> list[Step]:
    """The steps ``actor`` may take on ``post`` now (what the page shows as buttons)."""
    return [step for step in STEPS.values() if _refusal(step, actor, post) is None]


def _refusal(step: Step, actor: Actor, post: Post) -> Exception | None:
    if step.admins_only and not actor.is_admin:
        return PostPermissionError(f"only admins may {step.name.replace('_', ' ')} posts")
    if not step.admins_only and not can_edit(actor, post):
        return PostPermissionError(f"{actor.label} may not {step.name} post {post.id}")
    if post.status not in step.sources:
        return WorkflowError(
            f"post {post.id} is {post.status}; cannot {step.name.replace('_', ' ')} it"
        )
    return None


def take_step(
    session: Session, *, post: Post, actor: Actor, step: str, comment: str = ""
) -> StepResult:
    """Move ``post`` one step (``submit``, ``approve``, ``send_back``, ``publish``); audited.

    Sending back needs a comment saying why; other steps keep a comment if one is given.
    """
    chosen = STEPS.get(step)
    if chosen is None:
        raise WorkflowError(f"unknown step {step!r}")
    refusal = _refusal(chosen, actor, post)
    if refusal is not None:
        raise refusal
    if step == "send_back" and not comment.strip():
        raise PostInputError(["say why the post goes back (a comment is needed)"])
    before, post.status = post.status, chosen.target
    _stamp(post, step)
    if comment.strip():
        add_comment(session, post=post, actor=actor, body=comment, sent_back=step == "send_back")
    record_audit(
        session,
        actor=actor.label,
        action=f"post.{step}",
        object_type="post",
        object_id=post.id,
        details={"from": before, "to": post.status},
    )
    if step == "publish":
        return announce(session, post=post, actor=actor)
    return StepResult(post)


def _stamp(post: Post, step: str) -> None:
    now = utcnow()
    if step == "submit":
        post.submitted_at = now
    elif step == "approve":
        post.approved_at = now
    elif step == "send_back":
        post.approved_at = None
    elif step == "publish":
        post.published_at = post.published_at or now
        post.url = post.url or public_url(post)


def add_comment(
    session: Session, *, post: Post, actor: Actor, body: str, sent_back: bool = False
) -> PostComment:
    """A remark on the post by ``actor`` (anyone signed in may comment)."""
    text = body.strip()
    if not text:
        raise PostInputError(["the comment is empty"])
    comment = PostComment(post_id=post.id, author=actor.label, body=text, sent_back=sent_back)
    session.add(comment)
    session.flush()
    return comment


def comments_on(session: Session, post_id: int) -> list[PostComment]:
    """The post's comments, oldest first (a conversation)."""
    query = select(PostComment).where(PostComment.post_id == post_id).order_by(PostComment.id)
    return list(session.scalars(query))


def announce(session: Session, *, post: Post, actor: Actor) -> StepResult:
    """Draft the announcement of a just-published post for the lists following its topics.

    Only originals are announced (subscribers get a translation in their language from the
    campaign), only once, and only when ``HERALD_AUTO_ANNOUNCE`` is not ``off``.
    """
    mode = get_settings().auto_announce
    lists = following_lists(session, post.topics)
    if mode == "off" or post.translation_of_id is not None or not lists:
        return StepResult(post)
    if _already_announced(session, post.id):
        return StepResult(post)
    slugs = [item.slug for item in lists]
    campaign = create_campaign(
        session,
        kind=CampaignKind.ANNOUNCEMENT,
        list_slugs=slugs,
        post_ids=[post.id],
        subject=post.title,
        language=post.language,
    )
    send = mode == "send" and actor.is_admin
    if send:
        start_sending(session, campaign)
    details = {"campaign_id": campaign.id, "lists": slugs, "held": not send}
    record_audit(
        session,
        actor=actor.label,
        action="post.announce",
        object_type="post",
        object_id=post.id,
        details=details,
    )
    return StepResult(post, announcement=campaign, announcement_sent=send)


def following_lists(session: Session, topics: list[str]) -> list[MailingList]:
    """The lists whose topics share at least one with ``topics`` (case ignored)."""
    wanted = {topic.casefold() for topic in topics}
    if not wanted:
        return []
    lists = session.scalars(select(MailingList).order_by(MailingList.slug))
    return [item for item in lists if wanted & {topic.casefold() for topic in item.topics or []}]


def _already_announced(session: Session, post_id: int) -> bool:
    query = (
        select(Campaign.id)
        .join(CampaignPost, CampaignPost.campaign_id == Campaign.id)
        .where(CampaignPost.post_id == post_id, Campaign.kind == CampaignKind.ANNOUNCEMENT)
    )
    return session.scalar(query.limit(1)) is not None
