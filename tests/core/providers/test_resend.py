"""The Resend provider: the request it builds, and how it reads every kind of answer.

Everything runs against an injected ``httpx.MockTransport`` answering with the payloads of
Resend's API reference (ids, per-index errors, error bodies).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest

from core.message import Mailbox
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.resend import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    idempotency_key,
    mailbox_text,
    message_json,
)
from tests.fixtures.providers import (
    RESEND_API,
    RESEND_API_KEY,
    RESEND_DOC_IDS,
    RESEND_DOC_IDS_JSON,
    Handler,
    resend_accepting_all,
    resend_provider,
)
from tests.fixtures.providers import api_message as _message


def _error(status: int, name: str, message: str, **headers: str) -> Handler:
    body = {"statusCode": status, "name": name, "message": message}
    return lambda request: httpx.Response(status, json=body, headers=headers)


def _raise(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("no answer", request=request)

    return handler


# --- the request we build --------------------------------------------------------------


def test_batch_request_follows_resends_documented_shape() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return resend_accepting_all(request)

    resend_provider(handler).send_batch([_message("1")], attempt_key="a1b2")

    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == f"{RESEND_API}/emails/batch"
    assert request.headers["Authorization"] == f"Bearer {RESEND_API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["x-batch-validation"] == "permissive"
    assert request.headers["Idempotency-Key"] == "herald-a1b2"
    assert json.loads(request.content) == [
        {
            "from": "Центр Herald <news@herald.test>",
            "to": ["山田 太郎 <reader1@example.org>"],
            "subject": "Форум: 東京 — підсумки",
            "html": "<p>Вітаємо — 日本語</p>",
            "text": "Вітаємо — 日本語",
            "headers": {
                "List-Unsubscribe": "<https://x/u/1>, <mailto:u@x?subject=unsubscribe>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            "tags": [
                {"name": "campaign_id", "value": "1"},
                {"name": "delivery_id", "value": "1"},
                {"name": "herald_key", "value": "1"},
            ],
        }
    ]


def test_non_ascii_text_travels_as_utf8_unescaped() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return resend_accepting_all(request)

    resend_provider(handler).send_batch([_message("1")], attempt_key="k")

    for text in ("Форум: 東京 — підсумки", "山田 太郎", "Центр Herald", "Вітаємо — 日本語"):
        assert text.encode() in bodies[0]
    assert b"\\u" not in bodies[0]


def test_a_retry_of_the_same_attempt_sends_the_identical_request() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return resend_accepting_all(request)

    provider = resend_provider(handler)
    messages = [_message("1"), _message("2")]
    first = provider.send_batch(messages, attempt_key="attempt-7")
    again = provider.send_batch(messages, attempt_key="attempt-7")

    assert first == again
    assert requests[0].content == requests[1].content
    assert requests[0].headers["Idempotency-Key"] == requests[1].headers["Idempotency-Key"]


def test_without_an_attempt_key_no_idempotency_header_is_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return resend_accepting_all(request)

    resend_provider(handler).send_batch([_message("1")])

    assert "Idempotency-Key" not in seen[0].headers


def test_metadata_outside_resends_tag_characters_is_left_out() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return resend_accepting_all(request)

    message = replace(
        _message("5"),
        metadata={"campaign_id": "9", "source": "forum/2026", "мова": "uk", "lang": "uk"},
    )
    resend_provider(handler).send_batch([message], attempt_key="k")

    [email] = json.loads(seen[0].content)
    assert email["tags"] == [
        {"name": "campaign_id", "value": "9"},
        {"name": "lang", "value": "uk"},
        {"name": "herald_key", "value": "5"},
    ]


def test_display_names_are_quoted_where_needed_and_cannot_break_lines() -> None:
    assert mailbox_text(Mailbox("a@example.org")) == "a@example.org"
    assert mailbox_text(Mailbox("a@example.org", "Doe, Jane")) == '"Doe, Jane" <a@example.org>'
    assert mailbox_text(Mailbox("a@example.org", 'Say "hi"')) == '"Say \\"hi\\"" <a@example.org>'
    assert mailbox_text(Mailbox("a@example.org", "Eve\r\nBcc: x@y")) == (
        '"Eve Bcc: x@y" <a@example.org>'
    )


def test_idempotency_keys_stay_within_resends_limit() -> None:
    assert idempotency_key("") == ""
    assert idempotency_key("abc") == "herald-abc"
    assert idempotency_key("abc", 2) == "herald-abc-2"
    long = idempotency_key("x" * 300)
    assert len(long) <= MAX_IDEMPOTENCY_KEY_LENGTH and long == idempotency_key("x" * 300)
    assert idempotency_key("ключ").isascii()


# --- what Resend answers ---------------------------------------------------------------


def test_documented_answer_gives_each_message_its_id() -> None:
    provider = resend_provider(
        lambda request: httpx.Response(200, json={"data": RESEND_DOC_IDS_JSON})
    )

    first, second = provider.send_batch([_message("1"), _message("2")], attempt_key="k")

    assert (first.key, first.accepted, first.provider_message_id) == ("1", True, RESEND_DOC_IDS[0])
    assert (second.key, second.accepted, second.provider_message_id) == (
        "2",
        True,
        RESEND_DOC_IDS[1],
    )


def test_permissive_errors_refuse_only_the_indexed_message() -> None:
    # Resend's documented permissive answer: the email at index 2 lacked its `to`.
    body = {
        "data": RESEND_DOC_IDS_JSON,
        "errors": [{"index": 2, "message": "The `to` field is missing."}],
    }
    provider = resend_provider(lambda request: httpx.Response(200, json=body))

    results = provider.send_batch([_message("1"), _message("2"), _message("3")], attempt_key="k")

    assert [(r.key, r.accepted, r.provider_message_id) for r in results] == [
        ("1", True, RESEND_DOC_IDS[0]),
        ("2", True, RESEND_DOC_IDS[1]),
        ("3", False, None),
    ]
    assert results[2].error == "The `to` field is missing."


def test_ids_skip_the_refused_index_in_the_middle() -> None:
    body = {"data": RESEND_DOC_IDS_JSON, "errors": [{"index": 0, "message": "Invalid `to` field."}]}
    provider = resend_provider(lambda request: httpx.Response(200, json=body))

    refused, second, third = provider.send_batch(
        [_message("1"), _message("2"), _message("3")], attempt_key="k"
    )

    assert not refused.accepted and refused.error == "Invalid `to` field."
    assert [second.provider_message_id, third.provider_message_id] == RESEND_DOC_IDS


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"id": RESEND_DOC_IDS[0]}]},
        {"data": RESEND_DOC_IDS_JSON, "errors": [{"index": 1, "message": "x"}]},
        {"data": [{"id": RESEND_DOC_IDS[0]}], "errors": [{"index": 5, "message": "x"}]},
        {"data": [{"id": RESEND_DOC_IDS[0]}, {"id": ""}]},
        {"id": RESEND_DOC_IDS[0]},
        "not json at all",
    ],
)
def test_a_200_that_does_not_account_for_every_message_is_an_unknown_outcome(body: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(200, text=body)
        return httpx.Response(200, json=body)

    with pytest.raises(OutcomeUnknown) as caught:
        resend_provider(handler).send_batch([_message("1"), _message("2")], attempt_key="k")

    assert not caught.value.resendable


def test_rate_limit_is_retryable_after_retry_after() -> None:
    handler = _error(429, "rate_limit_exceeded", "Too many requests.", **{"retry-after": "7"})

    with pytest.raises(ProviderError) as caught:
        resend_provider(handler).send_batch([_message("1")], attempt_key="k")

    assert caught.value.retryable and caught.value.retry_after == 7.0
    assert caught.value.throttled
    assert "rate_limit_exceeded" in str(caught.value)


def test_rate_limit_without_retry_after_waits_for_the_window_reset() -> None:
    handler = _error(
        429,
        "rate_limit_exceeded",
        "Too many requests.",
        **{"ratelimit-limit": "2", "ratelimit-remaining": "0", "ratelimit-reset": "1"},
    )

    with pytest.raises(ProviderError) as caught:
        resend_provider(handler).send_batch([_message("1")], attempt_key="k")

    assert caught.value.retryable and caught.value.retry_after == 1.0


def test_server_error_is_retryable() -> None:
    handler = _error(500, "application_error", "Something went wrong.")

    with pytest.raises(ProviderError) as caught:
        resend_provider(handler).send_batch([_message("1")], attempt_key="k")

    assert caught.value.retryable and caught.value.retry_after is None


def test_a_concurrent_request_with_the_same_key_is_retried_soon() -> None:
    handler = _error(
        409,
        "concurrent_idempotent_requests",
        "Same idempotency key used while original request is still in progress.",
    )

    with pytest.raises(ProviderError) as caught:
        resend_provider(handler).send_batch([_message("1")], attempt_key="k")

    assert caught.value.retryable
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 5
    assert not caught.value.throttled  # our own retry racing itself: slow nobody else


def test_the_same_key_with_a_changed_payload_is_unknown_for_good() -> None:
    handler = _error(
        409,
        "invalid_idempotent_request",
        "Same idempotency key used with a different request payload.",
    )

    with pytest.raises(OutcomeUnknown) as caught:
        resend_provider(handler).send_batch([_message("1")], attempt_key="k")

    assert not caught.value.resendable
    assert "different request payload" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "name", "message"),
    [
        (422, "validation_error", "Invalid `from` field."),
        (400, "invalid_idempotency_key", "The key must be between 1-256 chars."),
        (401, "missing_api_key", "Missing API key in the authorization header."),
        (403, "invalid_api_key", "API key is invalid."),
    ],
)
def test_other_client_errors_are_not_retryable_and_say_why(
    status: int, name: str, message: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        resend_provider(_error(status, name, message)).send_batch([_message("1")], attempt_key="k")

    assert not caught.value.retryable
    assert str(status) in str(caught.value) and message in str(caught.value)


def test_an_error_without_resends_body_still_says_what_came() -> None:
    provider = resend_provider(lambda request: httpx.Response(502, text="<html>Bad gateway</html>"))

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")], attempt_key="k")

    assert caught.value.retryable and "Bad gateway" in str(caught.value)


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_no_answer_after_sending_is_unknown_but_replayable(
    error: type[httpx.TransportError],
) -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        resend_provider(_raise(error)).send_batch([_message("1")], attempt_key="k")

    assert caught.value.resendable


def test_no_answer_without_a_key_cannot_be_resent() -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        resend_provider(_raise(httpx.ReadTimeout)).send_batch([_message("1")])

    assert not caught.value.resendable


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout])
def test_a_connect_error_is_retryable(error: type[httpx.TransportError]) -> None:
    with pytest.raises(ProviderError) as caught:
        resend_provider(_raise(error)).send_batch([_message("1")], attempt_key="k")

    assert caught.value.retryable


def test_reply_to_goes_in_its_own_field_not_among_headers() -> None:
    message = replace(_message("1"), reply_to=(Mailbox("desk@herald.test", "Деск"),))
    body = message_json(message)

    assert body["reply_to"] == ["Деск <desk@herald.test>"]
    assert not any(name.lower() == "reply-to" for name in body["headers"])
    assert body["headers"]["List-Unsubscribe"] == message.headers["List-Unsubscribe"]
