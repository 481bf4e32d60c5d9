"""Reading campaigns: a campaign's lists and posts in order, the newest, those now sending."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.campaigns.models import Campaign, CampaignList, CampaignPost, CampaignStatus
from publisher.posts.models import Post


def campaign_list_ids(session: Session, campaign_id: int) -> tuple[int, ...]:
    """The ids of the lists the campaign goes to."""
    return tuple(
        session.scalars(
            select(CampaignList.list_id)
            .where(CampaignList.campaign_id == campaign_id)
            .order_by(CampaignList.list_id)
        )
    )


def campaign_posts(session: Session, campaign_id: int) -> list[Post]:
    """The campaign's posts in the editor's order."""
    return list(
        session.scalars(
            select(Post)
            .join(CampaignPost, CampaignPost.post_id == Post.id)
            .where(CampaignPost.campaign_id == campaign_id)
            .order_by(CampaignPost.position)
        )
    )


def recent_campaigns(session: Session, *, limit: int = 50) -> list[Campaign]:
    """The newest campaigns first."""
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit)))


def sending_campaign_ids(session: Session) -> list[int]:
    """Ids of the campaigns now sending."""
    return list(
        session.scalars(select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING))
    )
