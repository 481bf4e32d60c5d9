"""The provider sandbox answers like Postmark and counts what it accepted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.sandbox import create_sandbox_app

TOKEN = "test-token"
AUTH = {"X-Postmark-Server-Token": TOKEN, "Accept": "application/json"}


def _mail(to: str, campaign_id: str | None = "1", **fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "From": "Herald <news@herald.test>",
        "To": to,
        "Subject": "Форум — 東京",
        "TextBody": "Вітаємо",
        "HtmlBody": "<p>Вітаємо</p>",
        "MessageStream": "broadcast",
    }
    if campaign_id is not None:
        message["Metadata"] = {"campaign_id": campaign_id}
    return {**message, **fields}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_sandbox_app(TOKEN)) as test_client:
        yield test_client


def _stats(client: TestClient) -> dict[str, int]:
    stats: dict[str, int] = client.get("/_sandbox/stats").json()
    return stats


def test_stats_count_messages_recipients_and_duplicates(client: TestClient) -> None:
    batch = [
        _mail("a@example.org"),
        _mail("Рецепієнт <A@example.org>"),  # same address, same campaign: a duplicate
        _mail("b@example.org"),
        _mail("a@example.org", campaign_id="2"),  # another campaign: not a duplicate
        _mail("a@example.org", campaign_id=None),  # transactional: not a duplicate
    ]
    response = client.post("/email/batch", headers=AUTH, json=batch)
    response.raise_for_status()
    client.post("/email/batch", headers=AUTH, json=[_mail("b@example.org")]).raise_for_status()

    assert _stats(client) == {"messages": 6, "unique_recipients": 2, "duplicates": 2}


def test_batch_answers_in_order_with_per_message_errors(client: TestClient) -> None:
    batch = [_mail("a@example.org"), _mail("b@example.org", Subject=""), _mail("c@example.org")]
    batch[2].pop("HtmlBody")  # a text body alone is enough

    response = client.post("/email/batch", headers=AUTH, json=batch)

    assert response.status_code == 200
    first, second, third = response.json()
    assert first["ErrorCode"] == 0 and first["To"] == "a@example.org" and first["MessageID"]
    assert second["ErrorCode"] == 300
    assert third["ErrorCode"] == 0
    recorded = client.get("/_sandbox/messages").json()
    assert [m["MessageID"] for m in recorded] == [first["MessageID"], third["MessageID"]]


def test_a_message_without_any_body_is_refused(client: TestClient) -> None:
    message = _mail("a@example.org", TextBody="", HtmlBody="")

    response = client.post("/email", headers=AUTH, json=message)

    assert response.status_code == 422 and response.json()["ErrorCode"] == 300
    assert _stats(client)["messages"] == 0


def test_single_send_is_recorded(client: TestClient) -> None:
    response = client.post("/email", headers=AUTH, json=_mail("a@example.org"))

    assert response.status_code == 200 and response.json()["ErrorCode"] == 0
    assert _stats(client) == {"messages": 1, "unique_recipients": 1, "duplicates": 0}


def test_a_wrong_token_is_refused_like_postmark(client: TestClient) -> None:
    headers = {**AUTH, "X-Postmark-Server-Token": "nope"}

    response = client.post("/email/batch", headers=headers, json=[_mail("a@example.org")])

    assert response.status_code == 401 and response.json()["ErrorCode"] == 10
    assert _stats(client)["messages"] == 0


def test_bad_json_and_oversized_batches_are_refused(client: TestClient) -> None:
    broken = client.post("/email/batch", headers=AUTH, content=b"[{")
    too_many = client.post("/email/batch", headers=AUTH, json=[_mail("a@x.org")] * 501)

    assert broken.status_code == 422 and broken.json()["ErrorCode"] == 402
    assert too_many.status_code == 422 and too_many.json()["ErrorCode"] == 410
    assert _stats(client)["messages"] == 0


def test_reset_forgets_everything(client: TestClient) -> None:
    client.post("/email/batch", headers=AUTH, json=[_mail("a@example.org")] * 2)
    assert _stats(client)["duplicates"] == 1

    client.post("/_sandbox/reset").raise_for_status()

    assert _stats(client) == {"messages": 0, "unique_recipients": 0, "duplicates": 0}
    assert client.get("/_sandbox/messages").json() == []
