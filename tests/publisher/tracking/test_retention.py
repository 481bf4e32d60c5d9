"""Retention of delivery events: the hourly prune deletes old events in bounded batches and
keeps young ones and hard bounces, and a sent campaign's figures are the same after (SQLite
and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg import sql
from sqlalchemy import event, func, select, text, update

from core.database import get_engine, unit_of_work, utcnow
from core.providers.events import EventType, ProviderEvent
from core.retention import cutoff
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.sending.deliveries import plan_deliveries
from publisher.sending.models import Delivery
from publisher.stats.aggregates import delivery_states
from publisher.stats.models import CampaignHour, CampaignLink
from publisher.stats.queries import campaign_reports, link_clicks, timeline
from publisher.stats.rebuild import (
    RebuildRefused,
    rebuild_campaign_stats,
    settle_finished_campaigns,
)
from publisher.tracking.models import DeliveryEvent
from publisher.tracking.provider_events import record_events
from publisher.tracking.retention import prune_events
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from worker import scheduled

LONG_AGO = utcnow() - timedelta(days=500)
LINK = "https://example.org/report/復興"


def _sent_campaign(readers: int = 4) -> tuple[int, list[int]]:
    with unit_of_work() as session:
        news = add_list(session, "news")
        add_subscribers(session, news, readers)
        campaign = add_announcement(session, "news")
        campaign.compiled = {"links": [LINK]}
        plan_deliveries(session, campaign.id)
        ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
        return campaign.id, ids


def _events(d: list[int], at: datetime) -> list[ProviderEvent]:
    def one(key: str, kind: EventType, delivery: int, **fields: Any) -> ProviderEvent:
        return ProviderEvent(key, kind, delivery, f"r{delivery}@example.com", at, **fields)

    return [
        one("d0-delivered", EventType.DELIVERED, d[0]),
        one("d0-open", EventType.OPENED, d[0]),
        one("d0-click", EventType.CLICKED, d[0], details={"url": LINK}),
        one("d1-soft", EventType.BOUNCED, d[1], bounce="soft"),
        one("d1-hard", EventType.BOUNCED, d[1], bounce="hard"),
        one("d2-delivered", EventType.DELIVERED, d[2]),
        one("d2-proxy-open", EventType.OPENED, d[2], machine=True),
        one("d3-deferred", EventType.DEFERRED, d[3]),
    ]


def _received(at: datetime) -> None:
    with unit_of_work() as session:
        session.execute(update(DeliveryEvent).values(received_at=at))


def _figures(campaign_id: int) -> tuple[Any, ...]:
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        (report,) = campaign_reports(session, [campaign])
        hours = timeline(session, campaign_id)
        links = link_clicks(session, campaign_id, limit=10)
        rows = session.scalar(select(func.count()).select_from(CampaignHour))
        link_rows = session.scalar(select(func.count()).select_from(CampaignLink))
        return report, hours, links, rows, link_rows


def _event_ids() -> set[str]:
    with unit_of_work() as session:
        return set(session.scalars(select(DeliveryEvent.event_id)))


def test_pruning_old_events_keeps_a_sent_campaigns_figures(db: str) -> None:
    campaign_id, d = _sent_campaign()
    with unit_of_work() as session:
        record_events(session, "postmark", _events(d, LONG_AGO))
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(status=CampaignStatus.SENT, started_at=LONG_AGO, finished_at=LONG_AGO)
        )
    with unit_of_work() as session:
        settle_finished_campaigns(session)
    _received(LONG_AGO)
    before = _figures(campaign_id)
    assert before[0].delivered == 2 and before[0].bounced_hard == 1 and before[0].clicks == 1

    pruned = scheduled.prune_retained(now=utcnow())

    assert pruned["events"] == 7
    assert _event_ids() == {"d1-hard"}  # why the address is dead stays
    assert _figures(campaign_id) == before
    with unit_of_work() as session:
        # Later events read a bounced delivery's hardness from its events: still hard.
        assert delivery_states(session, [d[1]])[d[1]].bucket == "bounced_hard"
        with pytest.raises(RebuildRefused, match="retention"):
            rebuild_campaign_stats(session, campaign_id)


def test_young_events_stay_and_zero_keeps_them_forever(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, d = _sent_campaign()
    with unit_of_work() as session:
        record_events(session, "postmark", _events(d, utcnow()))
    young = utcnow() - timedelta(days=399)
    _received(young)
    with unit_of_work() as session:  # one old event among the young
        session.execute(
            update(DeliveryEvent)
            .where(DeliveryEvent.event_id == "d0-open")
            .values(received_at=LONG_AGO)
        )
    use_settings(monkeypatch, retention_events_days="0")
    assert scheduled.prune_retained(now=utcnow())["events"] == 0
    assert len(_event_ids()) == 8
    use_settings(monkeypatch, retention_events_days="400")
    assert scheduled.prune_retained(now=utcnow())["events"] == 1
    assert "d0-open" not in _event_ids() and len(_event_ids()) == 7


@pytest.fixture
def deletes() -> Iterator[list[int]]:
    """The row count of every DELETE on delivery_events the engine runs, in order."""
    counts: list[int] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM DELIVERY_EVENTS"):
            counts.append(cursor.rowcount)

    engine = get_engine()
    event.listen(engine, "after_cursor_execute", seen)
    yield counts
    event.remove(engine, "after_cursor_execute", seen)


def test_a_run_deletes_at_most_a_batch_per_statement(db: str, deletes: list[int]) -> None:
    _, d = _sent_campaign()
    with unit_of_work() as session:
        record_events(session, "postmark", _events(d, LONG_AGO))
    _received(LONG_AGO)
    pruned = scheduled.prune_retained(now=utcnow(), batch=3)
    assert pruned["events"] == 7
    assert deletes == [3, 3, 1]  # each batch its own statement (and unit of work)


def test_the_prune_finds_old_events_through_its_index(pg_db: str) -> None:
    before = cutoff(400)
    assert before is not None
    with unit_of_work() as session:
        # An empty table is cheapest to scan: forbid that, so the plan shows whether the index
        # can serve the prune's condition. The generic plan is the one a prepared statement
        # gets after a few runs of an hourly loop; bound values would hide from it that the
        # partial index fits.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        plan = _explain(session, before)
    assert "ix_delivery_events_prunable" in plan, plan


def _explain(session: Any, before: datetime) -> str:
    # EXPLAIN of the very statement the prune runs, caught on its way to the database and
    # prepared with its parameters left as parameters.
    plans: list[str] = []
    connection = session.connection()

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if not statement.lstrip().upper().startswith("DELETE FROM DELIVERY_EVENTS"):
            return
        names = re.findall(r"%\((\w+)\)s", statement)
        numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", statement)
        cursor.execute(f"PREPARE prune_plan AS {numbered}")
        values = sql.SQL(", ").join(sql.Literal(parameters[name]) for name in names)
        cursor.execute(sql.SQL("EXPLAIN EXECUTE prune_plan({})").format(values))
        plans.extend(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE prune_plan")

    event.listen(connection, "before_cursor_execute", explain)
    try:
        prune_events(session, before=before.astimezone(UTC))
    finally:
        event.remove(connection, "before_cursor_execute", explain)
    return "\n".join(plans)
