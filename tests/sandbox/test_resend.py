"""The sandbox's Resend API: batches and single emails, strict and permissive, idempotency keys."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sandbox import run_sandbox_in_thread
from tests.fixtures.processes import wait_until
from tests.fixtures.sandbox import NOTHING, RESEND_AUTH, RESEND_KEY
from tests.fixtures.sandbox import resend_email as _email
from tests.fixtures.sandbox import sandbox_config as _config
from tests.fixtures.sandbox import stats_of as _stats


def test_resend_batch_answers_ids_in_order_and_records_tags(client: TestClient) -> None:
    batch = [_email("a@example.org"), _email(["B <b@example.org>"]), _email("c@example.org", "8")]

    response = client.post("/emails/batch", headers=RESEND_AUTH, json=batch)

    assert response.status_code == 200
    ids = [item["id"] for item in response.json()["data"]]
    assert len(set(ids)) == 3 and set(response.json()) == {"data"}
    recorded = client.get("/_sandbox/messages").json()
    assert [m["id"] for m in recorded] == ids and recorded[1]["to"] == ["B <b@example.org>"]
    recipients = client.get("/_sandbox/recipients", params={"campaign_id": "7"}).json()
    assert recipients == {"a@example.org": 1, "b@example.org": 1}
    assert _stats(client) == {**NOTHING, "messages": 3, "unique_recipients": 3}


def test_resend_single_email(client: TestClient) -> None:
    response = client.post("/emails", headers=RESEND_AUTH, json=_email("a@example.org"))

    assert response.status_code == 200 and set(response.json()) == {"id"}
    assert _stats(client)["messages"] == 1


@pytest.mark.parametrize(
    ("authorization", "status", "name"),
    [
        (None, 401, "missing_api_key"),
        ("Bearer ", 401, "missing_api_key"),
        (f"Basic {RESEND_KEY}", 401, "missing_api_key"),
        ("Bearer re_wrong", 403, "invalid_api_key"),
    ],
)
def test_resend_refuses_missing_and_wrong_keys(
    client: TestClient, authorization: str | None, status: int, name: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = client.post("/emails/batch", headers=headers, json=[_email("a@example.org")])

    assert response.status_code == status
    assert response.json()["name"] == name and response.json()["statusCode"] == status
    assert _stats(client)["messages"] == 0


@pytest.mark.parametrize(
    ("invalid", "name", "words"),
    [
        ({"to": None}, "missing_required_field", "Missing `to` field"),
        ({"subject": ""}, "missing_required_field", "Missing `subject` field"),
        ({"to": "not-an-address"}, "validation_error", "Invalid `to` field"),
        ({"from": "nobody"}, "validation_error", "Invalid `from` field"),
        ({"html": None, "text": None}, "validation_error", "`html` or `text`"),
        ({"tags": [{"name": "campaign id", "value": "7"}]}, "validation_error", "`tags`"),
        ({"headers": {"X-Count": 3}}, "validation_error", "`headers`"),
        ({"attachments": [{"filename": "a.pdf"}]}, "validation_error", "`attachments`"),
    ],
)
def test_a_strict_resend_batch_with_one_invalid_email_sends_nothing(
    client: TestClient, invalid: dict[str, Any], name: str, words: str
) -> None:
    batch = [_email("a@example.org"), _email("b@example.org", **invalid)]

    response = client.post("/emails/batch", headers=RESEND_AUTH, json=batch)

    assert response.status_code == 422
    assert response.json()["name"] == name
    assert "emails[1]" in response.json()["message"] and words in response.json()["message"]
    assert _stats(client)["messages"] == 0


def test_a_resend_batch_holds_at_most_100_emails(client: TestClient) -> None:
    batch = [_email(f"r{i}@example.org") for i in range(101)]

    strict = client.post("/emails/batch", headers=RESEND_AUTH, json=batch)
    permissive = client.post(
        "/emails/batch", headers={**RESEND_AUTH, "x-batch-validation": "permissive"}, json=batch
    )

    assert strict.status_code == 422 and strict.json()["name"] == "validation_error"
    assert len(permissive.json()["data"]) == 100
    assert [error["index"] for error in permissive.json()["errors"]] == [100]


def test_a_permissive_resend_batch_sends_the_valid_emails(client: TestClient) -> None:
    batch = [_email("a@example.org"), _email("b@example.org", to=None), _email("c@example.org")]
    headers = {**RESEND_AUTH, "x-batch-validation": "permissive"}

    response = client.post("/emails/batch", headers=headers, json=batch)

    assert response.status_code == 200
    assert len(response.json()["data"]) == 2
    assert response.json()["errors"] == [{"index": 1, "message": "Missing `to` field."}]
    recorded = [m["to"] for m in client.get("/_sandbox/messages").json()]
    assert recorded == ["a@example.org", "c@example.org"]


def test_the_same_idempotency_key_and_body_replays_the_first_answer(client: TestClient) -> None:
    headers = {**RESEND_AUTH, "Idempotency-Key": "campaign-7/batch-1"}
    batch = [_email("a@example.org"), _email("b@example.org")]

    first = client.post("/emails/batch", headers=headers, json=batch)
    again = client.post("/emails/batch", headers=headers, json=batch)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert _stats(client) == {**NOTHING, "messages": 2, "unique_recipients": 2, "replayed": 1}


def test_the_same_idempotency_key_with_another_body_is_a_conflict(client: TestClient) -> None:
    headers = {**RESEND_AUTH, "Idempotency-Key": "campaign-7/batch-1"}
    client.post("/emails/batch", headers=headers, json=[_email("a@example.org")]).raise_for_status()

    response = client.post("/emails/batch", headers=headers, json=[_email("b@example.org")])

    assert response.status_code == 409
    assert response.json()["name"] == "invalid_idempotent_request"
    assert _stats(client)["messages"] == 1


def test_a_refused_request_does_not_use_up_its_idempotency_key(client: TestClient) -> None:
    headers = {**RESEND_AUTH, "Idempotency-Key": "campaign-7/batch-1"}

    refused = client.post("/emails/batch", headers=headers, json=[_email("a@x.org", to=None)])
    fixed = client.post("/emails/batch", headers=headers, json=[_email("a@x.org")])

    assert (refused.status_code, fixed.status_code) == (422, 200)
    assert _stats(client)["messages"] == 1


def test_an_idempotency_key_longer_than_256_characters_is_refused(client: TestClient) -> None:
    headers = {**RESEND_AUTH, "Idempotency-Key": "k" * 257}

    response = client.post("/emails/batch", headers=headers, json=[_email("a@example.org")])

    assert response.status_code == 400 and response.json()["name"] == "invalid_idempotency_key"


def test_a_key_still_in_use_by_a_slow_request_is_a_conflict_then_replays() -> None:
    base_url, stop = run_sandbox_in_thread(config=_config(slow_rate=1.0, slow_seconds=1.5))
    headers = {**RESEND_AUTH, "Idempotency-Key": "campaign-7/batch-1"}
    batch = [_email("a@example.org"), _email("b@example.org")]
    try:
        with httpx.Client(base_url=base_url, headers=headers) as api:
            with pytest.raises(httpx.ReadTimeout):
                api.post("/emails/batch", json=batch, timeout=0.3)
            during = api.post("/emails/batch", json=batch, timeout=1)
            wait_until(lambda: _answered(api, batch), timeout=5, what="the first request to end")
            after = api.post("/emails/batch", json=batch, timeout=1)
            stats = _stats(api)
    finally:
        stop()

    assert during.status_code == 409 and during.json()["name"] == "concurrent_idempotent_requests"
    assert after.status_code == 200 and len(after.json()["data"]) == 2
    assert (stats["messages"], stats["slow"]) == (2, 1)
    assert stats["replayed"] >= 2  # the wait above replayed at least once too


def _answered(api: httpx.Client, batch: list[dict[str, Any]]) -> bool:
    return api.post("/emails/batch", json=batch, timeout=1).status_code == 200
