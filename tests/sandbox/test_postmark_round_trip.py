"""The Postmark provider against the sandbox's Postmark API, served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from core.providers.base import ProviderError
from core.providers.postmark import PostmarkProvider
from sandbox import run_sandbox_in_thread
from tests.fixtures.providers import api_message as _message

TOKEN = "sandbox-token"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    base_url, stop = run_sandbox_in_thread()
    yield base_url
    stop()


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[PostmarkProvider]:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    provider = PostmarkProvider(sandbox_url, TOKEN, "broadcast", 5)
    yield provider
    provider.close()


def test_sandbox_accepts_a_batch_of_three(sandbox: PostmarkProvider, sandbox_url: str) -> None:
    results = sandbox.send_batch([_message(str(i)) for i in range(3)])

    assert all(r.accepted for r in results)
    assert len({r.provider_message_id for r in results}) == 3
    recorded = httpx.get(f"{sandbox_url}/_sandbox/messages").json()
    assert [m["MessageID"] for m in recorded] == [r.provider_message_id for r in results]
    assert recorded[0]["Subject"] == "Форум: 東京 — підсумки"
    assert recorded[0]["Metadata"]["herald_key"] == "0"


def test_sandbox_rejects_only_the_invalid_message(
    sandbox: PostmarkProvider, sandbox_url: str
) -> None:
    invalid = replace(_message("2"), subject="")

    first, second, third = sandbox.send_batch([_message("1"), invalid, _message("3")])

    assert first.accepted and third.accepted
    assert not second.accepted and second.error and second.error.startswith("300: ")
    assert httpx.get(f"{sandbox_url}/_sandbox/stats").json()["messages"] == 2


def test_sandbox_refuses_a_wrong_token(sandbox_url: str) -> None:
    provider = PostmarkProvider(sandbox_url, "wrong-token", "broadcast", 5)

    with pytest.raises(ProviderError) as caught:
        provider.send_batch([_message("1")])

    assert not caught.value.retryable and "401" in str(caught.value) and "10: " in str(caught.value)
    provider.close()
