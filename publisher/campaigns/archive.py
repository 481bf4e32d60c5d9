"""The public archive: sent campaigns of public lists, per list and language, and a feed.

Everything here is rendered for nobody in particular
(publisher.campaigns.preview.neutral_rendering): no recipient's name, no unsubscribe or
preferences token, no open pixel, original links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.settings import get_settings
from publisher.campaigns.models import Campaign, CampaignList, CampaignStatus
from publisher.campaigns.preview import Preview, neutral_rendering
from subscribers.models import MailingList

ARCHIVE_PAGE_SIZE = 100
FEED_SIZE = 20
SUMMARY_LENGTH = 400
ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One sent campaign as the archive lists it."""

    id: int
    subject: str
    sent_at: datetime
    languages: list[str]


def public_lists(session: Session) -> list[MailingList]:
    """The lists whose archive is public, by name."""
    return list(
        session.scalars(
            select(MailingList).where(MailingList.public.is_(True)).order_by(MailingList.name)
        )
    )


def _sent(list_id: int) -> Select[Campaign]:
    return (
        select(Campaign)
        .join(CampaignList, CampaignList.campaign_id == Campaign.id)
        .where(
            CampaignList.list_id == list_id,
            Campaign.status == CampaignStatus.SENT,
            Campaign.compiled.is_not(None),
        )
    )


def archive_entries(session: Session, mailing_list: MailingList) -> list[ArchiveEntry]:
    """The list's sent campaigns, newest first."""
    campaigns = session.scalars(
        _sent(mailing_list.id)
        .order_by(Campaign.finished_at.desc(), Campaign.id.desc())
        .limit(ARCHIVE_PAGE_SIZE)
    )
    return [_entry(campaign) for campaign in campaigns]


def _entry(campaign: Campaign) -> ArchiveEntry:
    assert campaign.compiled is not None
    languages = sorted(campaign.compiled["languages"])
    default = campaign.compiled["default_language"]
    subject = neutral_subject(campaign, default)
    sent_at = campaign.finished_at or campaign.started_at or campaign.created_at
    return ArchiveEntry(campaign.id, subject, sent_at, languages)


def neutral_subject(campaign: Campaign, language: str) -> str:
    """The subject of one language version (subjects hold no recipient fields)."""
    assert campaign.compiled is not None
    return archived_email(campaign, language, audience="", home_url="").subject


def archived_campaign(
    session: Session, mailing_list: MailingList, campaign_id: int
) -> Campaign | None:
    """The sent campaign of this list with this id, if any."""
    return session.scalars(_sent(mailing_list.id).where(Campaign.id == campaign_id)).first()


def archived_email(campaign: Campaign, language: str, *, audience: str, home_url: str) -> Preview:
    """A sent campaign's email in ``language`` (else its default), for nobody in particular."""
    assert campaign.compiled is not None
    return neutral_rendering(campaign.compiled, language, audience=audience, home_url=home_url)


def list_home(slug: str) -> str:
    """The absolute URL of a list's archive page."""
    return f"{get_settings().base_url.rstrip('/')}/archive/{slug}"


def atom_feed(mailing_list: MailingList, entries: list[tuple[ArchiveEntry, Preview]]) -> bytes:
    """The list's archive as an Atom 1.0 document (RFC 4287), newest entry first."""
    home = list_home(mailing_list.slug)
    feed = ElementTree.Element("feed", xmlns=ATOM)
    _child(feed, "title", f"{get_settings().organisation_name} — {mailing_list.name}")
    _child(feed, "id", home)
    _child(feed, "updated", _stamp(entries[0][0].sent_at if entries else mailing_list.created_at))
    ElementTree.SubElement(feed, "link", rel="alternate", href=home)
    ElementTree.SubElement(feed, "link", rel="self", href=f"{home}/feed.atom")
    author = ElementTree.SubElement(feed, "author")
    _child(author, "name", get_settings().organisation_name)
    for entry, email in entries:
        item = ElementTree.SubElement(feed, "entry")
        url = f"{home}/{entry.id}"
        _child(item, "title", entry.subject)
        _child(item, "id", url)
        _child(item, "updated", _stamp(entry.sent_at))
        ElementTree.SubElement(item, "link", rel="alternate", href=url)
        _child(item, "summary", email.text[:SUMMARY_LENGTH].strip())
        _child(item, "content", email.html).set("type", "html")
    document: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def _child(parent: ElementTree.Element, tag: str, text: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag)
    element.text = text
    return element


def _stamp(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
