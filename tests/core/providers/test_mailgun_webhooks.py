"""The Mailgun webhook reader: signatures, replayed tokens and events.

Signatures are checked with Mailgun's documented verification function; events are read from
payloads shaped like Mailgun's documented webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from core.providers.events import WebhookRefused
from core.providers.mailgun_webhooks import MailgunWebhooks, MemorySeenTokens, RedisSeenTokens

SIGNING_KEY = "test-webhook-signing-key"
# The token and timestamp of Mailgun's documented signature example.
DOC_TOKEN = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
DOC_TIMESTAMP = "1770920772"

# --- webhooks: verification ------------------------------------------------------------


def documented_verify(signing_key: str, token: str, timestamp: str, signature: str) -> bool:
    """Mailgun's documented Python verification function (Python 3: keys and text as bytes)."""
    hmac_digest = hmac.new(
        key=signing_key.encode(),
        msg=f"{timestamp}{token}".encode(),
        digestmod=hashlib.sha256,
    ).hexdigest()
    return hmac.compare_digest(str(signature), str(hmac_digest))


def _sign(timestamp: str, token: str, key: str = SIGNING_KEY) -> str:
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def _event(event: str | None = "delivered", **fields: Any) -> dict[str, Any]:
    """Event data in the shape of Mailgun's documented webhook payloads."""
    data: dict[str, Any] = {
        "id": "CCXMjJ7nQi2N3BPigGOdgQ",
        "event": event,
        "timestamp": 1770920771.529692,
        "log-level": "info",
        "recipient": "reader42@example.org",
        "recipient-domain": "example.org",
        "message": {"headers": {"message-id": "42@herald.test", "to": "reader42@example.org"}},
        "user-variables": {"campaign_id": "7", "delivery_id": "42", "herald_key": "42"},
        "flags": {"is-authenticated": True, "is-test-mode": False},
    }
    return {**data, **fields}


def _body(
    event_data: Any = None,
    *,
    timestamp: str = DOC_TIMESTAMP,
    token: str = DOC_TOKEN,
    key: str = SIGNING_KEY,
    signature: str | None = None,
) -> bytes:
    block = {
        "timestamp": timestamp,
        "token": token,
        "signature": signature or _sign(timestamp, token, key),
    }
    return orjson.dumps(
        {"signature": block, "event-data": _event() if event_data is None else event_data}
    )


class SpyTokens:
    """Records which tokens were asked about; every one is new."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def first_time(self, token: str, ttl_seconds: int) -> bool:
        self.asked.append((token, ttl_seconds))
        return True


def _reader(
    seen: Any = None, *, now: float = float(DOC_TIMESTAMP) + 10, max_age: int = 300
) -> MailgunWebhooks:
    """A reader at ``now``, with its own token store unless given one."""
    tokens = MemorySeenTokens() if seen is None else seen
    return MailgunWebhooks(SIGNING_KEY, tokens, max_age_seconds=max_age, clock=lambda: now)


def test_the_documented_example_signed_with_our_key_verifies_and_reads() -> None:
    signature = _sign(DOC_TIMESTAMP, DOC_TOKEN)
    assert documented_verify(SIGNING_KEY, DOC_TOKEN, DOC_TIMESTAMP, signature)
    reader, body = _reader(SpyTokens()), _body(signature=signature)

    reader.verify({}, body)

    [event] = reader.read(body)
    assert (event.type, event.delivery_id, event.recipient) == (
        "delivered",
        42,
        "reader42@example.org",
    )


def test_a_timestamp_sent_as_a_number_verifies_too() -> None:
    signature = _sign(DOC_TIMESTAMP, DOC_TOKEN)
    body = orjson.dumps(
        {
            "signature": {
                "timestamp": int(DOC_TIMESTAMP),
                "token": DOC_TOKEN,
                "signature": signature,
            },
            "event-data": _event(),
        }
    )

    _reader().verify({}, body)


def _tampered(signature: str) -> str:
    return ("0" if signature[0] != "0" else "1") + signature[1:]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_body(signature=_tampered(_sign(DOC_TIMESTAMP, DOC_TOKEN))), id="tampered"),
        pytest.param(_body(key="another-domains-key"), id="wrong-key"),
        pytest.param(_body(signature=_sign(DOC_TIMESTAMP, DOC_TOKEN).upper()), id="upper-hex"),
        pytest.param(_body(signature="é" * 64), id="not-ascii"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(orjson.dumps({"event-data": _event()}), id="unsigned"),
        pytest.param(
            orjson.dumps({"signature": {"timestamp": DOC_TIMESTAMP, "token": DOC_TOKEN}}),
            id="no-signature-field",
        ),
        pytest.param(_body(timestamp="17709207.72"), id="timestamp-not-digits"),
        pytest.param(_body(timestamp="9" * 400), id="timestamp-absurd"),
        pytest.param(_body(token=""), id="empty-token"),
    ],
)
def test_unsigned_or_wrongly_signed_requests_are_refused_401_and_never_recorded(
    body: bytes,
) -> None:
    seen = SpyTokens()

    with pytest.raises(WebhookRefused) as caught:
        _reader(seen).verify({}, body)

    assert caught.value.status == 401
    assert seen.asked == []


def test_a_forged_event_with_broken_data_is_refused_not_parsed() -> None:
    body = _body(event_data={"event": "failed", "timestamp": "not a time"}, key="forger")

    with pytest.raises(WebhookRefused):
        _reader().verify({}, body)


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_a_signature_too_far_from_now_is_refused(offset: int) -> None:
    seen = SpyTokens()

    with pytest.raises(WebhookRefused) as caught:
        _reader(seen, now=float(DOC_TIMESTAMP) + offset).verify({}, _body())

    assert caught.value.status == 401 and "too old" in str(caught.value)
    assert seen.asked == []


def test_a_replayed_token_is_refused_even_with_other_event_data() -> None:
    reader = _reader(MemorySeenTokens())
    reader.verify({}, _body())
    forged = _body(_event("complained", id="forged"))  # the captured signature, new data

    with pytest.raises(WebhookRefused) as caught:
        reader.verify({}, forged)

    assert caught.value.status == 401 and "already used" in str(caught.value)


def test_tokens_are_kept_as_long_as_their_timestamp_could_pass() -> None:
    seen = SpyTokens()

    _reader(seen, max_age=300).verify({}, _body())

    assert seen.asked == [(DOC_TOKEN, 600)]


def test_readers_built_per_request_share_the_process_tokens() -> None:
    body = _body(timestamp=str(int(time.time())), token=secrets.token_hex(25))
    MailgunWebhooks(SIGNING_KEY).verify({}, body)

    with pytest.raises(WebhookRefused) as caught:
        MailgunWebhooks(SIGNING_KEY).verify({}, body)

    assert "already used" in str(caught.value)


def test_without_a_signing_key_every_request_is_refused_403() -> None:
    with pytest.raises(WebhookRefused) as caught:
        MailgunWebhooks("", SpyTokens()).verify({}, _body(key=""))

    assert caught.value.status == 403 and "not configured" in str(caught.value)


def test_memory_tokens_expire_and_stay_bounded() -> None:
    now = 1000.0
    tokens = MemorySeenTokens(max_tokens=2, clock=lambda: now)

    assert tokens.first_time("a", ttl_seconds=10)
    assert not tokens.first_time("a", ttl_seconds=10)
    now += 11
    assert tokens.first_time("a", ttl_seconds=10)  # expired, so new again
    assert tokens.first_time("b", ttl_seconds=10)
    assert tokens.first_time("c", ttl_seconds=10)
    assert len(tokens) == 2
    assert tokens.first_time("a", ttl_seconds=10)  # the oldest made room
    now += 100
    assert tokens.first_time("d", ttl_seconds=10)
    assert len(tokens) == 1


# --- webhooks: events ------------------------------------------------------------------


def _read(event_data: dict[str, Any]) -> list[Any]:
    return _reader().read(_body(event_data))


@pytest.mark.parametrize(
    ("event_data", "expected"),
    [
        (_event("delivered"), ("delivered", "")),
        (_event("opened"), ("opened", "")),
        (_event("clicked", url="https://herald.test/r/1"), ("clicked", "")),
        (_event("unsubscribed"), ("unsubscribed", "")),
        (_event("complained"), ("complained", "")),
        (_event("failed", severity="permanent", reason="bounce"), ("bounced", "hard")),
        (_event("failed", severity="temporary", reason="generic"), ("deferred", "soft")),
        (_event("failed"), ("failed", "")),
        (_event("rejected"), ("failed", "")),
    ],
)
def test_mailgun_events_map_to_ours(event_data: dict[str, Any], expected: tuple[str, str]) -> None:
    [event] = _read(event_data)

    assert (event.type, event.bounce) == expected
    assert event.delivery_id == 42 and event.recipient == "reader42@example.org"
    assert event.occurred_at == datetime.fromtimestamp(1770920771.529692, tz=UTC)
    assert not event.machine


@pytest.mark.parametrize("name", ["accepted", "stored", "list_member_uploaded", None])
def test_other_kinds_are_left_out(name: str | None) -> None:
    assert _read(_event(name)) == []


def test_a_permanent_failure_keeps_mailguns_reasons() -> None:
    status = {"code": 550, "message": "5.1.1 The email account does not exist", "description": ""}
    [event] = _read(
        _event("failed", severity="permanent", reason="bounce", **{"delivery-status": status})
    )

    assert event.details == {
        "mailgun_event": "failed",
        "severity": "permanent",
        "reason": "bounce",
        "code": 550,
        "smtp_message": "5.1.1 The email account does not exist",
        "message_id": "42@herald.test",
        "campaign_id": "7",
        "herald_key": "42",
    }


def test_a_click_keeps_its_url() -> None:
    [event] = _read(_event("clicked", url="https://herald.test/r/1"))

    assert event.details["link"] == "https://herald.test/r/1"


@pytest.mark.parametrize(
    ("variables", "delivery_id"),
    [
        ({"delivery_id": "42"}, 42),
        ({"delivery_id": 42}, 42),
        ({"delivery_id": "4x2"}, None),
        ({"delivery_id": True}, None),
        ({}, None),
        ("not an object", None),
    ],
)
def test_the_delivery_comes_from_our_custom_variable(
    variables: Any, delivery_id: int | None
) -> None:
    [event] = _read(_event(**{"user-variables": variables}))

    assert event.delivery_id == delivery_id


def test_the_event_id_is_mailguns_id_with_its_time_and_stable_across_retries() -> None:
    [first] = _read(_event())
    [again] = _read(_event())
    [next_day] = _read(_event(timestamp=1770920771.529692 + 86_400))

    assert first.event_id == again.event_id == "delivered:CCXMjJ7nQi2N3BPigGOdgQ:1770920771.529692"
    assert next_day.event_id != first.event_id


@pytest.mark.parametrize("timestamp", [None, "soon", True, 1e300])
def test_an_event_without_a_usable_time_happened_now(timestamp: Any) -> None:
    before = datetime.now(UTC)

    [event] = _read(_event("failed", severity="permanent", timestamp=timestamp))

    assert before <= event.occurred_at <= datetime.now(UTC)


@pytest.mark.parametrize("body", [b"[]", orjson.dumps({"event-data": []}), orjson.dumps({})])
def test_a_body_without_event_data_is_unreadable(body: bytes) -> None:
    with pytest.raises(ValueError, match="event-data"):
        _reader().read(body)


def test_the_recipient_is_stored_as_herald_stores_addresses() -> None:
    [event] = _read(_event(recipient=" Reader42@Example.ORG"))

    assert event.recipient == "reader42@example.org"


def test_a_token_used_through_one_web_process_is_refused_by_another(redis_url: str) -> None:
    first, second = _reader(RedisSeenTokens(redis_url)), _reader(RedisSeenTokens(redis_url))
    first.verify({}, _body())

    with pytest.raises(WebhookRefused) as caught:
        second.verify({}, _body(_event("complained", id="forged")))

    assert caught.value.status == 401 and "already used" in str(caught.value)
