"""The provider sandbox answers like Postmark and Resend, counts what it accepted, injects
faults and reports deliveries back as Postmark webhooks."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from publisher.cli.main import app as herald_cli
from sandbox import (
    FaultSettings,
    SandboxConfig,
    create_sandbox_app,
    run_sandbox_in_thread,
    serve_in_thread,
)
from sandbox.mailroom import COUNTS, addresses
from tests.fixtures.processes import free_port, herald_env, wait_until

TOKEN = "test-token"
RESEND_KEY = "re_test_key"
AUTH = {"X-Postmark-Server-Token": TOKEN, "Accept": "application/json"}
RESEND_AUTH = {"Authorization": f"Bearer {RESEND_KEY}"}
NOTHING = dict.fromkeys(COUNTS, 0)


def _config(keep_messages: int = 1000, **faults: Any) -> SandboxConfig:
    return SandboxConfig(
        server_token=TOKEN,
        resend_api_key=RESEND_KEY,
        keep_messages=keep_messages,
        faults=FaultSettings(**faults),
    )


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
        message["Metadata"] = {"campaign_id": campaign_id, "herald_key": f"{campaign_id}-{to}"}
    return {**message, **fields}


def _email(address: str | list[str], campaign_id: str = "7", **fields: Any) -> dict[str, Any]:
    email: dict[str, Any] = {
        "from": "Herald <news@herald.test>",
        "to": address,
        "subject": "Форум — 東京",
        "html": "<p>Вітаємо</p>",
        "text": "Вітаємо",
        "headers": {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        "tags": [
            {"name": "campaign_id", "value": campaign_id},
            {"name": "herald_key", "value": "k1"},
        ],
    }
    return {**email, **fields}


@pytest.fixture
def sandbox() -> Iterator[Callable[..., TestClient]]:
    """Start a sandbox app with the given config; every one started is closed after the test."""
    clients: list[TestClient] = []

    def start(config: SandboxConfig | None = None) -> TestClient:
        client = TestClient(create_sandbox_app(config or _config()))
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(sandbox: Callable[..., TestClient]) -> TestClient:
    return sandbox()


def _stats(client: TestClient | httpx.Client) -> dict[str, int]:
    stats: dict[str, int] = client.get("/_sandbox/stats").json()
    return stats


# --- Postmark -------------------------------------------------------------------------


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

    assert _stats(client) == {**NOTHING, "messages": 6, "unique_recipients": 2, "duplicates": 2}


def test_stats_stay_exact_over_many_batches(client: TestClient) -> None:
    batches = [[_mail(f"r{b}-{i}@example.org") for i in range(500)] for b in range(8)]
    for batch in batches:
        client.post("/email/batch", headers=AUTH, json=batch).raise_for_status()
    assert _stats(client)["unique_recipients"] == 4000

    client.post("/email/batch", headers=AUTH, json=batches[3]).raise_for_status()

    assert _stats(client) == {
        **NOTHING, "messages": 4500, "unique_recipients": 4000, "duplicates": 500
    }  # fmt: skip


def test_recipients_are_counted_per_campaign(client: TestClient) -> None:
    batch = [
        _mail("a@example.org"),
        _mail("B <b@example.org>"),
        _mail("A@example.org"),
        _mail("a@example.org", campaign_id="2"),
        _mail("c@example.org", campaign_id=None),
    ]
    client.post("/email/batch", headers=AUTH, json=batch).raise_for_status()

    def recipients(campaign_id: str) -> dict[str, int]:
        found: dict[str, int] = client.get(
            "/_sandbox/recipients", params={"campaign_id": campaign_id}
        ).json()
        return found

    assert recipients("1") == {"a@example.org": 2, "b@example.org": 1}
    assert recipients("2") == {"a@example.org": 1}
    assert recipients("3") == {}
    assert client.get("/_sandbox/recipients").status_code == 422


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
    assert recorded[0]["Subject"] == "Форум — 東京"


def test_only_the_latest_full_messages_are_kept(sandbox: Callable[..., TestClient]) -> None:
    client = sandbox(_config(keep_messages=3))
    batch = [_mail(f"r{i}@example.org") for i in range(5)]

    answers = client.post("/email/batch", headers=AUTH, json=batch).json()

    kept = client.get("/_sandbox/messages").json()
    assert [m["MessageID"] for m in kept] == [a["MessageID"] for a in answers[2:]]
    assert [m["To"] for m in kept] == ["r2@example.org", "r3@example.org", "r4@example.org"]
    assert _stats(client)["messages"] == 5
    assert len(client.get("/_sandbox/recipients", params={"campaign_id": "1"}).json()) == 5


def test_a_message_without_any_body_is_refused(client: TestClient) -> None:
    message = _mail("a@example.org", TextBody="", HtmlBody="  ")

    response = client.post("/email", headers=AUTH, json=message)

    assert response.status_code == 422 and response.json()["ErrorCode"] == 300
    assert _stats(client)["messages"] == 0


def test_single_send_is_recorded(client: TestClient) -> None:
    response = client.post("/email", headers=AUTH, json=_mail("a@example.org"))

    assert response.status_code == 200 and response.json()["ErrorCode"] == 0
    assert _stats(client) == {**NOTHING, "messages": 1, "unique_recipients": 1}


def test_a_wrong_token_is_refused_like_postmark(client: TestClient) -> None:
    headers = {**AUTH, "X-Postmark-Server-Token": "nope"}

    response = client.post("/email/batch", headers=headers, json=[_mail("a@example.org")])

    assert response.status_code == 401 and response.json()["ErrorCode"] == 10
    assert _stats(client)["messages"] == 0


def test_bad_json_and_oversized_batches_are_refused(client: TestClient) -> None:
    broken = client.post("/email/batch", headers=AUTH, content=b"[{")
    too_many = client.post("/email/batch", headers=AUTH, json=[_mail("a@x.org")] * 501)
    not_a_list = client.post("/email/batch", headers=AUTH, json=_mail("a@x.org"))

    assert broken.status_code == 422 and broken.json()["ErrorCode"] == 402
    assert too_many.status_code == 422 and too_many.json()["ErrorCode"] == 410
    assert not_a_list.status_code == 422 and not_a_list.json()["ErrorCode"] == 403
    assert _stats(client)["messages"] == 0


def test_reset_forgets_everything(client: TestClient) -> None:
    client.post("/email/batch", headers=AUTH, json=[_mail("a@example.org")] * 2)
    assert _stats(client)["duplicates"] == 1

    client.post("/_sandbox/reset").raise_for_status()

    assert _stats(client) == NOTHING
    assert client.get("/_sandbox/messages").json() == []
    assert client.get("/_sandbox/recipients", params={"campaign_id": "1"}).json() == {}


def test_addresses_take_bare_named_and_listed_recipients() -> None:
    assert addresses("A@Example.org") == ["a@example.org"]
    assert addresses("Рецепієнт <R@example.org>") == ["r@example.org"]
    assert addresses('"Doe, J" <j@example.org>, k@example.org') == [
        "j@example.org",
        "k@example.org",
    ]
    assert addresses(["a@example.org", "B <b@example.org>"]) == ["a@example.org", "b@example.org"]
    assert addresses("not an address") == []
    assert addresses("a@example.org, nope") == []
    assert addresses(["a@example.org", "nope"]) == []
    assert addresses([]) == [] and addresses(None) == []


# --- faults ---------------------------------------------------------------------------


def test_throttling_answers_429_with_retry_after_and_accepts_nothing(
    sandbox: Callable[..., TestClient],
) -> None:
    client = sandbox(_config(throttle_rate=1.0, retry_after=7))

    postmark = client.post("/email/batch", headers=AUTH, json=[_mail("a@example.org")])
    resend = client.post("/emails/batch", headers=RESEND_AUTH, json=[_email("a@example.org")])

    assert postmark.status_code == 429 and postmark.headers["Retry-After"] == "7"
    assert postmark.json()["ErrorCode"] == 429
    assert resend.status_code == 429 and resend.headers["Retry-After"] == "7"
    assert resend.json() == {
        "statusCode": 429, "name": "rate_limit_exceeded", "message": resend.json()["message"]
    }  # fmt: skip
    assert _stats(client) == {**NOTHING, "throttled": 2}


def test_errors_answer_500_and_accept_nothing(sandbox: Callable[..., TestClient]) -> None:
    client = sandbox(_config(error_rate=1.0))

    postmark = client.post("/email/batch", headers=AUTH, json=[_mail("a@example.org")])
    resend = client.post("/emails", headers=RESEND_AUTH, json=_email("a@example.org"))

    assert postmark.status_code == 500
    assert resend.status_code == 500 and resend.json()["name"] == "application_error"
    assert _stats(client) == {**NOTHING, "errors": 2}


def test_faults_change_at_runtime_and_spare_the_sandbox_endpoints(client: TestClient) -> None:
    changed = client.post("/_sandbox/faults", json={"error_rate": 1.0})
    assert changed.status_code == 200 and changed.json()["error_rate"] == 1.0
    assert client.get("/_sandbox/faults").json()["error_rate"] == 1.0

    assert client.post("/email", headers=AUTH, json=_mail("a@example.org")).status_code == 500
    assert client.get("/_sandbox/stats").status_code == 200
    assert client.get("/_sandbox/messages").status_code == 200

    client.post("/_sandbox/faults", json={"error_rate": 0}).raise_for_status()
    assert client.post("/email", headers=AUTH, json=_mail("a@example.org")).status_code == 200
    assert _stats(client) == {**NOTHING, "messages": 1, "unique_recipients": 1, "errors": 1}


@pytest.mark.parametrize(
    "changes",
    [
        {"throttle_rate": 0.6, "error_rate": 0.5},
        {"slow_rate": 1.5},
        {"surprise_rate": 0.1},
        {"webhook_url": "ftp://example.org/hook"},
        ["not", "an", "object"],
    ],
)
def test_fault_settings_are_validated(client: TestClient, changes: Any) -> None:
    response = client.post("/_sandbox/faults", json=changes)

    assert response.status_code == 422
    assert client.get("/_sandbox/faults").json() == FaultSettings().model_dump()


def test_a_seed_makes_faults_repeatable(sandbox: Callable[..., TestClient]) -> None:
    def statuses(client: TestClient) -> list[int]:
        return [
            client.post("/email", headers=AUTH, json=_mail("a@example.org")).status_code
            for _ in range(30)
        ]

    first = statuses(sandbox(_config(throttle_rate=0.3, error_rate=0.3, seed=11)))
    second = statuses(sandbox(_config(throttle_rate=0.3, error_rate=0.3, seed=11)))

    assert first == second
    assert {200, 429, 500} <= set(first)


def test_a_slow_answer_comes_late_but_the_messages_are_recorded() -> None:
    base_url, stop = run_sandbox_in_thread(config=_config(slow_rate=1.0, slow_seconds=1.5))
    try:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{base_url}/email", headers=AUTH, json=_mail("a@x.org"), timeout=0.3)
        # The sleeping request holds nothing up: the sandbox answers at once meanwhile.
        stats = httpx.get(f"{base_url}/_sandbox/stats", timeout=1).json()
        assert time.monotonic() - started < 1.2
        assert (stats["messages"], stats["slow"]) == (1, 1)

        patient = httpx.post(f"{base_url}/email", headers=AUTH, json=_mail("b@x.org"), timeout=5)
        assert patient.status_code == 200 and patient.json()["ErrorCode"] == 0
        assert patient.elapsed.total_seconds() >= 1.4
    finally:
        stop()


# --- Resend ---------------------------------------------------------------------------


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


# --- webhooks -------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, Any], str | None]]]]:
    """A local endpoint recording each webhook body with its Authorization header."""
    received: list[tuple[dict[str, Any], str | None]] = []
    app = FastAPI()

    @app.post("/postmark")
    async def postmark(request: Request) -> dict[str, bool]:
        received.append((await request.json(), request.headers.get("Authorization")))
        return {"ok": True}

    base_url, stop = serve_in_thread(app)
    yield base_url, received
    stop()


def test_accepted_messages_come_back_as_postmark_delivery_webhooks(
    receiver: tuple[str, list[tuple[dict[str, Any], str | None]]],
) -> None:
    receiver_url, received = receiver
    hook = receiver_url.replace("http://", "http://hook:s3cret@") + "/postmark"
    base_url, stop = run_sandbox_in_thread(config=_config(webhook_url=hook))
    batch = [_mail("a@example.org", Tag="digest"), _mail("B <b@example.org>")]
    try:
        answers = httpx.post(f"{base_url}/email/batch", headers=AUTH, json=batch).json()
        wait_until(lambda: len(received) == 2, timeout=10, what="two delivery webhooks")
        stats = httpx.get(f"{base_url}/_sandbox/stats").json()
    finally:
        stop()

    records = sorted((body for body, _ in received), key=lambda body: body["Recipient"])
    assert [r["MessageID"] for r in records] == [a["MessageID"] for a in answers]
    first = records[0]
    assert first["RecordType"] == "Delivery" and first["Recipient"] == "a@example.org"
    assert first["Metadata"] == {"campaign_id": "1", "herald_key": "1-a@example.org"}
    assert (first["Tag"], first["MessageStream"], first["ServerID"]) == ("digest", "broadcast", 1)
    assert first["DeliveredAt"] and first["Details"]
    assert records[1]["Recipient"] == "b@example.org"
    expected_auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    assert {authorization for _, authorization in received} == {expected_auth}
    assert (stats["webhooks_sent"], stats["webhooks_failed"]) == (2, 0)


def test_bounces_come_back_as_postmark_hard_bounce_webhooks(
    receiver: tuple[str, list[tuple[dict[str, Any], str | None]]],
) -> None:
    receiver_url, received = receiver
    base_url, stop = run_sandbox_in_thread(config=_config())
    faults = {"webhook_url": f"{receiver_url}/postmark", "bounce_rate": 1.0}
    try:
        httpx.post(f"{base_url}/_sandbox/faults", json=faults).raise_for_status()
        [answer] = httpx.post(
            f"{base_url}/email/batch", headers=AUTH, json=[_mail("a@x.org")]
        ).json()
        wait_until(lambda: len(received) == 1, timeout=10, what="a bounce webhook")
    finally:
        stop()

    [(bounce, authorization)] = received
    assert authorization is None
    assert (bounce["RecordType"], bounce["Type"], bounce["TypeCode"]) == ("Bounce", "HardBounce", 1)
    assert bounce["Email"] == "a@x.org" and bounce["MessageID"] == answer["MessageID"]
    assert bounce["Metadata"]["herald_key"] == "1-a@x.org"
    assert bounce["BouncedAt"] and bounce["Inactive"] is True and bounce["ID"] == 1


def test_webhooks_nobody_accepts_are_dropped_and_counted() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/postmark"
    base_url, stop = run_sandbox_in_thread(config=_config(webhook_url=nowhere))
    try:
        with httpx.Client(base_url=base_url) as api:
            sent = api.post("/email", headers=AUTH, json=_mail("a@example.org"))
            assert sent.status_code == 200  # the send does not wait for the webhook
            wait_until(
                lambda: _stats(api)["webhooks_failed"] == 1, timeout=10, what="a webhook given up"
            )
            assert _stats(api)["webhooks_sent"] == 0
    finally:
        stop()


# --- the command line -----------------------------------------------------------------


def test_the_sandbox_command_lists_its_options() -> None:
    result = CliRunner().invoke(herald_cli, ["sandbox", "--help"], terminal_width=200)

    assert result.exit_code == 0
    for option in (
        "--keep-messages", "--throttle-rate", "--error-rate", "--slow-rate", "--slow-seconds",
        "--retry-after", "--seed", "--webhook-url", "--bounce-rate", "--server-token",
        "--resend-api-key",
    ):  # fmt: skip
        assert option in result.output


def test_the_sandbox_command_refuses_rates_above_one() -> None:
    result = CliRunner().invoke(
        herald_cli, ["sandbox", "--throttle-rate", "0.7", "--error-rate", "0.7"]
    )

    assert result.exit_code == 2


def test_the_sandbox_command_passes_its_options_on(tmp_path: Path) -> None:
    port = free_port()
    line = [sys.executable, "-m", "publisher.cli.main", "sandbox", "--port", str(port),
            "--throttle-rate", "1", "--retry-after", "3", "--server-token", TOKEN]  # fmt: skip
    process = subprocess.Popen(line, env=herald_env(), cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _listening(url), timeout=20, what="the sandbox to listen")
        response = httpx.post(f"{url}/email/batch", headers=AUTH, json=[_mail("a@x.org")])
        faults = httpx.get(f"{url}/_sandbox/faults").json()
    finally:
        process.terminate()
        process.wait(10)

    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert faults["throttle_rate"] == 1.0


def _listening(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_sandbox/stats", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_postmark_search_finds_messages_by_delivery_metadata(client: TestClient) -> None:
    batch = [_mail("a@x.test"), _mail("b@x.test")]
    for number, message in enumerate(batch, start=1):
        message["Metadata"]["delivery_id"] = str(number)
    sent = client.post("/email/batch", json=batch, headers=AUTH).json()
    query = {"count": 1, "offset": 0, "metadata_delivery_id": "2", "metadata_campaign_id": "1"}
    found = client.get("/messages/outbound", params=query, headers=AUTH)
    assert found.status_code == 200
    body = found.json()
    assert body["TotalCount"] == 1
    [summary] = body["Messages"]
    assert summary["MessageID"] == sent[1]["MessageID"]
    assert summary["Recipients"] == ["b@x.test"]
    assert summary["Metadata"] == {"delivery_id": "2", "campaign_id": "1"}
    other = client.get(
        "/messages/outbound", params={**query, "metadata_campaign_id": "2"}, headers=AUTH
    )
    assert other.json() == {"TotalCount": 0, "Messages": []}


@pytest.mark.parametrize(
    "query",
    [{}, {"count": 0, "offset": 0}, {"count": 501, "offset": 0}, {"count": 500, "offset": 9600}],
)
def test_postmark_search_checks_count_and_offset_like_postmark(
    client: TestClient, query: dict[str, int]
) -> None:
    answer = client.get(
        "/messages/outbound", params={**query, "metadata_delivery_id": "1"}, headers=AUTH
    )
    assert answer.status_code == 422
    assert client.get("/messages/outbound", params={"count": 1, "offset": 0}).status_code == 401


def test_mailgun_events_find_accepted_messages_by_user_variables(client: TestClient) -> None:
    auth = ("api", RESEND_KEY)
    form = {"to": "a@x.test", "v:campaign_id": "4", "v:delivery_id": "9", "v:herald_key": "9"}
    mime = ("message.mime", b"Subject: hi\r\n\r\nhello\r\n", "message/rfc822")
    sent = client.post(
        "/v3/mg.test/messages.mime", data=form, files={"message": mime}, auth=auth
    ).json()
    variables = '{"delivery_id": "9", "campaign_id": "4"}'
    events = client.get(
        "/v3/mg.test/events", params={"event": "accepted", "user-variables": variables}, auth=auth
    )
    assert events.status_code == 200
    [event] = events.json()["items"]
    assert event["event"] == "accepted" and event["recipient"] == "a@x.test"
    assert f"<{event['message']['headers']['message-id']}>" == sent["id"]
    assert event["user-variables"] == {"delivery_id": "9", "campaign_id": "4"}
    assert set(events.json()["paging"]) == {"first", "last", "next", "previous"}
    none = client.get(
        "/v3/mg.test/events", params={"user-variables": '{"delivery_id": "8"}'}, auth=auth
    )
    assert none.json()["items"] == []
    assert client.get("/v3/mg.test/events", params={"user-variables": variables}).status_code == 401
