"""The SES provider: the SendEmail requests it signs and sends, and how it reads SES's answers.

The provider runs against an injected ``httpx.MockTransport`` answering as SES's API v2
reference documents (``{"MessageId"}``, REST-JSON errors named by ``x-amzn-ErrorType``); the
round trip against the sandbox is in ``tests/sandbox/test_ses_round_trip.py``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

import httpx
import pytest

from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.ses import SesProvider, default_base_url
from core.providers.sigv4 import check
from tests.fixtures.providers import ses_message as _message

API = "https://email.eu-west-1.amazonaws.com"
KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# The keys of SendEmail's documented request syntax that Herald may send.
DOCUMENTED_REQUEST_KEYS = {"ConfigurationSetName", "Content", "Destination", "EmailTags"}

Handler = Callable[[httpx.Request], httpx.Response]


def _provider(handler: Handler, **options: Any) -> SesProvider:
    return SesProvider(
        "eu-west-1", KEY_ID, SECRET, timeout=5, transport=httpx.MockTransport(handler), **options
    )


def _accept(request: httpx.Request) -> httpx.Response:
    key = json.loads(request.content)["EmailTags"][-1]["Value"]
    return httpx.Response(200, json={"MessageId": f"ses-{key}"})


def _error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"message": message}, headers={"x-amzn-ErrorType": code, **headers}
    )


def _mime(request: httpx.Request) -> Any:
    data = base64.b64decode(json.loads(request.content)["Content"]["Raw"]["Data"])
    return data, BytesParser(policy=policy.default).parsebytes(data)


# --- the request we build --------------------------------------------------------------


def test_send_email_request_follows_the_documented_shape() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    _provider(handler, configuration_set="herald-events").send_batch([_message("7")])

    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == f"{API}/v2/email/outbound-emails"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert set(body) == DOCUMENTED_REQUEST_KEYS
    assert set(body["Content"]) == {"Raw"}
    assert body["Destination"] == {"ToAddresses": ["reader7@example.org"]}
    assert body["ConfigurationSetName"] == "herald-events"
    assert body["EmailTags"] == [
        {"Name": "campaign_id", "Value": "1"},
        {"Name": "delivery_id", "Value": "7"},
        {"Name": "herald_key", "Value": "7"},
    ]


def test_each_request_is_signed_for_ses_in_its_region() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    _provider(handler).send_batch([_message("1")])

    [request] = seen
    assert (
        request.headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/")
        and "/eu-west-1/ses/aws4_request, SignedHeaders=content-type;host;x-amz-date,"
        in (request.headers["Authorization"])
    )
    path, _, query = request.url.raw_path.decode().partition("?")
    signer = check(
        method="POST",
        path=path,
        query=query,
        headers=request.headers.multi_items(),
        payload=request.content,
        secrets={KEY_ID: SECRET},
        service="ses",
        now=datetime.now(UTC),
    )
    assert signer == KEY_ID


def test_raw_content_is_our_mime_in_seven_bits_with_per_recipient_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    long_html = "<p>Вітаємо — 日本語</p>" + "<span>x</span>" * 400
    _provider(handler).send_batch([_message("1", html=long_html), _message("2")])

    for key, request in zip(("1", "2"), seen, strict=True):
        raw, mime = _mime(request)
        assert raw.isascii()
        assert f"\r\nList-Unsubscribe: <https://x/u/{key}>,".encode() in raw
        assert max(len(line) for line in raw.split(b"\r\n")) <= 1000
        assert mime["To"] == "山田 太郎 <reader" + key + "@example.org>"
        assert mime["Subject"] == "Форум: 東京 — підсумки"
        assert mime["Message-ID"] == f"<{key}@herald.test>"
        assert mime["List-Unsubscribe"] == f"<https://x/u/{key}>, <mailto:u@x?subject=unsubscribe>"
        assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text, html = (part.get_content() for part in mime.iter_parts())
        assert text.strip() == "Вітаємо — 日本語"
        assert html.strip() == (long_html if key == "1" else "<p>Вітаємо — 日本語</p>")


def test_tags_outside_ses_characters_are_left_out() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    _provider(handler).send_batch([_message("1", campaign_id="весна 2026")])

    tags = json.loads(seen[0].content)["EmailTags"]
    assert [tag["Name"] for tag in tags] == ["delivery_id", "herald_key"]


def test_no_configuration_set_means_none_is_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    _provider(handler).send_batch([_message("1")])
    assert "ConfigurationSetName" not in json.loads(seen[0].content)


def test_default_endpoint_is_the_regions_api() -> None:
    assert default_base_url("ap-northeast-1") == "https://email.ap-northeast-1.amazonaws.com"


# --- the answers -----------------------------------------------------------------------


def test_one_call_per_message_with_the_ids_in_order() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content)["Destination"]["ToAddresses"][0])
        return _accept(request)

    results = _provider(handler).send_batch([_message(str(i)) for i in range(3)])

    assert calls == [f"reader{i}@example.org" for i in range(3)]
    assert [(r.key, r.accepted, r.provider_message_id) for r in results] == [
        (str(i), True, f"ses-{i}") for i in range(3)
    ]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("MessageRejected", "Email address is not verified."),
        ("BadRequestException", "Missing final '@domain'"),
    ],
)
def test_a_refused_message_does_not_stop_the_batch(code: str, message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "reader0@" in request.content.decode():
            return _error(400, f"{code}:http://internal.amazon.com/coral/", message)
        return _accept(request)

    results = _provider(handler).send_batch([_message("0"), _message("1")])

    assert not results[0].accepted and code in (results[0].error or "")
    assert message in (results[0].error or "")
    assert results[1].accepted


@pytest.mark.parametrize(
    "answer",
    [
        _error(429, "TooManyRequestsException", "Too many requests.", **{"Retry-After": "3"}),
        httpx.Response(
            400,
            json={
                "__type": "com.amazon.coral#ThrottlingException",
                "message": "Maximum sending rate exceeded.",
            },
            headers={"Retry-After": "3"},
        ),
    ],
)
def test_throttling_on_the_first_call_raises_a_throttled_retryable_error(
    answer: httpx.Response,
) -> None:
    with pytest.raises(ProviderError) as failed:
        _provider(lambda request: answer).send_batch([_message("1"), _message("2")])
    assert failed.value.retryable and failed.value.throttled
    assert failed.value.retry_after == 3


def test_a_server_error_on_the_first_call_is_retryable() -> None:
    with pytest.raises(ProviderError) as failed:
        _provider(lambda r: _error(500, "InternalServiceErrorException", "oops")).send_batch(
            [_message("1")]
        )
    assert failed.value.retryable and not failed.value.throttled


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "AccountSuspendedException"),
        (400, "SendingPausedException"),
        (400, "MailFromDomainNotVerifiedException"),
        (403, "InvalidSignatureException"),
        (404, "NotFoundException"),
    ],
)
def test_account_errors_on_the_first_call_are_not_retryable(status: int, code: str) -> None:
    with pytest.raises(ProviderError) as failed:
        _provider(lambda r: _error(status, code, "no")).send_batch([_message("1")])
    assert not failed.value.retryable and code in str(failed.value)


def test_a_later_account_error_stops_the_batch_and_reports_the_rest() -> None:
    calls: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.content)
        if len(calls) == 2:
            return _error(400, "SendingPausedException", "Sending is paused.")
        return _accept(request)

    results = _provider(handler).send_batch([_message(str(i)) for i in range(4)])

    assert len(calls) == 2
    assert results[0].accepted
    assert [r.accepted for r in results] == [True, False, False, False]
    assert "not retryable" in (results[1].error or "")
    assert not results[1].retry and not results[1].unknown
    assert all(r.retry for r in results[2:])  # never attempted: may go out later


def test_no_answer_on_the_first_call_is_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    with pytest.raises(OutcomeUnknown):
        _provider(handler).send_batch([_message("1")])


def test_unreachable_ses_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderError) as failed:
        _provider(handler).send_batch([_message("1")])
    assert failed.value.retryable


def test_no_answer_later_marks_that_message_unknown_and_the_rest_unsent() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 2:
            raise httpx.ReadTimeout("no answer", request=request)
        return _accept(request)

    results = _provider(handler).send_batch([_message(str(i)) for i in range(3)])

    assert len(calls) == 2
    assert results[0].accepted
    assert results[1].unknown and "outcome unknown" in (results[1].error or "")
    assert results[2].retry and not results[2].unknown
