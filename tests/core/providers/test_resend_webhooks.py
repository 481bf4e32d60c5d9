"""The Resend webhook reader: Svix signatures and the documented event types.

The signature check is held to Svix's published example (secret, message id, timestamp, body,
expected signature); events are Resend's documented examples.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from core.providers.events import WebhookRefused
from core.providers.resend_webhooks import ResendWebhooks
from tests.fixtures.providers import (
    RESEND_SECRET,
    RS_BOUNCE,
    RS_CLICK,
    SVIX_BODY,
    SVIX_ID,
    SVIX_SECRET,
    SVIX_SIGNATURE,
    SVIX_TIMESTAMP,
    resend_event,
)

# --- Resend: verification ----------------------------------------------------------------


def svix_reader(secret: str = SVIX_SECRET, now: float = float(SVIX_TIMESTAMP)) -> Any:
    return ResendWebhooks(secret, clock=lambda: now)


SVIX_HEADERS = {
    "svix-id": SVIX_ID,
    "svix-timestamp": SVIX_TIMESTAMP,
    "svix-signature": SVIX_SIGNATURE,
}


def test_resend_verifies_svix_published_example() -> None:
    svix_reader().verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)
    svix_reader(secret=SVIX_SECRET.removeprefix("whsec_")).verify(
        httpx.Headers(SVIX_HEADERS), SVIX_BODY
    )


def test_resend_accepts_any_valid_signature_among_several() -> None:
    several = f"v1,bm9wZQ== v2,{SVIX_SIGNATURE[3:]} {SVIX_SIGNATURE} v1,Zm9v"
    svix_reader().verify(httpx.Headers({**SVIX_HEADERS, "svix-signature": several}), SVIX_BODY)


FORGERIES = [
    pytest.param({}, b'{"test": 2432232315}', id="tampered"),
    pytest.param({}, SVIX_BODY + b" ", id="appended"),
    pytest.param({"svix-id": "msg_other"}, SVIX_BODY, id="other-id"),
    pytest.param({"svix-timestamp": str(int(SVIX_TIMESTAMP) + 1)}, SVIX_BODY, id="other-time"),
    pytest.param({"svix-signature": "v2," + SVIX_SIGNATURE[3:]}, SVIX_BODY, id="wrong-version"),
    pytest.param({"svix-signature": SVIX_SIGNATURE[:-4] + "AAA="}, SVIX_BODY, id="wrong-sig"),
    pytest.param({"svix-signature": ""}, SVIX_BODY, id="no-signature"),
    pytest.param({"svix-id": ""}, SVIX_BODY, id="no-id"),
    pytest.param({"svix-timestamp": ""}, SVIX_BODY, id="no-timestamp"),
]


@pytest.mark.parametrize(("change", "body"), FORGERIES)
def test_resend_refuses_anything_but_the_signed_request(
    change: dict[str, str], body: bytes
) -> None:
    headers = {name: value for name, value in {**SVIX_HEADERS, **change}.items() if value}
    with pytest.raises(WebhookRefused) as refused:
        svix_reader().verify(httpx.Headers(headers), body)
    assert refused.value.status == 401


@pytest.mark.parametrize("timestamp", ["1614265330.0", "-1614265330", "9" * 400])
def test_resend_answers_400_to_a_timestamp_that_is_no_unix_time(timestamp: str) -> None:
    with pytest.raises(WebhookRefused) as refused:
        svix_reader().verify(
            httpx.Headers({**SVIX_HEADERS, "svix-timestamp": timestamp}), SVIX_BODY
        )
    assert (refused.value.status, str(refused.value)) == (400, "Svix timestamp is not a unix time")


def test_resend_refuses_a_wrong_secret() -> None:
    other = "whsec_" + base64.b64encode(b"another secret").decode()
    with pytest.raises(WebhookRefused) as refused:
        svix_reader(secret=other).verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)
    assert refused.value.status == 401


@pytest.mark.parametrize("offset", [-301, 301, 10**6])
def test_resend_refuses_timestamps_beyond_five_minutes(offset: int) -> None:
    reader = svix_reader(now=float(SVIX_TIMESTAMP) + offset)
    with pytest.raises(WebhookRefused) as refused:
        reader.verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)
    assert refused.value.status == 401
    svix_reader(now=float(SVIX_TIMESTAMP) + 300).verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not*base64"])
def test_resend_without_a_usable_secret_refuses_everything_with_403(secret: str) -> None:
    with pytest.raises(WebhookRefused) as refused:
        svix_reader(secret=secret).verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)
    assert refused.value.status == 403


# --- Resend: reading ---------------------------------------------------------------------


def read_resend(payload: dict[str, Any]) -> list[Any]:
    return ResendWebhooks(RESEND_SECRET).read(orjson.dumps(payload))


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("email.delivered", {}, ("delivered", "")),
        ("email.delivery_delayed", {}, ("deferred", "")),
        ("email.complained", {}, ("complained", "")),
        ("email.opened", {}, ("opened", "")),
        ("email.bounced", {"bounce": RS_BOUNCE}, ("bounced", "hard")),
        ("email.bounced", {"bounce": {**RS_BOUNCE, "type": "Transient"}}, ("bounced", "soft")),
        ("email.bounced", {"bounce": {**RS_BOUNCE, "type": "Undetermined"}}, ("bounced", "soft")),
        ("email.bounced", {}, ("bounced", "hard")),
        ("email.failed", {"failed": {"reason": "reached_daily_quota"}}, ("failed", "")),
    ],
)
def test_resend_documented_events_map_to_herald_events(
    kind: str, extra: dict[str, Any], expected: tuple[str, str]
) -> None:
    [event] = read_resend(resend_event(kind, **extra))
    assert (event.type, event.bounce) == expected
    assert (event.delivery_id, event.recipient) == (42, "delivered@resend.dev")
    assert event.event_id == f"{kind}:56761188-7520-42d8-8898-ff6fc54ce618:2024-11-22T23:41:12.126Z"
    assert event.occurred_at == datetime(2024, 11, 22, 23, 41, 12, 126000, tzinfo=UTC)
    assert not event.machine


def test_resend_clicks_are_timed_by_the_click_and_keyed_by_the_link() -> None:
    [clicked] = read_resend(resend_event("email.clicked", click=RS_CLICK))
    assert (clicked.type, clicked.details["link"]) == ("clicked", "https://resend.com")
    assert clicked.occurred_at == datetime(2024, 11, 24, 5, 0, 57, 163000, tzinfo=UTC)
    [other] = read_resend(
        resend_event("email.clicked", click={**RS_CLICK, "link": "https://x.org"})
    )
    assert other.event_id != clicked.event_id


def test_resend_tags_are_read_as_an_object_or_as_a_list() -> None:
    listed = [{"name": "campaign_id", "value": "7"}, {"name": "delivery_id", "value": "43"}]
    [event] = read_resend(resend_event("email.delivered", tags=listed))
    assert event.delivery_id == 43
    [untagged] = read_resend(resend_event("email.delivered", tags=None))
    assert untagged.delivery_id is None


def test_resend_events_herald_does_not_use_are_left_out() -> None:
    for kind in ("email.sent", "email.scheduled", "email.received", "contact.created"):
        assert read_resend(resend_event(kind)) == [], kind
