"""/metrics: Prometheus text read from the database at scrape time, behind an optional token."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from core.database import unit_of_work
from publisher.campaigns.models import Campaign
from publisher.sending.deliveries import plan_deliveries
from publisher.stats import health
from publisher.web.app import create_app
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def campaign_id(db: str) -> int:
    """A campaign sending to three readers, with two provider calls recorded."""
    with unit_of_work() as session:
        news = add_list(session, "news")
        add_subscribers(session, news, 3)
        campaign = add_announcement(session, "news")
        plan_deliveries(session, campaign.id)
        session.execute(update(Campaign).values(status="sending"))
        health.record_call(session, health.ProviderCall("postmark", 4, 4, 120), at=T0)
        health.record_call(
            session, health.ProviderCall("postmark", 4, 0, 300, error=True, throttled=True), at=T0
        )
        return campaign.id


def test_metrics_are_read_from_the_database(
    campaign_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(create_app())
    text = client.get("/metrics").text
    assert 'herald_messages_sent_total{provider="postmark"} 4.0' in text
    assert 'herald_provider_requests_total{provider="postmark"} 2.0' in text
    assert 'herald_send_failures_total{provider="postmark"} 1.0' in text
    assert 'herald_provider_throttled_total{provider="postmark"} 1.0' in text
    assert 'herald_provider_latency_seconds_avg{provider="postmark"} 0.21' in text
    assert "herald_queue_depth 3.0" in text
    assert 'herald_campaigns{status="sending"} 1.0' in text
    assert "herald_webhook_lag_seconds" in text and "herald_send_rate_per_second" in text
    use_settings(monkeypatch, metrics_token="s3cret-token")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert allowed.status_code == 200 and "herald_queue_depth" in allowed.text
