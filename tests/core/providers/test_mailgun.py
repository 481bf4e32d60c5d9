"""The Mailgun provider and webhook reader: requests, answers, signatures, events, sandbox.

Request shapes and answers are checked against an injected ``httpx.MockTransport`` answering
as Mailgun's API reference shows; webhook signatures with Mailgun's documented verification
function; the round trip against the local sandbox served over real HTTP.
"""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import httpx
import orjson
import pytest

from core.message import Mailbox, OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.events import WebhookRefused
from core.providers.mailgun import MAX_BATCH_SIZE, MailgunProvider, api_root, messages_mime_path
from core.providers.mailgun_webhooks import MailgunWebhooks, MemorySeenTokens, RedisSeenTokens
from sandbox import SANDBOX_TOKEN, create_sandbox_app, serve_in_thread
from sandbox.mailgun import mailgun_routes

API_KEY = "key-test"
API = "https://mailgun.test"
DOMAIN = "mg.herald.test"
# The id in Mailgun's documented sample answer.
DOC_ID = "<20111114174239.25659.5817@samples.mailgun.org>"
QUEUED = {"id": DOC_ID, "message": "Queued. Thank you."}
SIGNING_KEY = "test-webhook-signing-key"
# The token and timestamp of Mailgun's documented signature example.
DOC_TOKEN = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
DOC_TIMESTAMP = "1770920772"

Handler = Callable[[httpx.Request], httpx.Response]


def _message(key: str, *, campaign_id: str = "1") -> OutgoingMessage:
    return OutgoingMessage(
        key=key,
        sender=Mailbox("news@herald.test", "Центр Herald"),
        to=Mailbox(f"reader{key}@example.org", "山田 太郎"),
        subject="Форум: 東京 — підсумки",
        html="<p>Вітаємо — 日本語</p>",
        text="Вітаємо — 日本語",
        message_id=f"<{key}@herald.test>",
        headers={
            "List-Unsubscribe": f"<https://x/u/{key}>, <mailto:u@x?subject=unsubscribe>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        metadata={"campaign_id": campaign_id, "delivery_id": key},
    )


def _provider(handler: Handler) -> MailgunProvider:
    return MailgunProvider(
        base_url=API,
        api_key=API_KEY,
        domain=DOMAIN,
        timeout=5,
        transport=httpx.MockTransport(handler),
    )


def _queued(request: httpx.Request) -> httpx.Response:
    key = _form(request)["v:herald_key"].decode()
    return httpx.Response(200, json={"id": f"<{key}@{DOMAIN}>", "message": "Queued. Thank you."})


def _error(status: int, message: str, **headers: str) -> Handler:
    return lambda request: httpx.Response(status, json={"message": message}, headers=headers)


def _raise(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("no answer", request=request)

    return handler


def _form(request: httpx.Request) -> dict[str, bytes]:
    """The fields of a multipart/form-data request, by name."""
    boundary = request.headers["Content-Type"].partition("boundary=")[2].encode()
    fields: dict[str, bytes] = {}
    for part in request.content.split(b"--" + boundary)[1:-1]:
        head, _, value = part[2:-2].partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        assert name is not None
        fields[name.group(1).decode()] = value
    return fields


def _mime(request: httpx.Request) -> EmailMessage:
    parsed = email.message_from_bytes(_form(request)["message"], policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


# --- the request we build --------------------------------------------------------------


def test_a_message_is_one_documented_mime_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=QUEUED)

    _provider(handler).send_batch([_message("1")], attempt_key="a1")

    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == f"{API}/v3/{DOMAIN}/messages.mime"
    credentials = base64.b64encode(f"api:{API_KEY}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    fields = _form(request)
    assert {name: value for name, value in fields.items() if name != "message"} == {
        "to": b"reader1@example.org",
        "v:campaign_id": b"1",
        "v:delivery_id": b"1",
        "v:herald_key": b"1",
        "o:tracking": b"no",
        "o:tracking-clicks": b"no",
        "o:tracking-opens": b"no",
    }
    assert b'name="message"; filename="message.mime"' in request.content


def test_the_mime_keeps_our_message_id_headers_and_scripts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=QUEUED)

    _provider(handler).send_batch([_message("7")])

    raw = _form(seen[0])["message"]
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    # On the wire, not only once decoded: structured headers are never encoded-words.
    assert b"\r\nList-Unsubscribe: <https://x/u/7>," in raw
    mime = _mime(seen[0])
    assert mime["Message-ID"] == "<7@herald.test>"
    assert mime["Date"]
    assert mime["Subject"] == "Форум: 東京 — підсумки"
    assert mime["From"] == "Центр Herald <news@herald.test>"
    assert mime["To"] == "山田 太郎 <reader7@example.org>"
    assert mime["List-Unsubscribe"] == "<https://x/u/7>, <mailto:u@x?subject=unsubscribe>"
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = mime.get_body(("plain",)), mime.get_body(("html",))
    assert text is not None and text.get_content().rstrip() == "Вітаємо — 日本語"
    assert html is not None and html.get_content().rstrip() == "<p>Вітаємо — 日本語</p>"


def test_a_batch_is_one_request_per_message_in_order() -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(_form(request)["v:herald_key"].decode())
        return _queued(request)

    results = _provider(handler).send_batch([_message(str(i)) for i in range(3)])

    assert keys == ["0", "1", "2"]
    assert [(r.key, r.accepted, r.provider_message_id) for r in results] == [
        (str(i), True, f"<{i}@{DOMAIN}>") for i in range(3)
    ]


def test_metadata_outside_mailguns_variable_names_is_left_out() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=QUEUED)

    message = replace(_message("5"), metadata={"campaign_id": "9", "мова": "uk", "a b": "c"})
    _provider(handler).send_batch([message])

    variables = {name for name in _form(seen[0]) if name.startswith("v:")}
    assert variables == {"v:campaign_id", "v:herald_key"}


def test_the_api_root_accepts_the_v3_form_and_domains_cannot_change_the_path() -> None:
    assert api_root("https://api.eu.mailgun.net/v3/") == "https://api.eu.mailgun.net"
    assert api_root("https://api.mailgun.net") == "https://api.mailgun.net"
    assert messages_mime_path("mg.example.org") == "/v3/mg.example.org/messages.mime"
    for domain in ("", "mg.example.org/../x", " mg.example.org", "mg\n.example.org"):
        with pytest.raises(ValueError, match="sending domain"):
            messages_mime_path(domain)


def test_the_provider_is_named_and_not_idempotent() -> None:
    provider = _provider(lambda request: httpx.Response(200, json=QUEUED))

    assert (provider.name, provider.idempotent, provider.max_batch_size) == (
        "mailgun", False, MAX_BATCH_SIZE,
    )  # fmt: skip
    provider.close()
    assert provider._client.is_closed


# --- what Mailgun answers --------------------------------------------------------------


def test_the_documented_answer_gives_the_message_its_id() -> None:
    [result] = _provider(lambda request: httpx.Response(200, json=QUEUED)).send_batch(
        [_message("1")]
    )

    assert (result.key, result.accepted, result.provider_message_id) == ("1", True, DOC_ID)


@pytest.mark.parametrize("body", [{"message": "Queued. Thank you."}, {"id": ""}, "Mailgun API"])
def test_a_200_without_an_id_is_an_unknown_outcome(body: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(200, text=body)
        return httpx.Response(200, json=body)

    with pytest.raises(OutcomeUnknown) as caught:
        _provider(handler).send_batch([_message("1")])

    assert not caught.value.resendable


def test_a_refused_message_is_reported_and_the_batch_goes_on() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if _form(request)["to"] == b"reader2@example.org":
            return httpx.Response(
                400, json={"message": "to parameter is not a valid address. please check docs"}
            )
        return _queued(request)

    results = _provider(handler).send_batch([_message(str(i)) for i in (1, 2, 3)])

    assert [r.accepted for r in results] == [True, False, True]
    assert results[1].error == (
        "Mailgun HTTP 400: to parameter is not a valid address. please check docs"
    )


def test_a_message_too_large_is_refused_alone() -> None:
    [result] = _provider(_error(413, "Request Entity Too Large")).send_batch([_message("1")])

    assert not result.accepted and result.error and "413" in result.error


def test_rate_limit_is_retryable_after_retry_after() -> None:
    handler = _error(429, "Too many requests", **{"Retry-After": "7"})

    with pytest.raises(ProviderError) as caught:
        _provider(handler).send_batch([_message("1")])

    assert caught.value.retryable and caught.value.throttled
    assert caught.value.retry_after == 7.0


def test_rate_limit_without_retry_after_leaves_the_wait_to_backoff() -> None:
    with pytest.raises(ProviderError) as caught:
        _provider(_error(429, "Too many requests")).send_batch([_message("1")])

    assert caught.value.throttled and caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(status: int) -> None:
    provider = _provider(lambda request: httpx.Response(status, text="<html>oops</html>"))

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")])

    assert caught.value.retryable and not caught.value.throttled
    assert f"Mailgun HTTP {status}: <html>oops</html>" in str(caught.value)


def test_a_gateway_timeout_is_an_unknown_outcome() -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        _provider(_error(504, "Gateway Timeout")).send_batch([_message("1")])

    assert not caught.value.resendable


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, "Invalid private key"), (402, "Request failed"), (404, f"Domain not found: {DOMAIN}")],
)
def test_failures_of_every_message_are_not_retryable(status: int, message: str) -> None:
    with pytest.raises(ProviderError) as caught:
        _provider(_error(status, message)).send_batch([_message("1"), _message("2")])

    assert not caught.value.retryable
    assert str(caught.value) == f"Mailgun HTTP {status}: {message}"


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_no_answer_after_sending_is_unknown_and_never_resent(
    error: type[httpx.TransportError],
) -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        _provider(_raise(error)).send_batch([_message("1")])

    assert not caught.value.resendable


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_a_request_that_never_left_is_retryable(error: type[httpx.TransportError]) -> None:
    with pytest.raises(ProviderError) as caught:
        _provider(_raise(error)).send_batch([_message("1")])

    assert caught.value.retryable


def test_refusals_alone_do_not_stop_a_later_failure_from_raising() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(400, json={"message": "'to' parameter is missing"})
        return httpx.Response(503, text="unavailable")

    with pytest.raises(ProviderError) as caught:
        _provider(handler).send_batch([_message("1"), _message("2")])

    assert caught.value.retryable


# --- a failure after an acceptance -----------------------------------------------------


def _fails_after_first(failure: Handler) -> tuple[Handler, list[str]]:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(_form(request)["v:herald_key"].decode())
        return _queued(request) if len(sent) == 1 else failure(request)

    return handler, sent


def test_a_throttle_after_an_acceptance_ends_the_batch_without_losing_the_acceptance() -> None:
    handler, sent = _fails_after_first(_error(429, "Too many requests", **{"Retry-After": "2"}))

    first, second, third = _provider(handler).send_batch([_message(str(i)) for i in (1, 2, 3)])

    assert sent == ["1", "2"]  # nothing more is sent into a throttle
    assert first.accepted and first.provider_message_id == f"<1@{DOMAIN}>"
    assert not second.accepted and second.error
    assert second.retry and "Mailgun HTTP 429" in second.error
    assert not third.accepted and third.error
    assert third.retry and third.error.startswith("not attempted")


def test_silence_after_an_acceptance_reports_that_message_unknown() -> None:
    handler, sent = _fails_after_first(_raise(httpx.ReadTimeout))

    first, second, third = _provider(handler).send_batch([_message(str(i)) for i in (1, 2, 3)])

    assert sent == ["1", "2"]
    assert first.accepted
    assert second.unknown and not second.retry
    assert third.retry and (third.error or "").startswith("not attempted")


def test_no_messages_make_no_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no call expected")

    assert _provider(handler).send_batch([]) == []


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
        "delivered", 42, "reader42@example.org",
    )  # fmt: skip


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


# --- against the sandbox over HTTP -----------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    app = create_sandbox_app()
    app.include_router(mailgun_routes(app.state.sandbox))
    base_url, stop = serve_in_thread(app)
    yield base_url
    stop()


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[MailgunProvider]:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    _faults(sandbox_url, throttle_rate=0.0, error_rate=0.0, slow_rate=0.0)
    provider = MailgunProvider(sandbox_url, SANDBOX_TOKEN, DOMAIN, timeout=5)
    yield provider
    provider.close()


def _faults(sandbox_url: str, **settings: Any) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/faults", json=settings).raise_for_status()


def test_sandbox_records_each_message_with_our_keys(
    sandbox: MailgunProvider, sandbox_url: str
) -> None:
    results = sandbox.send_batch([_message(str(i), campaign_id="3") for i in range(3)])

    assert all(r.accepted for r in results)
    ids = [r.provider_message_id for r in results]
    assert len(set(ids)) == 3 and all(i and i.endswith(f"@{DOMAIN}>") for i in ids)
    recorded = httpx.get(f"{sandbox_url}/_sandbox/messages").json()
    assert [m["id"] for m in recorded] == ids
    assert [m["v:herald_key"] for m in recorded] == ["0", "1", "2"]
    assert recorded[0]["to"] == ["reader0@example.org"] and recorded[0]["o:tracking"] == "no"
    assert "Message-ID: <0@herald.test>" in recorded[0]["message"]
    recipients = httpx.get(f"{sandbox_url}/_sandbox/recipients", params={"campaign_id": "3"})
    assert recipients.json() == {f"reader{i}@example.org": 1 for i in range(3)}


def test_sandbox_refuses_an_invalid_address_alone(
    sandbox: MailgunProvider, sandbox_url: str
) -> None:
    invalid = replace(_message("2"), to=Mailbox("not-an-address"))

    first, second, third = sandbox.send_batch([_message("1"), invalid, _message("3")])

    assert first.accepted and third.accepted and not second.accepted
    assert second.error and second.error.startswith("Mailgun HTTP 400: to parameter is not")
    assert httpx.get(f"{sandbox_url}/_sandbox/stats").json()["messages"] == 2


def test_sandbox_refuses_a_wrong_key(sandbox_url: str) -> None:
    provider = MailgunProvider(sandbox_url, "wrong-key", DOMAIN, timeout=5)

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")])

    assert not caught.value.retryable and "Mailgun HTTP 401" in str(caught.value)
    provider.close()


def test_sandbox_throttling_is_a_throttle(sandbox: MailgunProvider, sandbox_url: str) -> None:
    _faults(sandbox_url, throttle_rate=1.0, retry_after=3)

    with pytest.raises(ProviderError) as caught:
        sandbox.send_batch([_message("1")])

    assert caught.value.throttled and caught.value.retry_after == 3.0
    assert httpx.get(f"{sandbox_url}/_sandbox/stats").json()["messages"] == 0


def test_sandbox_errors_are_retryable(sandbox: MailgunProvider, sandbox_url: str) -> None:
    _faults(sandbox_url, error_rate=1.0)

    with pytest.raises(ProviderError) as caught:
        sandbox.send_batch([_message("1")])

    assert caught.value.retryable and "Mailgun HTTP 500" in str(caught.value)


def test_sandbox_slow_answer_is_unknown_but_the_message_was_queued(sandbox_url: str) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    _faults(sandbox_url, slow_rate=1.0, slow_seconds=1.5, throttle_rate=0.0, error_rate=0.0)
    provider = MailgunProvider(sandbox_url, SANDBOX_TOKEN, DOMAIN, timeout=0.5)

    try:
        with pytest.raises(OutcomeUnknown):
            provider.send_batch([_message("1")])
    finally:
        provider.close()
        _faults(sandbox_url, slow_rate=0.0)

    assert httpx.get(f"{sandbox_url}/_sandbox/stats").json()["messages"] == 1


def test_sandbox_accepts_mailguns_component_form(sandbox_url: str) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    fields = {
        "from": "Центр Herald <news@herald.test>",
        "to": "reader@example.org",
        "subject": "Форум — 東京",
        "text": "Вітаємо",
        "v:campaign_id": "5",
        "v:herald_key": "55",
    }

    answer = httpx.post(
        f"{sandbox_url}/v3/{DOMAIN}/messages", data=fields, auth=("api", SANDBOX_TOKEN)
    )
    missing = httpx.post(
        f"{sandbox_url}/v3/{DOMAIN}/messages",
        data={**fields, "text": ""},
        auth=("api", SANDBOX_TOKEN),
    )

    assert answer.status_code == 200 and answer.json()["message"] == "Queued. Thank you."
    assert missing.status_code == 400 and "text" in missing.json()["message"]
    [recorded] = httpx.get(f"{sandbox_url}/_sandbox/messages").json()
    assert recorded["subject"] == "Форум — 東京" and recorded["v:herald_key"] == "55"
    recipients = httpx.get(f"{sandbox_url}/_sandbox/recipients", params={"campaign_id": "5"})
    assert recipients.json() == {"reader@example.org": 1}


def test_a_token_used_through_one_web_process_is_refused_by_another(redis_url: str) -> None:
    first, second = _reader(RedisSeenTokens(redis_url)), _reader(RedisSeenTokens(redis_url))
    first.verify({}, _body())

    with pytest.raises(WebhookRefused) as caught:
        second.verify({}, _body(_event("complained", id="forged")))

    assert caught.value.status == 401 and "already used" in str(caught.value)
