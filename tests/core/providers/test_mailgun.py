"""The Mailgun provider: the requests it builds and how it reads Mailgun's answers.

Request shapes and answers are checked against an injected ``httpx.MockTransport`` answering
as Mailgun's API reference shows; the round trip against the sandbox is in
``tests/sandbox/test_mailgun_round_trip.py``.
"""

from __future__ import annotations

import base64
import email
import re
from collections.abc import Callable
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.mailgun import MAX_BATCH_SIZE, MailgunProvider, api_root, messages_mime_path
from tests.fixtures.providers import mailgun_message as _message

API_KEY = "key-test"
API = "https://mailgun.test"
DOMAIN = "mg.herald.test"
# The id in Mailgun's documented sample answer.
DOC_ID = "<20111114174239.25659.5817@samples.mailgun.org>"
QUEUED = {"id": DOC_ID, "message": "Queued. Thank you."}

Handler = Callable[[httpx.Request], httpx.Response]


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
        "mailgun",
        False,
        MAX_BATCH_SIZE,
    )
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
