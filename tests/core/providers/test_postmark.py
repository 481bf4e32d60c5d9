"""The Postmark provider: the batch requests it builds and how it reads Postmark's answers.

Checked against an injected ``httpx.MockTransport`` answering as Postmark's API reference
shows; the round trip against the sandbox is in ``tests/sandbox/test_postmark_round_trip.py``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from core.message import Mailbox, OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.postmark import PostmarkProvider
from tests.fixtures.providers import api_message as _message

TOKEN = "sandbox-token"
API = "https://postmark.test"

Handler = Callable[[httpx.Request], httpx.Response]


def _provider(handler: Handler, *, base_url: str = API) -> PostmarkProvider:
    return PostmarkProvider(
        base_url=base_url,
        server_token=TOKEN,
        message_stream="broadcast",
        timeout=5,
        transport=httpx.MockTransport(handler),
    )


def _accept_all(request: httpx.Request) -> httpx.Response:
    items = json.loads(request.content)
    return httpx.Response(200, json=[_ok(i, item) for i, item in enumerate(items)])


def _ok(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "ErrorCode": 0,
        "Message": "OK",
        "MessageID": f"pm-{index}",
        "SubmittedAt": "2026-01-15T12:01:05.1794748-05:00",
        "To": item["To"],
    }


def _size(provider: PostmarkProvider, message: OutgoingMessage) -> int:
    return len(json.dumps(provider.message_json(message), ensure_ascii=False).encode())


# --- the request we build --------------------------------------------------------------


def test_batch_request_follows_postmarks_documented_shape() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept_all(request)

    transactional = replace(_message("2"), transactional=True)
    _provider(handler).send_batch([_message("1"), transactional])

    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == f"{API}/email/batch"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Postmark-Server-Token"] == TOKEN
    bulk, confirmation = json.loads(request.content)
    assert bulk == {
        "From": "=?utf-8?b?0KbQtdC90YLRgCBIZXJhbGQ=?= <news@herald.test>",
        "To": "=?utf-8?b?5bGx55SwIOWkqumDjg==?= <reader1@example.org>",
        "Subject": "Форум: 東京 — підсумки",
        "HtmlBody": "<p>Вітаємо — 日本語</p>",
        "TextBody": "Вітаємо — 日本語",
        "Headers": [
            {
                "Name": "List-Unsubscribe",
                "Value": "<https://x/u/1>, <mailto:u@x?subject=unsubscribe>",
            },
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
            {"Name": "Message-ID", "Value": "<1@herald.test>"},
        ],
        "Metadata": {"campaign_id": "1", "delivery_id": "1", "herald_key": "1"},
        "MessageStream": "broadcast",
        "TrackOpens": False,
        "TrackLinks": "None",
    }
    assert confirmation["MessageStream"] == "outbound"


def test_batches_are_split_by_count_and_by_size() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sizes.append(len(request.content))
        return _accept_all(request)

    provider = _provider(handler)
    results = provider.send_batch([_message(str(i)) for i in range(501)])
    assert [r.key for r in results] == [str(i) for i in range(501)]
    assert all(r.accepted for r in results)
    assert len(sizes) == 2

    sizes.clear()
    one = _size(provider, _message("1"))
    provider.max_batch_bytes = 2 * one + 5  # room for two messages per call
    results = provider.send_batch([_message(str(i)) for i in range(5)])
    assert len(sizes) == 3 and max(sizes) <= provider.max_batch_bytes
    assert [r.key for r in results] == ["0", "1", "2", "3", "4"]


def test_a_failure_after_an_accepted_call_keeps_the_accepted_results() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return _accept_all(request) if calls == 1 else httpx.Response(500)

    provider = _provider(handler)
    provider.max_batch_bytes = _size(provider, _message("1")) + 5

    first, second = provider.send_batch([_message("1"), _message("2")])

    assert first.accepted and first.provider_message_id == "pm-0"
    assert not second.accepted and second.error and "not sent (retryable)" in second.error


# --- answers of the whole call ---------------------------------------------------------


def test_per_message_errors_in_a_200_are_rejections() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json=[
                _ok(0, {"To": "a"}),
                {"ErrorCode": 406, "Message": "You tried to send to inactive recipient(s)."},
            ],
        )

    accepted, rejected = _provider(handler).send_batch([_message("1"), _message("2")])

    assert accepted.accepted and accepted.provider_message_id == "pm-0"
    assert not rejected.accepted
    assert rejected.error == "406: You tried to send to inactive recipient(s)."


def test_rate_limit_is_retryable_with_retry_after() -> None:
    provider = _provider(lambda request: httpx.Response(429, headers={"Retry-After": "7"}))

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")])

    assert caught.value.retryable and caught.value.retry_after == 7.0
    assert caught.value.throttled


def test_server_error_is_retryable() -> None:
    body = {"ErrorCode": 100, "Message": "Maintenance"}
    provider = _provider(lambda request: httpx.Response(500, json=body))

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")])

    assert caught.value.retryable and caught.value.retry_after is None


def test_unprocessable_request_is_not_retryable_and_says_why() -> None:
    body = {"ErrorCode": 300, "Message": "Invalid 'From' address."}
    provider = _provider(lambda request: httpx.Response(422, json=body))

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")])

    assert not caught.value.retryable
    assert "422" in str(caught.value) and "300: Invalid 'From' address." in str(caught.value)


def test_a_200_with_the_wrong_number_of_results_is_an_error() -> None:
    provider = _provider(lambda request: httpx.Response(200, json=[_ok(0, {"To": "a"})]))

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1"), _message("2")])

    assert not caught.value.retryable and "1 results for 2 messages" in str(caught.value)


def test_a_read_timeout_means_the_outcome_is_unknown() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    with pytest.raises(OutcomeUnknown):
        _provider(handler).send_batch([_message("1")])


def test_a_connect_error_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderError) as caught:
        _provider(handler).send_batch([_message("1")])

    assert caught.value.retryable


def test_nothing_listening_is_a_retryable_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = PostmarkProvider(f"http://127.0.0.1:{port}", TOKEN, "broadcast", 2)

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")])

    assert caught.value.retryable
    provider.close()


def test_reply_to_and_list_headers_travel_once_each() -> None:
    message = replace(
        _message("1"),
        headers={**_message("1").headers, "List-Id": "<news.lists.herald.test>"},
        reply_to=(Mailbox("desk@herald.test", "Desk"),),
    )
    body = _provider(lambda request: httpx.Response(200)).message_json(message)

    names = [header["Name"].lower() for header in body["Headers"]]
    assert len(names) == len(set(names))
    assert "reply-to" not in names and "message-id" in names and "list-id" in names
    assert body["ReplyTo"] == "Desk <desk@herald.test>"
