"""Outgoing webhooks against a real local HTTP server: signed bodies, retries after a 500 and
a timeout, the delivery log, and the admin pages."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from core.activity import record_activity
from core.database import unit_of_work, utcnow
from publisher.web.app import create_app
from publisher.webhooks import outgoing as webhooks
from publisher.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import use_settings
from tests.fixtures.factories import log_in
from worker.webhooks import deliver_webhook


class Receiver:
    """A tiny HTTP server answering each POST with the next scripted reply."""

    def __init__(self) -> None:
        self.replies: list[int | str] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                reply = receiver.replies.pop(0) if receiver.replies else 200
                if reply == "hang":
                    time.sleep(1.5)
                    reply = 200
                self.send_response(int(reply))
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    # The receiver listens on 127.0.0.1: a self-hosted setup that allows private addresses.
    use_settings(monkeypatch, allow_private_addresses="true")
    server = Receiver()
    yield server
    server.close()


def _endpoint(url: str, kinds: list[str] | None = None) -> tuple[int, str]:
    with unit_of_work() as session:
        endpoint = webhooks.create_endpoint(session, url=url, kinds=kinds or [])
        return endpoint.id, endpoint.secret


def _deliveries() -> list[WebhookDelivery]:
    with unit_of_work() as session:
        rows = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        session.expunge_all()
        return rows


def _make_due(delivery_id: int) -> None:
    with unit_of_work() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"type":"subscriber.confirmed","id":7}'
    expected = hmac.new(b"whsec_test", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert webhooks.sign("whsec_test", body, 1767225600) == f"t=1767225600,v1={expected}"


def test_activity_is_delivered_signed_after_a_500_and_a_timeout(
    db: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.5)
    endpoint_id, secret = _endpoint(receiver.url)
    _endpoint(receiver.url + "?campaigns", kinds=["campaign.sent"])
    with unit_of_work() as session:
        record_activity(
            session, "subscriber.confirmed", list_id=3, subscriber_id=9, data={"via": "form"}
        )
    with unit_of_work() as session:
        assert webhooks.fan_out(session) == 1  # the campaign endpoint wants none of it
    with unit_of_work() as session:
        assert webhooks.fan_out(session) == 0
    [delivery] = _deliveries()
    assert (delivery.endpoint_id, delivery.status) == (endpoint_id, "pending")

    receiver.replies = [500, "hang"]
    assert deliver_webhook(delivery.id) == webhooks.FIRST_RETRY_SECONDS
    assert deliver_webhook(delivery.id) is None  # not due yet: nobody sends it early
    _make_due(delivery.id)
    assert deliver_webhook(delivery.id) == 2 * webhooks.FIRST_RETRY_SECONDS
    [row] = _deliveries()
    assert (row.status, row.attempts, row.response_code) == ("pending", 2, None)
    assert "Timeout" in row.error
    _make_due(delivery.id)
    assert deliver_webhook(delivery.id) is None
    [row] = _deliveries()
    assert (row.status, row.attempts, row.response_code, row.error) == ("delivered", 3, 200, "")

    assert len(receiver.received) == 3
    headers, body = receiver.received[-1]
    timestamp, signature = (
        part.split("=", 1)[1] for part in headers["Herald-Signature"].split(",")
    )
    mine = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mine, signature)
    assert abs(int(timestamp) - time.time()) < 60
    assert headers["Herald-Event"] == "subscriber.confirmed"
    assert headers["Herald-Delivery"] == str(delivery.id)
    document = json.loads(body)
    assert document["type"] == "subscriber.confirmed"
    assert (document["list_id"], document["subscriber_id"], document["data"]) == (
        3,
        9,
        {"via": "form"},
    )


def test_a_delivery_that_keeps_failing_ends_failed(db: str, receiver: Receiver) -> None:
    _endpoint(receiver.url)
    with unit_of_work() as session:
        record_activity(session, "campaign.sent", campaign_id=1)
    with unit_of_work() as session:
        webhooks.fan_out(session)
    [delivery] = _deliveries()
    receiver.replies = [503] * webhooks.MAX_ATTEMPTS
    for _ in range(webhooks.MAX_ATTEMPTS):
        _make_due(delivery.id)
        deliver_webhook(delivery.id)
    [row] = _deliveries()
    assert (row.status, row.attempts, row.response_code) == ("failed", webhooks.MAX_ATTEMPTS, 503)


def test_admins_manage_endpoints_and_editors_may_not(db: str) -> None:
    client = TestClient(create_app())
    log_in(client, "editor@example.com", role="editor")
    assert client.get("/admin/stats/webhooks").status_code == 403
    client = TestClient(create_app())
    csrf = log_in(client)
    answer = client.post(
        "/admin/stats/webhooks",
        data={
            "url": "https://receiver.example/herald",
            "kinds": ["campaign.sent"],
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with unit_of_work() as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        assert endpoint.kinds == ["campaign.sent"]
    page = client.get(answer.headers["location"])
    assert endpoint.secret in page.text and "Endpoint added" in page.text
    refused = client.post("/admin/stats/webhooks", data={"url": "ftp://x", "csrf_token": csrf})
    assert "must start with https://" in refused.text
    api = client.get("/api/stats/webhooks").json()
    assert [e["url"] for e in api] == ["https://receiver.example/herald"]
