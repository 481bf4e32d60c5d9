"""The sandbox reports what it accepted back as Postmark webhooks, and counts those nobody took."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from sandbox import run_sandbox_in_thread, serve_in_thread
from tests.fixtures.processes import free_port, wait_until
from tests.fixtures.sandbox import AUTH
from tests.fixtures.sandbox import postmark_mail as _mail
from tests.fixtures.sandbox import sandbox_config as _config
from tests.fixtures.sandbox import stats_of as _stats


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, Any], str | None]]]]:
    """A local endpoint recording each webhook body with its Authorization header."""
    received: list[tuple[dict[str, Any], str | None]] = []
    app = FastAPI()

    @app.post("/postmark")
    async def postmark(request: Request) -> dict[str, bool]:
        received.append((await request.json(), request.headers.get("Authorization")))
        return {"ok": True}

    base_url, stop = serve_in_thread(app)
    yield base_url, received
    stop()


def test_accepted_messages_come_back_as_postmark_delivery_webhooks(
    receiver: tuple[str, list[tuple[dict[str, Any], str | None]]],
) -> None:
    receiver_url, received = receiver
    hook = receiver_url.replace("http://", "http://hook:s3cret@") + "/postmark"
    base_url, stop = run_sandbox_in_thread(config=_config(webhook_url=hook))
    batch = [_mail("a@example.org", Tag="digest"), _mail("B <b@example.org>")]
    try:
        answers = httpx.post(f"{base_url}/email/batch", headers=AUTH, json=batch).json()
        wait_until(lambda: len(received) == 2, timeout=10, what="two delivery webhooks")
        stats = httpx.get(f"{base_url}/_sandbox/stats").json()
    finally:
        stop()

    records = sorted((body for body, _ in received), key=lambda body: body["Recipient"])
    assert [r["MessageID"] for r in records] == [a["MessageID"] for a in answers]
    first = records[0]
    assert first["RecordType"] == "Delivery" and first["Recipient"] == "a@example.org"
    assert first["Metadata"] == {"campaign_id": "1", "herald_key": "1-a@example.org"}
    assert (first["Tag"], first["MessageStream"], first["ServerID"]) == ("digest", "broadcast", 1)
    assert first["DeliveredAt"] and first["Details"]
    assert records[1]["Recipient"] == "b@example.org"
    expected_auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    assert {authorization for _, authorization in received} == {expected_auth}
    assert (stats["webhooks_sent"], stats["webhooks_failed"]) == (2, 0)


def test_bounces_come_back_as_postmark_hard_bounce_webhooks(
    receiver: tuple[str, list[tuple[dict[str, Any], str | None]]],
) -> None:
    receiver_url, received = receiver
    base_url, stop = run_sandbox_in_thread(config=_config())
    faults = {"webhook_url": f"{receiver_url}/postmark", "bounce_rate": 1.0}
    try:
        httpx.post(f"{base_url}/_sandbox/faults", json=faults).raise_for_status()
        [answer] = httpx.post(
            f"{base_url}/email/batch", headers=AUTH, json=[_mail("a@x.org")]
        ).json()
        wait_until(lambda: len(received) == 1, timeout=10, what="a bounce webhook")
    finally:
        stop()

    [(bounce, authorization)] = received
    assert authorization is None
    assert (bounce["RecordType"], bounce["Type"], bounce["TypeCode"]) == ("Bounce", "HardBounce", 1)
    assert bounce["Email"] == "a@x.org" and bounce["MessageID"] == answer["MessageID"]
    assert bounce["Metadata"]["herald_key"] == "1-a@x.org"
    assert bounce["BouncedAt"] and bounce["Inactive"] is True and bounce["ID"] == 1


def test_webhooks_nobody_accepts_are_dropped_and_counted() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/postmark"
    base_url, stop = run_sandbox_in_thread(config=_config(webhook_url=nowhere))
    try:
        with httpx.Client(base_url=base_url) as api:
            sent = api.post("/email", headers=AUTH, json=_mail("a@example.org"))
            assert sent.status_code == 200  # the send does not wait for the webhook
            wait_until(
                lambda: _stats(api)["webhooks_failed"] == 1, timeout=10, what="a webhook given up"
            )
            assert _stats(api)["webhooks_sent"] == 0
    finally:
        stop()
