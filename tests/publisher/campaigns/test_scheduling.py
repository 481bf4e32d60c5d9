"""Scheduling: times need a zone; local-time delivery sends each zone at its own hour.

Time is driven explicitly (``tick(now=…)``); nothing sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from core.database import unit_of_work
from publisher.campaigns import sweeps as campaign_sweeps
from publisher.campaigns.models import Campaign
from publisher.campaigns.scheduling import parse_moment, schedule_campaign, zone_distribution
from publisher.campaigns.service import CampaignError
from publisher.cli.main import app
from publisher.sending import deliveries
from publisher.sending.models import Delivery
from subscribers.models import Subscriber
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from tests.fixtures.tasks import TaskRecorder
from worker import scheduled

ZONES = ("Asia/Tokyo", "Europe/Kyiv", "America/New_York")


def test_a_time_without_zone_is_refused() -> None:
    with pytest.raises(CampaignError, match="no time zone"):
        parse_moment("2026-12-01T09:00")
    assert parse_moment("2026-12-01T09:00+02:00").utcoffset() == timedelta(hours=2)
    kyiv = parse_moment("2026-12-01T09:00", "Europe/Kyiv")
    assert kyiv.astimezone(UTC) == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    with pytest.raises(CampaignError, match="unknown time zone"):
        parse_moment("2026-12-01T09:00", "Mars/Olympus")


def test_cli_schedule_refuses_a_naive_time_and_accepts_a_zone(db: str) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 2)
        campaign_id = add_announcement(session, "news").id
    runner = CliRunner()
    refused = runner.invoke(
        app, ["campaigns", "schedule", str(campaign_id), "--at", "2030-12-01T09:00"]
    )
    assert refused.exit_code != 0
    assert "no time zone" in refused.output
    done = runner.invoke(
        app,
        [
            "campaigns",
            "schedule",
            str(campaign_id),
            "--at",
            "2030-12-01T09:00",
            "--zone",
            "Europe/Kyiv",
        ],
    )
    assert done.exit_code == 0, done.output
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.status == "scheduled"
        assert campaign.scheduled_at == datetime(2030, 12, 1, 7, 0, tzinfo=UTC)


def _people_in_zones(count_per_zone: int = 2) -> None:
    with unit_of_work() as session:
        news = add_list(session)
        for zone in ZONES:
            for person in add_subscribers(session, news, count_per_zone, prefix=zone.split("/")[1]):
                person.timezone = zone


def _sent_by_zone(campaign_id: int) -> dict[str, dict[str, int]]:
    with unit_of_work() as session:
        rows = session.execute(
            select(Subscriber.timezone, Delivery.status)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.campaign_id == campaign_id)
        ).all()
    result: dict[str, dict[str, int]] = {}
    for zone, status in rows:
        result.setdefault(zone, {}).setdefault(status, 0)
        result[zone][status] += 1
    return result


def test_local_time_delivery_sends_each_zone_at_its_own_hour(tasks: TaskRecorder) -> None:
    _people_in_zones()
    wall = datetime(2031, 3, 3, 9, 0)  # a Monday, 09:00 on every recipient's clock
    with unit_of_work() as session:
        campaign = add_announcement(session, "news", subject="Local hour")
        campaign.local_time = True
        kyiv_nine = wall.replace(tzinfo=ZoneInfo("Europe/Kyiv"))
        schedule_campaign(session, campaign, kyiv_nine, zone="Europe/Kyiv")
        campaign_id = campaign.id
        # Tokyo reaches 09:00 first: that is when the campaign starts.
        assert campaign.scheduled_at == datetime(2031, 3, 3, 0, 0, tzinfo=UTC)
        shares = {share.zone: share for share in zone_distribution(session, campaign)}
        assert shares["America/New_York"].local is not None
        assert shares["America/New_York"].local.hour == 9

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2031, 3, 3, hour, minute, tzinfo=UTC)

    scheduled.tick(now=at(0) - timedelta(minutes=1))
    tasks.run_all()
    assert _sent_by_zone(campaign_id) == {}  # not started yet

    scheduled.tick(now=at(0))  # 09:00 in Tokyo
    tasks.run_all()
    scheduled.tick(now=at(0, 1))
    tasks.run_all()
    assert _sent_by_zone(campaign_id) == {
        "Asia/Tokyo": {"sent": 2},
        "Europe/Kyiv": {"queued": 2},
        "America/New_York": {"queued": 2},
    }
    with unit_of_work() as session:
        # Rows waiting for their hour: neither finished nor stalled.
        assert session.get(Campaign, campaign_id).status == "sending"  # type: ignore[union-attr]
        far_later = at(6, 59) + timedelta(hours=1)
        assert campaign_sweeps.stalled_campaigns(session, progress_before=far_later) == []

    scheduled.tick(now=at(6, 59))  # 08:59 in Kyiv
    tasks.run_all()
    assert _sent_by_zone(campaign_id)["Europe/Kyiv"] == {"queued": 2}
    scheduled.tick(now=at(7))  # 09:00 in Kyiv
    tasks.run_all()
    assert _sent_by_zone(campaign_id)["Europe/Kyiv"] == {"sent": 2}
    assert _sent_by_zone(campaign_id)["America/New_York"] == {"queued": 2}

    scheduled.tick(now=at(14))  # 09:00 in New York (EST, UTC-5)
    tasks.run_all()
    scheduled.tick(now=at(14, 1))
    assert _sent_by_zone(campaign_id)["America/New_York"] == {"sent": 2}
    with unit_of_work() as session:
        done = session.get(Campaign, campaign_id)
        assert done is not None and done.status == "sent"
        assert deliveries.delivery_counts(session, [campaign_id])[campaign_id] == {"sent": 6}


def test_a_campaign_without_local_time_goes_to_everyone_at_once(tasks: TaskRecorder) -> None:
    _people_in_zones(1)
    with unit_of_work() as session:
        campaign = add_announcement(session, "news")
        schedule_campaign(session, campaign, datetime(2031, 3, 3, 7, 0, tzinfo=UTC), zone="UTC")
        campaign_id = campaign.id
    scheduled.tick(now=datetime(2031, 3, 3, 7, 0, tzinfo=UTC))
    tasks.run_all()
    assert _sent_by_zone(campaign_id) == {zone: {"sent": 1} for zone in ZONES}
