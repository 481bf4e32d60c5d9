"""Prometheus metrics for operators at /metrics, read at scrape time from cheap queries.

A custom collector asks the database on each scrape (never a counter kept in one process's
memory, which would miss the workers): provider totals from their running-totals rows,
queue depth from the index of queued deliveries of sending campaigns, the send rate from the
last minutes' rows, and how far the followers of the activity log (statistics, outgoing
webhooks) lag. ``HERALD_METRICS_TOKEN``, when set, must come as ``Authorization: Bearer``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy.orm import Session

from core.database import unit_of_work, utcnow
from core.settings import get_settings
from publisher.stats import health, lists
from publisher.stats import metrics as figures
from publisher.webhooks import outgoing as webhooks

router = APIRouter()
PROVIDER_COUNTERS = (
    ("requests", "herald_provider_requests", "Batch calls to the provider"),
    ("accepted", "herald_messages_sent", "Messages the provider accepted"),
    ("errors", "herald_send_failures", "Batch calls that failed as a whole"),
    ("throttled", "herald_provider_throttled", "Batch calls answered 429"),
    ("deferrals", "herald_deferrals", "Deferred events reported"),
)


class HeraldCollector(Collector):
    """Every Herald metric, computed from the database when scraped."""

    def collect(self) -> Iterator[Metric]:
        """One scrape: a unit of work of a few indexed queries."""
        with unit_of_work() as session:
            yield from _provider_metrics(session)
            yield from _queue_metrics(session)
            yield from _lag_metrics(session)


def _provider_metrics(session: Session) -> Iterator[Metric]:
    families = {
        name: CounterMetricFamily(metric, help_text, labels=["provider"])
        for name, metric, help_text in PROVIDER_COUNTERS
    }
    latency = GaugeMetricFamily(
        "herald_provider_latency_seconds_avg",
        "Mean batch call latency, all time",
        labels=["provider"],
    )
    for row in health.provider_totals(session):
        for name, family in families.items():
            family.add_metric([row.provider], getattr(row, name))
        latency.add_metric(
            [row.provider], row.latency_ms_sum / row.requests / 1000 if row.requests else 0
        )
    yield from families.values()
    yield latency
    rate = GaugeMetricFamily(
        "herald_send_rate_per_second", "Messages accepted per second, last minutes"
    )
    rate.add_metric([], health.recent_accepted(session, seconds=120) / 180)
    yield rate


def _queue_metrics(session: Session) -> Iterator[Metric]:
    queue = GaugeMetricFamily("herald_queue_depth", "Deliveries queued in sending campaigns")
    queue.add_metric([], figures.queue_depth(session))
    yield queue
    campaigns = GaugeMetricFamily("herald_campaigns", "Campaigns per status", labels=["status"])
    for campaign_status, count in figures.campaigns_by_status(session).items():
        campaigns.add_metric([campaign_status], count)
    yield campaigns


def _lag_metrics(session: Session) -> Iterator[Metric]:
    ingest = GaugeMetricFamily(
        "herald_webhook_lag_seconds", "Delay from an event to its provider webhook (latest event)"
    )
    ingest.add_metric([], figures.latest_event_delay(session))
    yield ingest
    oldest = figures.oldest_pending_webhook(session)
    outgoing = GaugeMetricFamily(
        "herald_outgoing_webhook_lag_seconds", "Age of the oldest outgoing webhook not delivered"
    )
    outgoing.add_metric([], figures.seconds_between(utcnow(), oldest) if oldest else 0)
    yield outgoing
    backlog = GaugeMetricFamily(
        "herald_activity_backlog", "Activity rows a follower has not applied", labels=["follower"]
    )
    for name, behind in figures.activity_backlog(session, (lists.CURSOR, webhooks.CURSOR)).items():
        backlog.add_metric([name], behind)
    yield backlog


registry = CollectorRegistry(auto_describe=False)
registry.register(HeraldCollector())


@router.get("/metrics", tags=["operations"], include_in_schema=False)
def metrics(request: Request) -> Response:
    """The metrics in Prometheus' text format (a bearer token when one is configured)."""
    token = get_settings().metrics_token.get_secret_value()
    if token:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(sent.strip(), token):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="metrics token required")
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
