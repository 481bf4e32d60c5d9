"""``POST /webhooks/{provider}``: verified events are stored, forged requests change nothing.

Through the web app, forged requests change nothing anywhere; and end to end, a campaign sent
through the Postmark adapter to the sandbox comes back as the sandbox's delivery and bounce
webhooks, posted to the real app served over HTTP.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.database import unit_of_work
from core.providers.postmark import PostmarkProvider
from publisher.campaigns.service import start_sending
from publisher.sending.deliveries import plan_deliveries
from publisher.sending.models import Delivery
from publisher.tracking.models import DeliveryEvent
from publisher.web.app import create_app
from publisher.web.public.provider_webhooks import MAX_BODY_BYTES
from sandbox import SANDBOX_TOKEN, run_sandbox_in_thread, serve_in_thread
from subscribers.models import Subscription, Suppression
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from tests.fixtures.processes import wait_until
from tests.fixtures.providers import (
    PASSWORD,
    PM_BOUNCE,
    RESEND_SECRET,
    RS_BOUNCE,
    USER,
    basic,
    resend_event,
    svix_headers,
)
from worker import planning, sending

# --- the route ---------------------------------------------------------------------------


@pytest.fixture
def client(db: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The web app with Postmark credentials and a Resend secret configured."""
    use_settings(
        monkeypatch,
        database_url=db,
        postmark_webhook_user=USER,
        postmark_webhook_password=PASSWORD,
        resend_webhook_secret=RESEND_SECRET,
    )
    return TestClient(create_app())


@pytest.fixture
def delivery_id(db: str) -> int:
    """A queued delivery of a campaign to one subscriber on one list."""
    with unit_of_work() as session:
        add_subscribers(session, add_list(session, "news"), 1, prefix="john")
        campaign = add_announcement(session, "news")
        plan_deliveries(session, campaign.id)
        return int(session.scalars(select(Delivery.id)).one())


def snapshot() -> tuple[Any, ...]:
    """Everything a webhook may change: events, suppressions, deliveries, subscriptions."""
    with unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(DeliveryEvent)),
            session.scalar(select(func.count()).select_from(Suppression)),
            session.execute(select(Delivery.id, Delivery.outcome, Delivery.opened_at)).all(),
            session.execute(select(Subscription.subscriber_id, Subscription.status)).all(),
        )


def bounce_for(delivery_id: int) -> bytes:
    metadata = {"delivery_id": str(delivery_id)}
    return orjson.dumps({**PM_BOUNCE, "Email": "john0@example.com", "Metadata": metadata})


def test_a_verified_postmark_bounce_is_stored_and_suppresses(
    client: TestClient, delivery_id: int
) -> None:
    body = bounce_for(delivery_id)
    response = client.post("/webhooks/postmark", content=body, headers=basic(USER, PASSWORD))
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "recorded": 1, "unmatched": 0}
    again = client.post("/webhooks/postmark", content=body, headers=basic(USER, PASSWORD))
    assert again.json() == {"accepted": 1, "recorded": 0, "unmatched": 0}
    events, suppressed, deliveries, subscriptions = snapshot()
    assert (events, suppressed) == (1, 1)
    assert [outcome for _, outcome, _ in deliveries] == ["bounced"]
    assert [status for _, status in subscriptions] == ["unsubscribed"]


def test_a_signed_resend_complaint_is_stored_and_suppresses(
    client: TestClient, delivery_id: int
) -> None:
    tags = {"delivery_id": str(delivery_id)}
    body = orjson.dumps(resend_event("email.complained", to=["john0@example.com"], tags=tags))
    response = client.post("/webhooks/resend", content=body, headers=svix_headers(body))
    assert response.status_code == 200 and response.json()["recorded"] == 1
    with unit_of_work() as session:
        assert session.scalars(select(Suppression.reason)).all() == ["complaint"]


Forged = tuple[str, bytes, dict[str, str]]
FORGED_SECRET = "whsec_" + base64.b64encode(b"not our secret, forged").decode()


def resend_bounce_for(delivery_id: int) -> bytes:
    tags = {"delivery_id": str(delivery_id)}
    return orjson.dumps(resend_event("email.bounced", bounce=RS_BOUNCE, tags=tags))


def forge(kind: str, delivery_id: int) -> Forged:
    """A forged request (provider, body, headers) that would hard-bounce the delivery."""
    postmark, resend = bounce_for(delivery_id), resend_bounce_for(delivery_id)
    forgeries: dict[str, Callable[[], Forged]] = {
        "pm-none": lambda: ("postmark", postmark, {}),
        "pm-password": lambda: ("postmark", postmark, basic(USER, "wrong")),
        "pm-user": lambda: ("postmark", postmark, basic("intruder", PASSWORD)),
        "rs-none": lambda: ("resend", resend, {}),
        "rs-secret": lambda: ("resend", resend, svix_headers(resend, secret=FORGED_SECRET)),
        "rs-tampered": lambda: ("resend", resend.replace(b"Perm", b"perm"), svix_headers(resend)),
        "rs-stale": lambda: ("resend", resend, svix_headers(resend, at=int(time.time()) - 600)),
    }
    return forgeries[kind]()


@pytest.mark.parametrize(
    "kind", ["pm-none", "pm-password", "pm-user", "rs-none", "rs-secret", "rs-tampered", "rs-stale"]
)
def test_forged_webhooks_are_refused_with_401_and_change_nothing(
    client: TestClient, delivery_id: int, kind: str
) -> None:
    before = snapshot()
    provider, body, headers = forge(kind, delivery_id)
    response = client.post(f"/webhooks/{provider}", content=body, headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}
    assert snapshot() == before


def test_without_configured_credentials_every_webhook_is_refused(
    db: str, delivery_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, database_url=db)
    unconfigured = TestClient(create_app())
    before = snapshot()
    body = bounce_for(delivery_id)
    assert (
        unconfigured.post("/webhooks/postmark", content=body, headers=basic("", "")).status_code
        == 403
    )
    signed = svix_headers(body)
    assert unconfigured.post("/webhooks/resend", content=body, headers=signed).status_code == 403
    assert snapshot() == before


def test_unknown_providers_oversized_and_unreadable_bodies_are_refused(
    client: TestClient, delivery_id: int
) -> None:
    before = snapshot()
    assert client.post("/webhooks/pigeon", content=b"{}").status_code == 404
    huge = b"[" + b" " * MAX_BODY_BYTES + b"]"
    oversized = client.post("/webhooks/postmark", content=huge, headers=basic(USER, PASSWORD))
    assert oversized.status_code == 413
    garbled = client.post("/webhooks/postmark", content=b"{not json", headers=basic(USER, PASSWORD))
    assert garbled.status_code == 400
    assert snapshot() == before


# --- end to end: the sandbox's webhooks into the real app --------------------------------


@pytest.fixture
def herald_url(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real web app on a local port, with Postmark webhook credentials configured."""
    use_settings(
        monkeypatch, database_url=db, postmark_webhook_user=USER, postmark_webhook_password=PASSWORD
    )
    base_url, stop = serve_in_thread(create_app())
    yield base_url
    stop()


@pytest.mark.usefixtures("discarded_tasks")
def test_a_campaign_sent_through_postmark_comes_back_as_webhooks(
    herald_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipients = 60
    planning._emails_cache.clear()
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), recipients)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    planning.plan_campaign(campaign.id)
    hook = herald_url.replace("http://", f"http://{USER}:{PASSWORD.replace(' ', '%20')}@")
    sandbox_url, stop_sandbox = run_sandbox_in_thread()
    try:
        faults = {"webhook_url": f"{hook}/webhooks/postmark", "bounce_rate": 0.3, "seed": 7}
        httpx.post(f"{sandbox_url}/_sandbox/faults", json=faults).raise_for_status()
        provider = PostmarkProvider(sandbox_url, SANDBOX_TOKEN, "broadcast", timeout=10)
        monkeypatch.setattr(planning, "current_provider", lambda: provider)
        sending.send_batch(campaign.id, 1, 10**9)
        wait_until(
            lambda: _reported(sandbox_url) >= recipients, timeout=60, what="every webhook posted"
        )
        stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
    finally:
        stop_sandbox()

    assert (stats["webhooks_sent"], stats["webhooks_failed"]) == (recipients, 0)
    with unit_of_work() as session:
        rows = session.execute(select(Delivery.outcome, func.count()).group_by(Delivery.outcome))
        outcomes = dict(rows.all())
        events = session.scalar(select(func.count()).select_from(DeliveryEvent))
        unmatched = session.scalar(
            select(func.count())
            .select_from(DeliveryEvent)
            .where(DeliveryEvent.delivery_id.is_(None))
        )
        suppressed = set(session.scalars(select(Suppression.email)))
        bounced = set(
            session.scalars(select(DeliveryEvent.recipient).where(DeliveryEvent.type == "bounced"))
        )
        ended = session.scalar(
            select(func.count())
            .select_from(Subscription)
            .where(Subscription.unsubscribed_via == "bounce")
        )
    assert (events, unmatched) == (recipients, 0)
    assert outcomes.get("delivered", 0) + outcomes.get("bounced", 0) == recipients
    assert 0 < outcomes["bounced"] < recipients
    assert suppressed == bounced and len(suppressed) == outcomes["bounced"] == ended


def _reported(sandbox_url: str) -> int:
    stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
    return int(stats["webhooks_sent"]) + int(stats["webhooks_failed"])
