"""The SendGrid Event Webhook reader: signatures and events.

Checked with the signed example SendGrid publishes in its Python library's tests, and with
requests signed here.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core.providers.events import WebhookRefused
from core.providers.sendgrid_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, SendGridWebhooks

MESSAGE_ID = "14c5d75ce93.dfd.64b469"

# SendGrid's signed example (sendgrid-python, test/unit/test_eventwebhook.py).
DOC_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw"
    "+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
DOC_OTHER_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntl"
    "o7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
)
DOC_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0J"
    "uG+luQAbPIqHh89M15TluLtEZtM="
)
DOC_OTHER_SIGNATURE = (
    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6"
    "BpSzoQsbVRamr2nlxFDWYNH3j/0="
)
DOC_TIMESTAMP = "1600112502"
DOC_EVENT = {
    "email": "hello@world.com",
    "event": "dropped",
    "reason": "Bounced Address",
    "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
    "timestamp": 1600112492,
}
DOC_BODY = (json.dumps([DOC_EVENT], sort_keys=True, separators=(",", ":")) + "\r\n").encode()

_RSA_KEY = base64.b64encode(
    rsa.generate_private_key(public_exponent=65537, key_size=1024)
    .public_key()
    .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
).decode()


def _headers(signature: str, timestamp: str) -> httpx.Headers:
    return httpx.Headers({SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: timestamp})


def _at(unix_time: str | int) -> Callable[[], float]:
    return lambda: float(unix_time)


def test_sendgrids_signed_example_verifies_and_reads() -> None:
    reader = SendGridWebhooks(DOC_PUBLIC_KEY, clock=_at(DOC_TIMESTAMP))

    reader.verify(_headers(DOC_SIGNATURE, DOC_TIMESTAMP), DOC_BODY)
    [event] = reader.read(DOC_BODY)

    assert event.event_id == DOC_EVENT["sg_event_id"]
    assert (event.type, event.recipient, event.delivery_id) == ("failed", "hello@world.com", None)
    assert event.occurred_at == datetime(2020, 9, 14, 19, 41, 32, tzinfo=UTC)
    assert event.details["reason"] == "Bounced Address"


def test_headers_are_found_whatever_their_case() -> None:
    reader = SendGridWebhooks(DOC_PUBLIC_KEY, clock=_at(DOC_TIMESTAMP))
    headers = httpx.Headers(
        {SIGNATURE_HEADER.lower(): DOC_SIGNATURE, TIMESTAMP_HEADER.upper(): DOC_TIMESTAMP}
    )

    reader.verify(headers, DOC_BODY)


@pytest.mark.parametrize(
    ("key", "signature", "timestamp", "body"),
    [
        (DOC_PUBLIC_KEY, DOC_SIGNATURE, DOC_TIMESTAMP, DOC_BODY.replace(b"dropped", b"dropper")),
        (DOC_PUBLIC_KEY, DOC_SIGNATURE, DOC_TIMESTAMP, DOC_BODY.rstrip()),
        (DOC_OTHER_KEY, DOC_SIGNATURE, DOC_TIMESTAMP, DOC_BODY),
        (DOC_PUBLIC_KEY, DOC_OTHER_SIGNATURE, DOC_TIMESTAMP, DOC_BODY),
        (DOC_PUBLIC_KEY, DOC_SIGNATURE, "1600112503", DOC_BODY),
        (DOC_PUBLIC_KEY, "not base64!", DOC_TIMESTAMP, DOC_BODY),
        (DOC_PUBLIC_KEY, base64.b64encode(b"garbage").decode(), DOC_TIMESTAMP, DOC_BODY),
    ],
    ids=[
        "tampered body",
        "trailing newline dropped",
        "wrong key",
        "wrong signature",
        "timestamp changed",
        "signature not base64",
        "signature not DER",
    ],
)
def test_anything_sendgrid_did_not_sign_is_refused(
    key: str, signature: str, timestamp: str, body: bytes
) -> None:
    reader = SendGridWebhooks(key, clock=_at(DOC_TIMESTAMP))

    with pytest.raises(WebhookRefused) as caught:
        reader.verify(_headers(signature, timestamp), body)

    assert caught.value.status == 403


@pytest.mark.parametrize(
    "headers",
    [{}, {SIGNATURE_HEADER: DOC_SIGNATURE}, {TIMESTAMP_HEADER: DOC_TIMESTAMP}],
    ids=["none", "no timestamp", "no signature"],
)
def test_a_missing_header_is_refused(headers: dict[str, str]) -> None:
    reader = SendGridWebhooks(DOC_PUBLIC_KEY, clock=_at(DOC_TIMESTAMP))

    with pytest.raises(WebhookRefused) as caught:
        reader.verify(httpx.Headers(headers), DOC_BODY)

    assert caught.value.status == 403


@pytest.mark.parametrize("timestamp", ["9" * 400, "1600112502.5", "-1600112502"])
def test_a_timestamp_that_is_no_unix_time_is_400(timestamp: str) -> None:
    reader = SendGridWebhooks(DOC_PUBLIC_KEY, clock=_at(DOC_TIMESTAMP))

    with pytest.raises(WebhookRefused) as caught:
        reader.verify(_headers(DOC_SIGNATURE, timestamp), DOC_BODY)

    assert (caught.value.status, str(caught.value)) == (
        400,
        "SendGrid timestamp is not a unix time",
    )


def test_the_real_example_is_refused_today_as_stale() -> None:
    reader = SendGridWebhooks(DOC_PUBLIC_KEY)

    with pytest.raises(WebhookRefused, match="five minutes"):
        reader.verify(_headers(DOC_SIGNATURE, DOC_TIMESTAMP), DOC_BODY)


class Signer:
    """A key pair standing in for SendGrid's, signing as SendGrid documents."""

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP256R1())
        der = self._private.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()
        self.pem = (
            self._private.public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def headers(self, body: bytes, timestamp: int) -> httpx.Headers:
        stamp = str(timestamp)
        signature = self._private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return _headers(base64.b64encode(signature).decode(), stamp)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


@pytest.mark.parametrize(
    ("offset", "fresh"), [(-299, True), (299, True), (-301, False), (301, False)]
)
def test_timestamps_more_than_five_minutes_away_are_refused(
    signer: Signer, offset: int, fresh: bool
) -> None:
    now = 1_780_000_000
    reader = SendGridWebhooks(signer.public_key, clock=_at(now))
    body = b'[{"event":"delivered"}]'
    headers = signer.headers(body, now + offset)

    if fresh:
        reader.verify(headers, body)
    else:
        with pytest.raises(WebhookRefused):
            reader.verify(headers, body)


def test_a_non_numeric_timestamp_is_refused(signer: Signer) -> None:
    reader = SendGridWebhooks(signer.public_key)
    headers = signer.headers(b"[]", int(time.time()))

    with pytest.raises(WebhookRefused):
        reader.verify(httpx.Headers({**headers, TIMESTAMP_HEADER: "12e9"}), b"[]")


def test_a_pem_framed_key_is_accepted(signer: Signer) -> None:
    now = int(time.time())
    reader = SendGridWebhooks(signer.pem, clock=_at(now))

    reader.verify(signer.headers(b"[]", now), b"[]")


@pytest.mark.parametrize(
    "key",
    ["", "  ", "not a key", base64.b64encode(b"\x30\x03\x02\x01\x01").decode(), _RSA_KEY],
    ids=["empty", "blank", "not base64", "not a key", "not P-256"],
)
def test_without_a_usable_key_every_request_is_refused(key: str) -> None:
    reader = SendGridWebhooks(key, clock=_at(DOC_TIMESTAMP))

    with pytest.raises(WebhookRefused) as caught:
        reader.verify(_headers(DOC_SIGNATURE, DOC_TIMESTAMP), DOC_BODY)

    assert caught.value.status == 403 and "not configured" in str(caught.value)


def _event(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "email": "reader@example.org",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": kind,
        "sg_event_id": f"id-{kind}-{fields.get('type', '')}",
        "sg_message_id": f"{MESSAGE_ID}.filter0001.16648.5515E0B88.0",
        "campaign_id": "3",
        "delivery_id": "42",
        "herald_key": "42",
        **fields,
    }


def test_every_recorded_kind_maps_to_herald_s_vocabulary(signer: Signer) -> None:
    events = [
        _event("processed"),
        _event("delivered", response="250 OK"),
        _event("deferred", response="400 try again later", attempt="5"),
        _event("bounce", reason="500 unknown recipient", status="5.0.0", type="bounce"),
        _event("bounce", reason="421 try later", status="4.0.0", type="blocked"),
        _event("bounce", reason="550 no such user", status="5.0.0"),
        _event("dropped", reason="Unsubscribed Address"),
        _event("spamreport"),
        _event("open", sg_machine_open=True, useragent="Mozilla/5.0"),
        _event("open", sg_machine_open=False, useragent="Mozilla/5.0"),
        _event("click", url="https://herald.test/c/1"),
        _event("unsubscribe"),
        _event("group_unsubscribe", asm_group_id=10),
        _event("group_resubscribe", asm_group_id=10),
    ]
    body = json.dumps(events, ensure_ascii=False).encode()
    now = int(time.time())
    reader = SendGridWebhooks(signer.public_key, clock=_at(now))
    reader.verify(signer.headers(body, now), body)

    read = reader.read(body)

    assert [(e.type, e.bounce, e.machine) for e in read] == [
        ("delivered", "", False),
        ("deferred", "", False),
        ("bounced", "hard", False),
        ("bounced", "soft", False),
        ("bounced", "hard", False),
        ("failed", "", False),
        ("complained", "", False),
        ("opened", "", True),
        ("opened", "", False),
        ("clicked", "", False),
        ("unsubscribed", "", False),
        ("unsubscribed", "", False),
    ]
    assert {e.delivery_id for e in read} == {42}
    assert {e.recipient for e in read} == {"reader@example.org"}
    assert {e.occurred_at for e in read} == {datetime(2017, 12, 15, 0, 59, 29, tzinfo=UTC)}
    assert read[0].event_id == "id-delivered-"
    assert read[3].details["type"] == "blocked" and read[3].details["status"] == "4.0.0"
    assert read[9].details["url"] == "https://herald.test/c/1"


@pytest.mark.parametrize(
    "body", [b"not json", b'{"event": "delivered"}'], ids=["not json", "not a list"]
)
def test_a_body_that_is_not_a_list_of_events_is_unreadable(body: bytes) -> None:
    with pytest.raises(ValueError):
        SendGridWebhooks(DOC_PUBLIC_KEY).read(body)


def test_events_missing_what_herald_needs_are_left_out() -> None:
    events = [
        "not an event",
        None,
        {**_event("delivered"), "email": None},
        {**_event("delivered"), "timestamp": "yesterday"},
        {**_event("delivered"), "event": ["delivered"]},
        {**_event("delivered"), "delivery_id": "not-ours", "sg_event_id": ""},
    ]
    read = SendGridWebhooks(DOC_PUBLIC_KEY).read(json.dumps(events).encode())

    [kept] = read
    assert kept.delivery_id is None
    assert kept.event_id.startswith("sendgrid:") and MESSAGE_ID in kept.event_id


def test_recipients_are_read_as_herald_stores_addresses() -> None:
    [event] = SendGridWebhooks(DOC_PUBLIC_KEY).read(
        json.dumps([{**_event("delivered"), "email": " Reader@Example.ORG "}]).encode()
    )

    assert event.recipient == "reader@example.org"
