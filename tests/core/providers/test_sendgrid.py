"""The SendGrid provider: the Mail Send requests it builds and how it reads SendGrid's answers.

The adapter runs against an injected ``httpx.MockTransport`` answering as SendGrid's API
reference shows (202 with ``X-Message-Id``, ``errors`` bodies, rate-limit headers); the round
trip against the sandbox is in ``tests/sandbox/test_sendgrid_round_trip.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from core.message import Mailbox
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.sendgrid import SendGridProvider, display_name, mail_json
from tests.fixtures.providers import UNSUBSCRIBE
from tests.fixtures.providers import sendgrid_message as _message

API_KEY = "SG.test-key"
API = "https://sendgrid.test"
MESSAGE_ID = "14c5d75ce93.dfd.64b469"

Handler = Callable[[httpx.Request], httpx.Response]


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
