"""What the campaign editor pages need: the choices offered, a draft's fields, a page's facts.

Kept apart from the routes so the page and the JSON API read and change drafts the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.audience.segments import Segment, apply_segment
from publisher.campaigns.digests import digest_post_ids
from publisher.campaigns.models import Campaign, CampaignKind
from publisher.campaigns.queries import campaign_list_ids, campaign_posts
from publisher.campaigns.service import (
    REVIEWED_STATUSES,
    CampaignError,
    create_campaign,
    lists_by_slug,
    require_draft,
    set_lists,
    set_posts,
)
from publisher.posts.models import Post
from subscribers.lists import slugs_of

PICKABLE_STATUSES = REVIEWED_STATUSES


@dataclass
class DraftFields:
    """The editable fields of a draft, as a form or a JSON body gives them."""

    kind: str = CampaignKind.ANNOUNCEMENT
    list_slugs: list[str] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)
    subject: str = ""
    language: str = "en"
    track_opens: bool = True
    track_clicks: bool = True
    local_time: bool = False
    segment_id: int | None = None
    since_last_digest: bool = False


def pickable_posts(session: Session, *, limit: int = 60) -> list[Post]:
    """Posts a campaign may carry (approved or published originals), newest first."""
    return list(
        session.scalars(
            select(Post)
            .where(Post.status.in_(PICKABLE_STATUSES), Post.translation_of_id.is_(None))
            .order_by(Post.published_at.desc().nulls_last(), Post.id.desc())
            .limit(limit)
        )
    )


def all_segments(session: Session) -> list[Segment]:
    """Every segment, by name."""
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def create_draft(session: Session, fields: DraftFields, *, now: datetime) -> Campaign:
    """A new draft from the fields; a digest with no posts chosen and ``since_last_digest``
    gets the posts published since the lists' last digest."""
    post_ids = fields.post_ids
    if fields.kind == CampaignKind.DIGEST and not post_ids and fields.since_last_digest:
        post_ids = digest_post_ids(session, fields.list_slugs, now=now)
    campaign = create_campaign(
        session,
        kind=fields.kind,
        list_slugs=fields.list_slugs,
        post_ids=post_ids,
        subject=fields.subject,
        language=fields.language,
        track_opens=fields.track_opens,
        track_clicks=fields.track_clicks,
        local_time=fields.local_time,
    )
    _set_segment(session, campaign, fields.segment_id)
    return campaign


def update_draft(session: Session, campaign: Campaign, fields: DraftFields) -> None:
    """Change a draft to the fields (its kind stays)."""
    # Saves of one draft take turns (its lists and posts are replaced, not merged), and a
    # send that started meanwhile is seen.
    session.refresh(campaign, with_for_update=True)
    require_draft(campaign)
    set_lists(session, campaign, lists_by_slug(session, fields.list_slugs))
    set_posts(session, campaign, fields.post_ids)
    campaign.subject = fields.subject.strip()
    campaign.language = fields.language or "en"
    campaign.track_opens, campaign.track_clicks = fields.track_opens, fields.track_clicks
    campaign.local_time = fields.local_time
    campaign.compiled = None
    _set_segment(session, campaign, fields.segment_id)


def _set_segment(session: Session, campaign: Campaign, segment_id: int | None) -> None:
    if segment_id is None:
        campaign.segment_id = None
        session.flush()
        return
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise CampaignError(f"no segment {segment_id}")
    apply_segment(session, campaign, segment)


def ordered_choice(chosen: Sequence[tuple[int, float]]) -> list[int]:
    """Post ids in the order of their position numbers (ties keep the page's order)."""
    return [post_id for post_id, _ in sorted(chosen, key=lambda pair: pair[1])]


def list_slugs_of(session: Session, campaign: Campaign) -> list[str]:
    """The slugs of the lists the campaign goes to."""
    return slugs_of(session, campaign_list_ids(session, campaign.id))


def post_ids_of(session: Session, campaign: Campaign) -> list[int]:
    """The campaign's post ids in order."""
    return [post.id for post in campaign_posts(session, campaign.id)]
