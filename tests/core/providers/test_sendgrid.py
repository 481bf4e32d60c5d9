"""The SendGrid provider, its signed Event Webhook reader, and the sandbox's Mail Send endpoint.

The adapter runs against an injected ``httpx.MockTransport`` answering as SendGrid's API
reference shows (202 with ``X-Message-Id``, ``errors`` bodies, rate-limit headers), then
against the sandbox served in a thread. The webhook reader is checked with the signed example
SendGrid publishes in its Python library's tests, and with requests signed here.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI

from core.message import Mailbox, OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.events import WebhookRefused
from core.providers.sendgrid import SendGridProvider, display_name, mail_json
from core.providers.sendgrid_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, SendGridWebhooks
from sandbox import SANDBOX_TOKEN, SandboxConfig, create_sandbox_app, serve_in_thread
from sandbox.sendgrid import sendgrid_routes

API_KEY = "SG.test-key"
API = "https://sendgrid.test"
MESSAGE_ID = "14c5d75ce93.dfd.64b469"
UNSUBSCRIBE = "<https://x/u/1>, <mailto:u@x?subject=unsubscribe>"

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

Handler = Callable[[httpx.Request], httpx.Response]
_RSA_KEY = base64.b64encode(
    rsa.generate_private_key(public_exponent=65537, key_size=1024)
    .public_key()
    .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
).decode()


def _message(key: str, *, campaign_id: str = "1", to: str = "") -> OutgoingMessage:
    return OutgoingMessage(
        key=key,
        sender=Mailbox("news@herald.test", "Центр Herald"),
        to=Mailbox(to or f"reader{key}@example.org", "山田 太郎"),
        subject="Форум: 東京 — підсумки",
        html=f"<p>Вітаємо — 日本語 {key}</p>",
        text=f"Вітаємо — 日本語 {key}",
        message_id=f"<{key}@herald.test>",
        headers={
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        metadata={"campaign_id": campaign_id, "delivery_id": key},
    )


def _provider(handler: Handler) -> SendGridProvider:
    return SendGridProvider(
        base_url=API, api_key=API_KEY, timeout=5, transport=httpx.MockTransport(handler)
    )


def _accepted(request: httpx.Request) -> httpx.Response:
    key = json.loads(request.content)["personalizations"][0]["custom_args"]["herald_key"]
    return httpx.Response(202, headers={"X-Message-Id": f"{MESSAGE_ID}-{key}"})


def _errors(status: int, message: str, field: str | None = None, **headers: str) -> Handler:
    body = {"errors": [{"message": message, "field": field, "help": None}]}
    return lambda request: httpx.Response(status, json=body, headers=headers)


def _raise(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("no answer", request=request)

    return handler


# --- the request we build --------------------------------------------------------------


def test_each_message_is_one_mail_send_request_in_the_documented_shape() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accepted(request)

    _provider(handler).send_batch([_message("1"), _message("2")], attempt_key="a1")

    assert len(seen) == 2
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == f"{API}/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "personalizations": [
            {
                "to": [{"email": "reader1@example.org", "name": "山田 太郎"}],
                "subject": "Форум: 東京 — підсумки",
                "headers": {
                    "List-Unsubscribe": UNSUBSCRIBE,
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
                "custom_args": {"campaign_id": "1", "delivery_id": "1", "herald_key": "1"},
            }
        ],
        "from": {"email": "news@herald.test", "name": "Центр Herald"},
        "content": [
            {"type": "text/plain", "value": "Вітаємо — 日本語 1"},
            {"type": "text/html", "value": "<p>Вітаємо — 日本語 1</p>"},
        ],
        "tracking_settings": {
            "click_tracking": {"enable": False, "enable_text": False},
            "open_tracking": {"enable": False},
            "subscription_tracking": {"enable": False},
            "ganalytics": {"enable": False},
        },
    }
    second = json.loads(seen[1].content)["personalizations"][0]
    assert second["to"] == [{"email": "reader2@example.org", "name": "山田 太郎"}]
    assert second["custom_args"]["delivery_id"] == "2"


def test_non_ascii_text_travels_as_utf8_unescaped() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return _accepted(request)

    _provider(handler).send_batch([_message("1")])

    for text in ("Форум: 東京 — підсумки", "山田 太郎", "Центр Herald", "Вітаємо — 日本語"):
        assert text.encode() in bodies[0]
    assert b"\\u" not in bodies[0]


def test_an_empty_body_part_is_left_out() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return _accepted(request)

    _provider(handler).send_batch([replace(_message("1"), text="")])

    assert seen[0]["content"] == [{"type": "text/html", "value": "<p>Вітаємо — 日本語 1</p>"}]


def test_display_names_are_quoted_where_sendgrid_would_split_them() -> None:
    assert display_name("山田 太郎") == "山田 太郎"
    assert display_name("Doe, Jane") == '"Doe, Jane"'
    assert display_name("Dr. Smith; PhD") == '"Dr. Smith; PhD"'
    assert display_name('Say "hi"') == '"Say \\"hi\\""'
    assert display_name("Eve\r\nBcc: x@y") == '"Eve Bcc: x@y"'


# --- what SendGrid answers --------------------------------------------------------------


def test_accepted_messages_carry_the_x_message_id() -> None:
    results = _provider(_accepted).send_batch([_message("1"), _message("2")])

    assert [(r.key, r.accepted, r.provider_message_id) for r in results] == [
        ("1", True, f"{MESSAGE_ID}-1"),
        ("2", True, f"{MESSAGE_ID}-2"),
    ]


def test_a_400_refuses_only_its_message_with_sendgrids_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if b"bad@" in request.content:
            return _errors(
                400, "Does not contain a valid address.", "personalizations.0.to.0.email"
            )(request)
        return _accepted(request)

    messages = [_message("1", to="bad@"), _message("2"), _message("3")]
    refused, second, third = _provider(handler).send_batch(messages)

    assert not refused.accepted
    assert refused.error == (
        "SendGrid HTTP 400: personalizations.0.to.0.email: Does not contain a valid address."
    )
    assert second.accepted and third.accepted


def test_rate_limit_waits_until_the_documented_reset_time() -> None:
    reset = str(int(time.time()) + 30)
    handler = _errors(
        429,
        "too many requests",
        **{"X-RateLimit-Limit": "150", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
    )

    with pytest.raises(ProviderError) as caught:
        _provider(handler).send_batch([_message("1")])

    error = caught.value
    assert error.retryable and error.throttled
    assert error.retry_after is not None and 28 <= error.retry_after <= 30
    assert "too many requests" in str(error)


def test_rate_limit_prefers_retry_after_when_sent() -> None:
    handler = _errors(429, "too many requests", **{"Retry-After": "7"})

    with pytest.raises(ProviderError) as caught:
        _provider(handler).send_batch([_message("1")])

    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(status: int) -> None:
    with pytest.raises(ProviderError) as caught:
        _provider(_errors(status, "internal server error")).send_batch([_message("1")])

    assert caught.value.retryable and not caught.value.throttled
    assert "internal server error" in str(caught.value)


def test_an_error_without_sendgrids_body_still_says_what_came() -> None:
    provider = _provider(lambda request: httpx.Response(502, text="<html>Bad gateway</html>"))

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")])

    assert caught.value.retryable and "Bad gateway" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "The provided authorization grant is invalid, expired, or revoked"),
        (403, "The from address does not match a verified Sender Identity."),
    ],
)
def test_account_errors_fail_the_batch_for_good(status: int, message: str) -> None:
    with pytest.raises(ProviderError) as caught:
        _provider(_errors(status, message, "from")).send_batch([_message("1"), _message("2")])

    assert not caught.value.retryable
    assert str(status) in str(caught.value) and message in str(caught.value)


def test_a_success_other_than_202_is_not_taken_as_sent() -> None:
    # SendGrid answers 200 to a request it validated but did not queue (sandbox mode).
    with pytest.raises(ProviderError) as caught:
        _provider(lambda request: httpx.Response(200)).send_batch([_message("1")])

    assert not caught.value.retryable and "200" in str(caught.value)


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_no_answer_after_sending_is_an_unknown_outcome(error: type[httpx.TransportError]) -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        _provider(_raise(error)).send_batch([_message("1")])

    assert not caught.value.resendable


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout])
def test_a_connect_error_is_retryable(error: type[httpx.TransportError]) -> None:
    with pytest.raises(ProviderError) as caught:
        _provider(_raise(error)).send_batch([_message("1")])

    assert caught.value.retryable


def test_a_failure_after_an_accepted_message_stops_the_batch_and_keeps_the_results() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 2:
            return _errors(429, "too many requests", **{"Retry-After": "1"})(request)
        return _accepted(request)

    results = _provider(handler).send_batch([_message(str(i)) for i in range(4)])

    assert calls == 2
    assert results[0].accepted
    assert [r.accepted for r in results[1:]] == [False, False, False]
    assert results[1].retry and not results[1].unknown
    assert results[2].error and "batch stopped" in results[2].error


def test_a_timeout_after_an_accepted_message_is_reported_as_unknown() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise httpx.ReadTimeout("no answer", request=request)
        return _accepted(request)

    results = _provider(handler).send_batch([_message("1"), _message("2"), _message("3")])

    assert results[0].accepted
    assert results[1].unknown and not results[1].retry
    assert results[2].retry and (results[2].error or "").startswith("not attempted")


def test_no_messages_make_no_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no call expected")

    assert _provider(handler).send_batch([]) == []


def test_the_provider_describes_itself() -> None:
    provider = _provider(_accepted)

    assert (provider.name, provider.idempotent, provider.max_batch_size) == ("sendgrid", False, 100)
    provider.close()
    assert provider._client.is_closed


# --- the signed Event Webhook ------------------------------------------------------------


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


# --- against the sandbox ------------------------------------------------------------------


@pytest.fixture
def sandbox_app() -> Iterator[tuple[FastAPI, str]]:
    app = create_sandbox_app()
    app.include_router(sendgrid_routes(app.state.sandbox))
    base_url, stop = serve_in_thread(app)
    try:
        yield app, base_url
    finally:
        stop()


def _sandbox_provider(
    base_url: str, *, key: str = SANDBOX_TOKEN, timeout: float = 5
) -> SendGridProvider:
    return SendGridProvider(base_url=base_url, api_key=key, timeout=timeout)


def test_the_sandbox_accepts_and_records_each_message(sandbox_app: tuple[FastAPI, str]) -> None:
    app, base_url = sandbox_app
    provider = _sandbox_provider(base_url)

    results = provider.send_batch([_message(str(i), campaign_id="7") for i in range(3)])

    assert all(r.accepted and r.provider_message_id for r in results)
    assert len({r.provider_message_id for r in results}) == 3
    recipients = httpx.get(f"{base_url}/_sandbox/recipients", params={"campaign_id": "7"}).json()
    assert recipients == {f"reader{i}@example.org": 1 for i in range(3)}
    [first, *_] = httpx.get(f"{base_url}/_sandbox/messages").json()
    assert first["id"] == results[0].provider_message_id
    assert first["personalizations"][0]["custom_args"]["herald_key"] == "0"
    assert app.state.sandbox.mailroom.stats()["messages"] == 3
    provider.close()


def test_the_sandbox_refuses_an_invalid_message_like_sendgrid(
    sandbox_app: tuple[FastAPI, str],
) -> None:
    _, base_url = sandbox_app
    provider = _sandbox_provider(base_url)

    good, bad = provider.send_batch([_message("1"), _message("2", to="not-an-address")])

    assert good.accepted and not bad.accepted
    assert bad.error and "400" in bad.error and "personalizations.0.to" in bad.error


def test_the_sandbox_validates_the_documented_rules(sandbox_app: tuple[FastAPI, str]) -> None:
    _, base_url = sandbox_app
    auth = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    request = {
        "personalizations": [
            {"to": [{"email": "a@example.org"}], "headers": {"Subject": "x"}},
            {"to": [{"email": "A@example.org"}], "custom_args": {"n": 1}},
        ],
        "from": {"email": "news@herald.test"},
        "content": [
            {"type": "text/html", "value": "<p>x</p>"},
            {"type": "text/plain", "value": "x"},
        ],
    }

    answer = httpx.post(f"{base_url}/v3/mail/send", json=request, headers=auth)

    assert answer.status_code == 400
    fields = {error["field"] for error in answer.json()["errors"]}
    assert fields == {
        "personalizations.0.subject",
        "personalizations.0.headers",
        "personalizations.1.subject",
        "personalizations.1.custom_args",
        "content",
    }


def test_the_sandbox_takes_the_configured_bearer_key() -> None:
    app = create_sandbox_app(SandboxConfig(resend_api_key="SG.local"))
    app.include_router(sendgrid_routes(app.state.sandbox))
    base_url, stop = serve_in_thread(app)
    try:
        [result] = _sandbox_provider(base_url, key="SG.local").send_batch([_message("1")])
    finally:
        stop()

    assert result.accepted


def test_the_sandbox_refuses_a_wrong_key(sandbox_app: tuple[FastAPI, str]) -> None:
    _, base_url = sandbox_app

    with pytest.raises(ProviderError) as caught:
        _sandbox_provider(base_url, key="SG.wrong").send_batch([_message("1")])

    assert not caught.value.retryable and "401" in str(caught.value)


def test_sandbox_throttling_comes_back_as_a_paced_retry(sandbox_app: tuple[FastAPI, str]) -> None:
    app, base_url = sandbox_app
    app.state.sandbox.faults.update({"throttle_rate": 1.0, "retry_after": 3})

    with pytest.raises(ProviderError) as caught:
        _sandbox_provider(base_url).send_batch([_message("1")])

    error = caught.value
    assert error.throttled and error.retryable
    assert error.retry_after is not None and 2 <= error.retry_after <= 4
    assert app.state.sandbox.mailroom.stats()["throttled"] == 1


def test_sandbox_errors_are_retryable(sandbox_app: tuple[FastAPI, str]) -> None:
    app, base_url = sandbox_app
    app.state.sandbox.faults.update({"error_rate": 1.0})

    with pytest.raises(ProviderError) as caught:
        _sandbox_provider(base_url).send_batch([_message("1")])

    assert caught.value.retryable and "500" in str(caught.value)


def test_a_slow_sandbox_answer_is_an_unknown_outcome_yet_recorded(
    sandbox_app: tuple[FastAPI, str],
) -> None:
    app, base_url = sandbox_app
    app.state.sandbox.faults.update({"slow_rate": 1.0, "slow_seconds": 1.0})

    with pytest.raises(OutcomeUnknown):
        _sandbox_provider(base_url, timeout=0.2).send_batch([_message("1")])

    assert app.state.sandbox.mailroom.stats()["messages"] == 1


def test_reply_to_uses_sendgrids_field_which_refuses_it_among_headers() -> None:
    one = mail_json(replace(_message("1"), reply_to=(Mailbox("desk@herald.test", "Desk"),)))
    two = mail_json(
        replace(_message("1"), reply_to=(Mailbox("a@herald.test"), Mailbox("b@herald.test")))
    )

    assert one["reply_to"] == {"email": "desk@herald.test", "name": "Desk"}
    assert two["reply_to_list"] == [{"email": "a@herald.test"}, {"email": "b@herald.test"}]
    for body in (one, two):
        headers = body["personalizations"][0]["headers"]
        assert not any(name.lower() == "reply-to" for name in headers)
