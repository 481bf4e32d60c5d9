"""The fallback pair: a batch moves to the second provider only when the first one is down.

Real providers on both sides: Postmark's adapter over an injected ``httpx.MockTransport``
playing the failing service, SMTP to a port nobody listens on, and outboxes in temporary
folders as the fallback whose files show what was sent.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from core.message import Mailbox, OutgoingMessage
from core.providers.base import OutcomeUnknown, Provider, ProviderError
from core.providers.fallback import FallbackProvider
from core.providers.outbox import OutboxProvider
from core.providers.postmark import PostmarkProvider
from core.providers.smtp import SmtpProvider

Handler = Callable[[httpx.Request], httpx.Response]


def _message(key: str) -> OutgoingMessage:
    return OutgoingMessage(
        key=key,
        sender=Mailbox("news@herald.test", "Центр Herald"),
        to=Mailbox(f"reader{key}@example.org", "山田 太郎"),
        subject="Форум «Київ — Токіо»: підсумки",
        html="<p>Вітаємо — 日本語</p>",
        text="Вітаємо — 日本語\n",
        message_id=f"<{key}@herald.test>",
        metadata={"campaign_id": "7", "delivery_id": key},
    )


def _postmark(handler: Handler) -> PostmarkProvider:
    return PostmarkProvider(
        base_url="https://postmark.test",
        server_token="token",
        message_stream="broadcast",
        timeout=5,
        transport=httpx.MockTransport(handler),
    )


def _answer(status: int, **headers: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"ErrorCode": 0, "Message": "down"}, headers=headers)

    return handler


def _accept_all(request: httpx.Request) -> httpx.Response:
    count = len(json.loads(request.content))
    return httpx.Response(
        200, json=[{"ErrorCode": 0, "MessageID": f"pm-{n}"} for n in range(count)]
    )


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def outbox(tmp_path: Path) -> OutboxProvider:
    return OutboxProvider(tmp_path / "fallback-outbox")


@pytest.fixture
def pairs() -> Iterator[Callable[[Provider, Provider], FallbackProvider]]:
    """Make pairs that are closed after the test."""
    made: list[FallbackProvider] = []

    def make(primary: Provider, fallback: Provider) -> FallbackProvider:
        made.append(FallbackProvider(primary, fallback))
        return made[-1]

    yield make
    for pair in made:
        pair.close()


def _sent(outbox: OutboxProvider) -> list[str]:
    return sorted(path.name for path in outbox.directory.rglob("*.eml"))


@pytest.mark.parametrize("handler", [_answer(503), _answer(500), _unreachable])
def test_a_batch_the_primary_cannot_take_goes_through_the_fallback(
    handler: Handler,
    outbox: OutboxProvider,
    pairs: Callable[[Provider, Provider], FallbackProvider],
) -> None:
    pair = pairs(_postmark(handler), outbox)

    results = pair.send_batch([_message("1"), _message("2")], attempt_key="a")

    assert [(r.key, r.accepted, r.provider_message_id) for r in results] == [
        ("1", True, "<1@herald.test>"),
        ("2", True, "<2@herald.test>"),
    ]
    assert _sent(outbox) == ["1.eml", "2.eml"]


def test_an_unreachable_smtp_server_sends_the_batch_through_the_fallback(
    outbox: OutboxProvider, pairs: Callable[[Provider, Provider], FallbackProvider]
) -> None:
    smtp = SmtpProvider("127.0.0.1", _free_port(), starttls=False, timeout=2)
    pair = pairs(smtp, outbox)

    results = pair.send_batch([_message("1")], attempt_key="a")

    assert [r.accepted for r in results] == [True]
    assert _sent(outbox) == ["1.eml"]


def test_a_working_primary_sends_alone(
    outbox: OutboxProvider, pairs: Callable[[Provider, Provider], FallbackProvider]
) -> None:
    pair = pairs(_postmark(_accept_all), outbox)

    results = pair.send_batch([_message("1"), _message("2")], attempt_key="a")

    assert [r.provider_message_id for r in results] == ["pm-0", "pm-1"]
    assert _sent(outbox) == []


@pytest.mark.parametrize(
    ("handler", "raised"),
    [
        (_answer(429, **{"Retry-After": "7"}), ProviderError),  # slow down, not go elsewhere
        (_answer(422), ProviderError),  # the batch itself is wrong
        (_answer(401), ProviderError),
        (_timeout, OutcomeUnknown),  # the messages may be on their way
    ],
)
def test_what_may_have_gone_out_or_must_not_go_elsewhere_is_raised(
    handler: Handler,
    raised: type[Exception],
    outbox: OutboxProvider,
    pairs: Callable[[Provider, Provider], FallbackProvider],
) -> None:
    pair = pairs(_postmark(handler), outbox)

    with pytest.raises(raised):
        pair.send_batch([_message("1")], attempt_key="a")

    assert _sent(outbox) == []


def test_a_throttled_primary_keeps_its_retry_after(
    outbox: OutboxProvider, pairs: Callable[[Provider, Provider], FallbackProvider]
) -> None:
    pair = pairs(_postmark(_answer(429, **{"Retry-After": "7"})), outbox)

    with pytest.raises(ProviderError) as failure:
        pair.send_batch([_message("1")], attempt_key="a")

    assert failure.value.throttled
    assert failure.value.retry_after == 7


def test_when_both_are_down_the_fallbacks_error_is_raised(
    pairs: Callable[[Provider, Provider], FallbackProvider],
) -> None:
    pair = pairs(_postmark(_answer(503)), _postmark(_unreachable))

    with pytest.raises(ProviderError, match="unreachable") as failure:
        pair.send_batch([_message("1")], attempt_key="a")

    assert failure.value.retryable


def test_the_pair_takes_the_smaller_batch_and_the_primarys_name(
    pairs: Callable[[Provider, Provider], FallbackProvider],
) -> None:
    smtp = SmtpProvider("127.0.0.1", 25, starttls=False)
    pair = pairs(_postmark(_accept_all), smtp)

    assert pair.name == "postmark"
    assert pair.max_batch_size == smtp.max_batch_size == 100


def test_the_pair_is_never_idempotent(
    tmp_path: Path, pairs: Callable[[Provider, Provider], FallbackProvider]
) -> None:
    first, second = OutboxProvider(tmp_path / "a"), OutboxProvider(tmp_path / "b")
    assert first.idempotent and second.idempotent

    assert not pairs(first, second).idempotent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
