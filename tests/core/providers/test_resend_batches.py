"""The Resend provider over more than one call: batches of 100, their keys, partial failures."""

from __future__ import annotations

import json

import httpx

from tests.fixtures.providers import api_message as _message
from tests.fixtures.providers import resend_accepting_all, resend_provider


def test_more_than_100_messages_go_in_calls_of_100_with_numbered_keys() -> None:
    calls: list[tuple[str, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.headers["Idempotency-Key"], len(json.loads(request.content))))
        return resend_accepting_all(request)

    results = resend_provider(handler).send_batch(
        [_message(str(i)) for i in range(250)], attempt_key="k"
    )

    assert calls == [("herald-k-0", 100), ("herald-k-1", 100), ("herald-k-2", 50)]
    assert [r.key for r in results] == [str(i) for i in range(250)]
    assert all(r.accepted for r in results)


def test_exactly_100_messages_are_one_call_under_the_plain_key() -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return resend_accepting_all(request)

    resend_provider(handler).send_batch([_message(str(i)) for i in range(100)], attempt_key="k")

    assert keys == ["herald-k"]


def test_a_failure_after_an_accepted_call_keeps_the_accepted_results() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return resend_accepting_all(request) if calls == 1 else httpx.Response(500)

    results = resend_provider(handler).send_batch(
        [_message(str(i)) for i in range(101)], attempt_key="k"
    )

    assert all(r.accepted for r in results[:100])
    last = results[100]
    assert not last.accepted and last.error and "not sent (retryable)" in last.error


def test_no_messages_make_no_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no call expected")

    assert resend_provider(handler).send_batch([], attempt_key="k") == []
