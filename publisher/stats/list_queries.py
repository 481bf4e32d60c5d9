"""A list's statistics: its days (size and movements) and its engagement over recent campaigns."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.database import utcnow
from publisher.campaigns.models import Campaign, CampaignList, CampaignStatus
from publisher.stats.models import ListDay
from publisher.stats.queries import CampaignReport, campaign_reports
from publisher.stats.rebuild import FINISHED
from subscribers.models import MailingList


class ListDayView(BaseModel):
    """One day of a list."""

    day: date
    size: int | None
    subscribed: int
    confirmed: int
    unsubscribed: int
    bounced: int
    complained: int
    erased: int


class ListReport(BaseModel):
    """A list's recent days and the campaigns last sent to it."""

    id: int
    slug: str
    name: str
    size: int | None
    days: list[ListDayView]
    campaigns: list[CampaignReport]


def list_report(
    session: Session, mailing_list: MailingList, *, days: int = 30, campaigns: int = 10
) -> ListReport:
    """The list's last ``days`` days (one row each, zeros kept) and its recent campaigns."""
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    stored = {
        row.day: row
        for row in session.scalars(
            select(ListDay).where(ListDay.list_id == mailing_list.id, ListDay.day >= first)
        )
    }
    views = [_day(first + timedelta(days=n), stored) for n in range(days)]
    sizes = [view.size for view in views if view.size is not None]
    return ListReport(
        id=mailing_list.id,
        slug=mailing_list.slug,
        name=mailing_list.name,
        size=sizes[-1] if sizes else None,
        days=views,
        campaigns=campaign_reports(session, _recent(session, mailing_list.id, campaigns)),
    )


def _day(day: date, stored: dict[date, ListDay]) -> ListDayView:
    row = stored.get(day)
    if row is None:
        return ListDayView(
            day=day,
            size=None,
            subscribed=0,
            confirmed=0,
            unsubscribed=0,
            bounced=0,
            complained=0,
            erased=0,
        )
    return ListDayView(
        day=day,
        size=row.size,
        subscribed=row.subscribed,
        confirmed=row.confirmed,
        unsubscribed=row.unsubscribed,
        bounced=row.bounced,
        complained=row.complained,
        erased=row.erased,
    )


def _recent(session: Session, list_id: int, limit: int) -> list[Campaign]:
    return list(
        session.scalars(
            select(Campaign)
            .join(CampaignList, CampaignList.campaign_id == Campaign.id)
            .where(
                CampaignList.list_id == list_id,
                Campaign.status.in_((CampaignStatus.SENDING, *FINISHED)),
            )
            .order_by(Campaign.id.desc())
            .limit(limit)
        )
    )
