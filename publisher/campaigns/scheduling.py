"""Schedules: reading a time in a zone, the recipients' zones, and local-hour delivery.

A local-time campaign is given a wall time ("1 December, 09:00") and reaches each recipient
at that wall time in their own zone. It is started when the earliest of its recipients' zones
reaches that time; each delivery gets its zone's instant as ``not_before`` when planned, and
the campaign's ``released_until`` mark says up to which instant rows may be sent: the
scheduler tick moves it forward and enqueues the rows it releases. Nothing waits in the
broker for hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.database import utcnow
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.campaigns.service import STARTABLE, CampaignError
from publisher.sending.deliveries import LocalHour, recipient_zones

WALL_FORMAT = "%Y-%m-%dT%H:%M"
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or :class:`CampaignError` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CampaignError(f"unknown time zone {name!r}") from error


def _zone_or_utc(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_moment(text: str, zone: str | None = None) -> datetime:
    """An ISO 8601 time with its offset (``2026-12-01T09:00+02:00``), or a wall time read in
    ``zone``. A time with neither is refused: it would be read in some arbitrary zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise CampaignError(f"not an ISO 8601 time: {text!r}") from error
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        # Years 1 and 9999 overflow when moved between zones; no campaign goes out then.
        raise CampaignError(f"the time must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    if moment.tzinfo is not None:
        return moment
    if not zone:
        raise CampaignError(
            f"{text!r} has no time zone: give an offset (2026-12-01T09:00+02:00) or a zone"
        )
    return moment.replace(tzinfo=zone_named(zone))


def wall_time_in(wall: datetime, zone: str) -> datetime:
    """The instant (UTC) at which zone ``zone`` shows the naive wall time ``wall``."""
    return wall.replace(tzinfo=_zone_or_utc(zone)).astimezone(UTC)


def schedule_campaign(
    session: Session, campaign: Campaign, at: datetime, *, zone: str = "UTC"
) -> None:
    """Schedule the campaign for ``at`` (aware), shown in ``zone``.

    A local-time campaign keeps ``at``'s wall time in ``zone`` for every recipient and starts
    when the earliest of its recipients' zones reaches it.
    """
    if campaign.status not in STARTABLE:
        raise CampaignError(f"campaign {campaign.id} is {campaign.status}; cannot schedule it")
    if at.tzinfo is None:
        raise CampaignError("the schedule time needs a time zone")
    zone_named(zone)
    campaign.schedule_zone = zone
    campaign.status = CampaignStatus.SCHEDULED
    if not campaign.local_time:
        campaign.local_send_at = ""
        campaign.scheduled_at = at.astimezone(UTC)
        return
    wall = at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    campaign.local_send_at = wall.strftime(WALL_FORMAT)
    zones = {zone, *recipient_zones(session, campaign.id)}
    campaign.scheduled_at = min(wall_time_in(wall, name) for name in zones)


def local_hour(session: Session, campaign: Campaign) -> LocalHour | None:
    """Each recipient zone's send instant for a local-time campaign (None for the others)."""
    if not (campaign.local_time and campaign.local_send_at):
        return None
    wall = datetime.strptime(campaign.local_send_at, WALL_FORMAT)
    zones = recipient_zones(session, campaign.id)
    return LocalHour(
        by_zone={name: wall_time_in(wall, name) for name in zones},
        default=wall_time_in(wall, campaign.schedule_zone),
    )


def release_due(session: Session, *, now: datetime) -> list[tuple[int, datetime]]:
    """Move the ``released_until`` mark of sending local-time campaigns to ``now``.

    Returns (campaign id, previous mark) for each campaign moved: the rows whose
    ``not_before`` lies between the two are the ones to enqueue now. The move is conditional
    on the previous mark, so two ticks at once release each row once.
    """
    rows = session.execute(
        select(Campaign.id, Campaign.released_until).where(
            Campaign.status == CampaignStatus.SENDING,
            Campaign.local_time.is_(True),
            Campaign.released_until < now,
        )
    ).all()
    moved: list[tuple[int, datetime]] = []
    for campaign_id, before in rows:
        result = session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.released_until == before)
            .values(released_until=now, last_progress_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount and before is not None:  # type: ignore[attr-defined]
            moved.append((campaign_id, before))
    return moved


@dataclass(frozen=True, slots=True)
class ZoneShare:
    """How many of a campaign's recipients live in one zone, and what their clock shows."""

    zone: str
    recipients: int
    local: datetime | None


def zone_distribution(
    session: Session, campaign: Campaign, *, at: datetime | None = None
) -> list[ZoneShare]:
    """The recipients' zones, most populous first, each with ``at`` (or the campaign's
    schedule) on its own clock; for a local-time schedule, that is the same wall time."""
    moment = at or campaign.scheduled_at
    shares = []
    for name, count in recipient_zones(session, campaign.id).items():
        local = None
        if campaign.local_time and campaign.local_send_at:
            local = datetime.strptime(campaign.local_send_at, WALL_FORMAT).replace(
                tzinfo=_zone_or_utc(name)
            )
        elif moment is not None:
            local = moment.astimezone(_zone_or_utc(name))
        shares.append(ZoneShare(name, count, local))
    return sorted(shares, key=lambda share: (-share.recipients, share.zone))
