"""Campaign aggregates kept as events arrive: a known stream, replayed with duplicates and in
other orders, gives exactly the expected numbers, and the same as a recount from scratch."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from core.database import unit_of_work
from core.providers.events import EventType, ProviderEvent
from publisher.campaigns.models import Campaign
from publisher.sending.deliveries import plan_deliveries
from publisher.sending.models import Delivery
from publisher.stats.models import CampaignHour, CampaignLink, CampaignStats, ProviderMinute
from publisher.stats.queries import CampaignReport, campaign_reports, link_clicks, timeline
from publisher.stats.rebuild import rebuild_campaign_stats, settle_finished_campaigns
from publisher.tracking.links import record_click, record_open
from publisher.tracking.machines import Hit
from publisher.tracking.provider_events import record_events
from tests.fixtures.factories import add_announcement, add_list, add_subscribers

T0 = datetime(2026, 3, 2, 9, 10, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
LINK_A, LINK_B = "https://example.org/forum?lang=uk", "https://example.org/report/復興"


def _campaign(readers: int = 6) -> tuple[int, list[int]]:
    with unit_of_work() as session:
        news = add_list(session, "news")
        add_subscribers(session, news, readers)
        campaign = add_announcement(session, "news")
        campaign.compiled = {"links": [LINK_A, LINK_B]}
        plan_deliveries(session, campaign.id)
        ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
        return campaign.id, ids


def _event(
    event_id: str, kind: EventType, delivery_id: int, hours: float, **fields: Any
) -> ProviderEvent:
    at = T0 + timedelta(hours=hours)
    return ProviderEvent(event_id, kind, delivery_id, f"r{delivery_id}@example.com", at, **fields)


def _stream(d: list[int]) -> list[ProviderEvent]:
    """Six deliveries, each ending in a different place."""
    return [
        _event("d0-open", "opened", d[0], 2),  # before its "delivered": arrives out of order
        _event("d0-delivered", "delivered", d[0], 0),
        _event("d0-click-1", "clicked", d[0], 2.5, details={"url": LINK_A}),
        _event("d0-click-2", "clicked", d[0], 3, details={"url": LINK_A}),
        _event("d1-delivered", "delivered", d[1], 0),
        _event("d1-proxy-open", "opened", d[1], 0, machine=True),
        _event("d2-soft", "bounced", d[2], 0, bounce="soft"),
        _event("d2-hard", "bounced", d[2], 1, bounce="hard"),
        _event("d3-soft", "bounced", d[3], 0, bounce="soft"),
        _event("d3-late-delivered", "delivered", d[3], 0),  # never undoes the bounce
        _event("d4-delivered", "delivered", d[4], 0),
        _event("d4-click", "clicked", d[4], 1, details={"url": LINK_B}),
        _event("d4-complaint", "complained", d[4], 4),
        _event("d5-deferred", "deferred", d[5], 0),
    ]


EXPECTED = {
    "delivered": 3,
    "deferred": 1,
    "bounced": 2,
    "bounced_hard": 1,
    "bounced_soft": 1,
    "complained": 1,
    "failed": 0,
    "opened": 1,
    "opens": 1,
    "machine_opens": 1,
    "clicked": 2,
    "clicks": 3,
    "machine_clicks": 0,
    "unsubscribed": 0,
}


def _ingest(events: list[ProviderEvent], *, per_batch: int) -> None:
    for start in range(0, len(events), per_batch):
        with unit_of_work() as session:
            record_events(session, "postmark", events[start : start + per_batch])


def _report(campaign_id: int) -> CampaignReport:
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        (report,) = campaign_reports(session, [campaign])
        return report


def _aggregates(campaign_id: int) -> tuple[dict[str, Any], set[tuple[Any, ...]], set[Any]]:
    with unit_of_work() as session:
        stats = session.get(CampaignStats, campaign_id)
        assert stats is not None
        counters = {k: v for k, v in vars(stats).items() if not k.startswith("_")}
        hours = set(
            session.execute(
                select(CampaignHour.hour, CampaignHour.kind, CampaignHour.count).where(
                    CampaignHour.campaign_id == campaign_id, CampaignHour.count != 0
                )
            )
        )
        links = set(
            session.execute(
                select(CampaignLink.url, CampaignLink.clicks, CampaignLink.machine_clicks).where(
                    CampaignLink.campaign_id == campaign_id
                )
            )
        )
        return counters, hours, links


def _assert_same_as_rebuild(campaign_id: int) -> None:
    incremental = _aggregates(campaign_id)
    with unit_of_work() as session:
        rebuild_campaign_stats(session, campaign_id)
    assert _aggregates(campaign_id) == incremental


def _numbers(report: CampaignReport) -> dict[str, int]:
    return {name: getattr(report, name) for name in EXPECTED}


@pytest.mark.parametrize("order", ["as sent", "reversed", "shuffled with duplicates"])
def test_a_known_stream_gives_every_number_whatever_the_order(db: str, order: str) -> None:
    campaign_id, d = _campaign()
    events = _stream(d)
    if order == "reversed":
        events.reverse()
    elif order == "shuffled with duplicates":
        events = events + events[::2] + events[:3]
        random.Random(7).shuffle(events)
    _ingest(events, per_batch=4)
    _ingest(_stream(d), per_batch=50)  # the provider replays everything: nothing changes

    report = _report(campaign_id)
    assert _numbers(report) == EXPECTED
    assert report.rates["opened"] == round(1 / 3, 4)
    assert report.rates["complained"] == round(1 / 3, 4)
    with unit_of_work() as session:
        links = link_clicks(session, campaign_id)
        points = timeline(session, campaign_id)
        deferrals = session.scalar(select(ProviderMinute.deferrals))
    assert [(x.url, x.clicks) for x in links] == [(LINK_A, 2), (LINK_B, 1)]
    assert deferrals == 1
    assert points[0].hour == T0.replace(minute=0)
    assert points[0].counts == {"delivered": 4, "machine_opened": 1, "bounced": 2, "deferred": 1}
    assert points[2].counts == {"opened": 1, "clicked": 1}
    assert points[4].counts == {"complained": 1}
    _assert_same_as_rebuild(campaign_id)


def test_events_for_deliveries_not_sent_yet_count_and_sending_counts_settle(db: str) -> None:
    campaign_id, d = _campaign(readers=3)
    _ingest([_event("early", "delivered", d[0], 0)], per_batch=10)
    with unit_of_work() as session:
        session.execute(update(Delivery).values(status="sent", sent_at=T0))
        session.execute(update(Campaign).values(status="sent", finished_at=T0))
    assert (_report(campaign_id).delivered, _report(campaign_id).sent) == (1, 3)  # live
    with unit_of_work() as session:
        assert settle_finished_campaigns(session) == [campaign_id]
        assert settle_finished_campaigns(session) == []
    report = _report(campaign_id)
    assert (report.recipients, report.sent, report.delivered) == (3, 3, 1)
    assert report.rates["delivered"] == round(1 / 3, 4)


def test_our_own_opens_and_clicks_count_once_and_a_scanner_burst_is_taken_back(db: str) -> None:
    campaign_id, d = _campaign(readers=2)
    with unit_of_work() as session:
        session.execute(update(Delivery).values(status="sent", sent_at=T0 - timedelta(hours=1)))
    person = Hit(T0, user_agent=BROWSER)
    with unit_of_work() as session:
        assert record_open(session, d[0], person)
    with unit_of_work() as session:
        assert record_open(session, d[0], person)  # the same minute: the same event
        record_open(session, d[0], Hit(T0 + timedelta(minutes=5), user_agent=BROWSER))
        record_open(session, d[1], Hit(T0, user_agent="Mozilla/5.0"))  # Apple's proxy
    with unit_of_work() as session:
        assert record_click(session, d[0], 0, person) == LINK_A
    # A scanner follows both links of the other message within a second.
    with unit_of_work() as session:
        record_click(session, d[1], 0, Hit(T0, user_agent=BROWSER))
    with unit_of_work() as session:
        record_click(session, d[1], 1, Hit(T0 + timedelta(seconds=1), user_agent=BROWSER))

    report = _report(campaign_id)
    assert (report.opened, report.opens, report.machine_opens) == (1, 2, 1)
    assert (report.clicked, report.clicks, report.machine_clicks) == (1, 1, 2)
    with unit_of_work() as session:
        links = {x.url: (x.clicks, x.machine_clicks) for x in link_clicks(session, campaign_id)}
    assert links == {LINK_A: (1, 1), LINK_B: (0, 1)}
    _assert_same_as_rebuild(campaign_id)


def test_warnings_when_complaints_or_bounces_pass_the_line(db: str) -> None:
    campaign_id, d = _campaign(readers=6)
    events = [_event(f"ok{i}", "delivered", i, 0) for i in d[:5]]
    events += [_event("c", "complained", d[0], 1), _event("b", "bounced", d[5], 0, bounce="hard")]
    _ingest(events, per_batch=10)
    with unit_of_work() as session:
        session.execute(update(Delivery).values(status="sent", sent_at=T0))
    warnings = _report(campaign_id).warnings
    assert len(warnings) == 2
    assert "Complaint rate 20.00% is above 0.1%" in warnings[0]
    assert "Bounce rate 16.67% is above 2%" in warnings[1]
