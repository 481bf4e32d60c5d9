"""The sandbox's Postmark API: batches answered in order, exact counts, kept messages, search."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from sandbox.mailroom import addresses
from tests.fixtures.sandbox import AUTH, NOTHING
from tests.fixtures.sandbox import postmark_mail as _mail
from tests.fixtures.sandbox import sandbox_config as _config
from tests.fixtures.sandbox import stats_of as _stats


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
        **NOTHING,
        "messages": 4500,
        "unique_recipients": 4000,
        "duplicates": 500,
    }


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
