"""Campaigns: creating announcements and digests, starting and scheduling them, their life cycle.

Status moves draft → scheduled → sending → sent (or paused, cancelled, failed). Starting a
campaign only flips its status and enqueues planning after the commit; the worker does the rest.

Control (pause, resume, cancel) is a status change in the database and nothing else: every
worker checks that a campaign is ``sending`` before it claims a batch, so batch tasks still
in the broker become no-ops, while batches already in flight finish and are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from core.activity import ActivityKind, record_activity
from core.celery_app import enqueue_after_commit
from core.database import utcnow
from core.tasks import TaskName
from publisher.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignList,
    CampaignPost,
    CampaignStatus,
)
from publisher.posts.models import Post, PostStatus
from publisher.sending.deliveries import OPEN_STATUSES
from publisher.sending.models import Delivery, DeliveryStatus
from subscribers.models import MailingList

STARTABLE = ("draft", "scheduled")
CONTROL_FROM = {
    "pause": (CampaignStatus.SENDING,),
    "resume": (CampaignStatus.PAUSED,),
    "cancel": (*STARTABLE, CampaignStatus.SENDING, CampaignStatus.PAUSED),
}
"""The statuses from which each control action is allowed."""
REVIEWED_STATUSES = (PostStatus.APPROVED, PostStatus.PUBLISHED)
"""Only posts in these statuses may leave in a campaign (review cannot be bypassed)."""
_UNREVIEWED = {"draft": "a draft", "in_review": "in review"}
CONTROL_TO = {
    "pause": CampaignStatus.PAUSED,
    "resume": CampaignStatus.SENDING,
    "cancel": CampaignStatus.CANCELLED,
}
CONTROL_DONE = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}


class CampaignError(Exception):
    """A campaign request that cannot be carried out (unknown id, wrong status, no posts)."""


class CampaignNotFound(CampaignError, LookupError):
    """No campaign has this id."""


class CampaignStateError(CampaignError, ValueError):
    """The campaign's status does not allow what was asked (pausing a sent campaign…)."""


def create_campaign(
    session: Session,
    *,
    kind: str,
    list_slugs: Sequence[str],
    post_ids: Sequence[int],
    subject: str = "",
    language: str = "en",
    track_opens: bool = True,
    track_clicks: bool = True,
    local_time: bool = False,
) -> Campaign:
    """A draft announcement (exactly one post) or digest (its posts, in order; a draft digest
    may start empty, but the checks refuse to send it so).

    With ``track_opens`` / ``track_clicks`` off its emails carry no pixel / no rewritten link;
    with ``local_time`` a scheduled send reaches each recipient at the same local hour.
    """
    if kind not in (CampaignKind.ANNOUNCEMENT, CampaignKind.DIGEST):
        raise CampaignError(f"unknown campaign kind {kind!r}")
    lists = _lists_by_slug(session, list_slugs)
    campaign = Campaign(
        kind=kind,
        template=kind,
        subject=subject,
        language=language,
        track_opens=track_opens,
        track_clicks=track_clicks,
        local_time=local_time,
    )
    session.add(campaign)
    session.flush()
    set_lists(session, campaign, lists)
    set_posts(session, campaign, post_ids)
    return campaign


def set_lists(session: Session, campaign: Campaign, lists: Sequence[MailingList]) -> None:
    """Send the campaign to exactly these lists."""
    session.execute(delete(CampaignList).where(CampaignList.campaign_id == campaign.id))
    session.add_all(CampaignList(campaign_id=campaign.id, list_id=item.id) for item in lists)
    session.flush()


def set_posts(session: Session, campaign: Campaign, post_ids: Sequence[int]) -> None:
    """Carry exactly these posts, in this order (an announcement: exactly one)."""
    if campaign.kind == CampaignKind.ANNOUNCEMENT and len(post_ids) != 1:
        raise CampaignError("an announcement carries exactly one post")
    if len(set(post_ids)) != len(post_ids):
        raise CampaignError("a post appears twice")
    _check_posts_exist(session, post_ids)
    problem = review_problem(session, post_ids)
    if problem:
        raise CampaignError(problem)
    session.execute(delete(CampaignPost).where(CampaignPost.campaign_id == campaign.id))
    session.add_all(
        CampaignPost(campaign_id=campaign.id, post_id=post_id, position=position)
        for position, post_id in enumerate(post_ids)
    )
    session.flush()


def lists_by_slug(session: Session, slugs: Sequence[str]) -> list[MailingList]:
    """The lists with these slugs, or :class:`CampaignError` naming the unknown ones."""
    return _lists_by_slug(session, slugs)


def require_draft(campaign: Campaign) -> None:
    """Only a draft can be edited."""
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignStateError(
            f"campaign {campaign.id} is {campaign.status}; only a draft can be edited"
        )


def _lists_by_slug(session: Session, slugs: Sequence[str]) -> list[MailingList]:
    if not slugs:
        raise CampaignError("a campaign needs at least one list")
    lists = list(session.scalars(select(MailingList).where(MailingList.slug.in_(slugs))))
    missing = set(slugs) - {item.slug for item in lists}
    if missing:
        raise CampaignError(f"unknown list(s): {', '.join(sorted(missing))}")
    return lists


def _check_posts_exist(session: Session, post_ids: Sequence[int]) -> None:
    found = set(session.scalars(select(Post.id).where(Post.id.in_(post_ids))))
    missing = [str(post_id) for post_id in post_ids if post_id not in found]
    if missing:
        raise CampaignError(f"unknown post(s): {', '.join(missing)}")


def review_problem(session: Session, post_ids: Sequence[int]) -> str:
    """Why these posts may not go out yet (some are not approved or published), or ""."""
    pending = session.execute(
        select(Post.id, Post.title, Post.status)
        .where(Post.id.in_(post_ids), Post.status.not_in(REVIEWED_STATUSES))
        .order_by(Post.id)
    ).all()
    if not pending:
        return ""
    named = "; ".join(
        f"post #{id_} “{title}” is {_UNREVIEWED.get(status, status)}"
        for id_, title, status in pending
    )
    which = "it" if len(pending) == 1 else "them"
    return f"Only reviewed posts go out: {named}. Approve or publish {which} first."


def campaign_review_problem(session: Session, campaign_id: int) -> str:
    """Why the campaign's posts may not go out now (one was sent back to review), or ""."""
    post_ids = session.scalars(
        select(CampaignPost.post_id).where(CampaignPost.campaign_id == campaign_id)
    ).all()
    return review_problem(session, post_ids)


def hold_for_review(session: Session, campaign_id: int, reason: str) -> bool:
    """Pause a sending campaign whose posts are no longer reviewed, with ``reason`` as its
    error for the admin; resuming it after approval plans it again."""
    return pause_for_failures(session, campaign_id, reason)


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """The campaign with this id, or :class:`CampaignError`."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return campaign


def start_sending(session: Session, campaign: Campaign) -> None:
    """Move the campaign to ``sending`` now and have a worker plan it after the commit."""
    if campaign.status not in STARTABLE:
        raise CampaignError(f"campaign {campaign.id} is {campaign.status}; cannot send it")
    now = utcnow()
    campaign.status = CampaignStatus.SENDING
    campaign.started_at = now
    campaign.plan_requested_at = now
    record_activity(session, "campaign.started", campaign_id=campaign.id)
    enqueue_after_commit(session, TaskName.PLAN, campaign.id)


def schedule(session: Session, campaign: Campaign, at: datetime) -> None:
    """Schedule the campaign; the scheduler tick starts it when due.

    (Local-hour schedules go through :func:`publisher.campaigns.scheduling.schedule_campaign`.)
    """
    if campaign.status not in STARTABLE:
        raise CampaignError(f"campaign {campaign.id} is {campaign.status}; cannot schedule it")
    if at.tzinfo is None:
        raise CampaignError("the schedule time needs a time zone")
    campaign.status = CampaignStatus.SCHEDULED
    campaign.scheduled_at = at


def start_due_campaigns(session: Session, *, now: datetime) -> list[int]:
    """Start every scheduled campaign whose time has come (rows locked, others skipped)."""
    due = session.scalars(
        select(Campaign)
        .where(Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for campaign in due:
        start_sending(session, campaign)
    return [campaign.id for campaign in due]


def finish_if_done(session: Session, campaign_id: int) -> bool:
    """Mark a planned campaign ``sent`` once none of its deliveries is queued or sending."""
    open_rows = exists().where(
        Delivery.campaign_id == campaign_id, Delivery.status.in_(OPEN_STATUSES)
    )
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING)
        .where(Campaign.planned_at.is_not(None), ~open_rows)
        .values(status=CampaignStatus.SENT, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    finished = bool(result.rowcount)  # type: ignore[attr-defined]
    if finished:
        record_activity(session, ActivityKind.CAMPAIGN_SENT, campaign_id=campaign_id)
    return finished


def allowed_controls(status: str) -> list[str]:
    """The control actions (pause, resume, cancel) a campaign in ``status`` allows."""
    return [action for action, allowed in CONTROL_FROM.items() if status in allowed]


class CampaignAction(StrEnum):
    """What an admin can do to a campaign in flight."""

    pause = "pause"
    resume = "resume"
    cancel = "cancel"


def control_campaign(session: Session, campaign_id: int, action: CampaignAction) -> Campaign:
    """Pause, resume or cancel a campaign: the one way in for the page, the API and the CLI."""
    controls = {
        CampaignAction.pause: pause_campaign,
        CampaignAction.resume: resume_campaign,
        CampaignAction.cancel: cancel_campaign,
    }
    return controls[action](session, campaign_id)


def pause_campaign(session: Session, campaign_id: int) -> Campaign:
    """Stop a sending campaign from claiming more batches; batches in flight finish."""
    return _control(session, campaign_id, "pause")


def resume_campaign(session: Session, campaign_id: int) -> Campaign:
    """Send a paused campaign again: clear its error and enqueue its queued rows after commit."""
    campaign = _control(
        session, campaign_id, "resume", error="", consecutive_failures=0, last_progress_at=utcnow()
    )
    if campaign.planned_at is None:
        # Paused before planning ran: planning is idempotent and enqueues the batches itself.
        campaign.plan_requested_at = utcnow()
        enqueue_after_commit(session, TaskName.PLAN, campaign_id)
    else:
        enqueue_after_commit(session, TaskName.ENQUEUE, campaign_id)
    return campaign


def cancel_campaign(session: Session, campaign_id: int) -> Campaign:
    """End a campaign for good: its queued deliveries are cancelled, those in flight finish."""
    campaign = _control(session, campaign_id, "cancel", finished_at=utcnow())
    session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.CANCELLED, error="campaign cancelled")
        .execution_options(synchronize_session=False)
    )
    return campaign


def pause_for_failures(session: Session, campaign_id: int, reason: str) -> bool:
    """Pause a sending campaign whose batches keep failing, with ``reason`` as its error.

    Does nothing (and returns False) when the campaign is not sending any more.
    """
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING)
        .values(status=CampaignStatus.PAUSED, error=reason)
        .execution_options(synchronize_session=False)
    )
    paused = bool(result.rowcount)  # type: ignore[attr-defined]
    if paused:
        record_activity(
            session, ActivityKind.CAMPAIGN_PAUSED, campaign_id=campaign_id, data={"error": reason}
        )
    return paused


def _control(session: Session, campaign_id: int, action: str, **values: Any) -> Campaign:
    """Move the campaign to the action's status in one conditional UPDATE, or refuse.

    The condition on the current status makes the change atomic on every database: a worker
    finishing the campaign at the same moment cannot be overwritten, only refused.
    """
    allowed = CONTROL_FROM[action]
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(allowed))
        .values(status=CONTROL_TO[action], **values)
        .execution_options(synchronize_session=False)
    )
    campaign = session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise CampaignNotFound(f"no campaign {campaign_id}")
    if not result.rowcount:  # type: ignore[attr-defined]
        raise CampaignStateError(
            f"campaign {campaign_id} is {campaign.status}; only a {_either(allowed)} "
            f"campaign can be {CONTROL_DONE[action]}"
        )
    if action in ("pause", "cancel"):
        record_activity(session, f"campaign.{CONTROL_DONE[action]}", campaign_id=campaign_id)
    return campaign


def _either(words: Sequence[str]) -> str:
    return " or ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} or {words[-1]}"
