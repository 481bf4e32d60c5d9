"""The Postmark webhook reader: basic-auth verification and the documented record types.

Fed Postmark's documented example payloads (in ``tests.fixtures.providers``).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from core.providers.events import WebhookRefused
from core.providers.postmark_webhooks import PostmarkWebhooks
from tests.fixtures.providers import (
    PASSWORD,
    PM_BOUNCE,
    PM_CLICK,
    PM_COMPLAINT,
    PM_DELIVERY,
    PM_OPEN,
    PM_SUBSCRIPTION_CHANGE,
    USER,
    basic,
)

# --- Postmark: verification --------------------------------------------------------------


def test_postmark_accepts_its_configured_basic_auth() -> None:
    PostmarkWebhooks(USER, PASSWORD).verify(httpx.Headers(basic(USER, PASSWORD)), b"{}")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(USER, "wrong"),
        basic("someone", PASSWORD),
        basic("", ""),
        {"Authorization": "Bearer " + PASSWORD},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(b"no colon").decode()},
    ],
    ids=["none", "wrong-password", "wrong-user", "empty", "bearer", "garbled", "no-colon"],
)
def test_postmark_refuses_missing_or_wrong_credentials_with_401(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRefused) as refused:
        PostmarkWebhooks(USER, PASSWORD).verify(httpx.Headers(headers), b"{}")
    assert refused.value.status == 401


@pytest.mark.parametrize(("user", "password"), [("", ""), (USER, ""), ("", PASSWORD)])
def test_postmark_without_credentials_refuses_everything_with_403(user: str, password: str) -> None:
    with pytest.raises(WebhookRefused) as refused:
        PostmarkWebhooks(user, password).verify(httpx.Headers(basic(user, password)), b"{}")
    assert refused.value.status == 403


# --- Postmark: reading -------------------------------------------------------------------


def read_postmark(record: dict[str, Any]) -> list[Any]:
    return PostmarkWebhooks(USER, PASSWORD).read(orjson.dumps(record))


def test_postmark_delivery_names_our_delivery_by_its_metadata() -> None:
    [delivered] = read_postmark(PM_DELIVERY)
    assert (delivered.type, delivered.delivery_id, delivered.recipient) == (
        "delivered",
        42,
        "john@example.com",
    )
    assert delivered.occurred_at == datetime(2019, 11, 5, 16, 33, 54, 907025, tzinfo=UTC)
    assert delivered.event_id == (
        "Delivery:883953f4-6105-42a2-a16a-77a8eac79483:2019-11-05T16:33:54.9070259Z"
    )
    assert delivered.details["smtp"] == "Test delivery webhook details"


def test_postmark_bounces_and_complaints_are_keyed_by_their_id() -> None:
    [bounce] = read_postmark(PM_BOUNCE)
    [complaint] = read_postmark(PM_COMPLAINT)
    assert (bounce.type, bounce.bounce, bounce.event_id) == (
        "bounced",
        "hard",
        "Bounce:4323372036854775807",
    )
    assert "Content" not in bounce.details  # a full bounce dump is not kept
    assert (complaint.type, complaint.bounce, complaint.event_id) == (
        "complained",
        "",
        "SpamComplaint:42",
    )
    assert complaint.recipient == "john@example.com" and complaint.delivery_id == 42


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("HardBounce", ("bounced", "hard")),
        ("BadEmailAddress", ("bounced", "hard")),
        ("SoftBounce", ("bounced", "soft")),
        ("Blocked", ("bounced", "soft")),
        ("DMARCPolicy", ("bounced", "soft")),
        ("Transient", ("deferred", "")),
        ("DnsError", ("deferred", "")),
        ("SpamComplaint", ("complained", "")),
        ("Unsubscribe", ("unsubscribed", "")),
        ("SMTPApiError", ("failed", "")),
        ("SomethingNew", ("bounced", "soft")),
        ("AutoResponder", None),
        ("AddressChange", None),
    ],
)
def test_postmark_bounce_types_map_to_herald_events(
    kind: str, expected: tuple[str, str] | None
) -> None:
    events = read_postmark({**PM_BOUNCE, "Type": kind})
    assert [(e.type, e.bounce) for e in events] == ([expected] if expected else [])


def test_postmark_opens_and_clicks_keep_the_link_and_are_no_machine() -> None:
    [opened] = read_postmark(PM_OPEN)
    [clicked] = read_postmark(PM_CLICK)
    assert (opened.type, opened.machine, opened.details["first_open"]) == ("opened", False, True)
    assert opened.details["client"] == "Chrome 35.0.1916.153"
    assert "Geo" not in opened.details and "8.8.8.8" not in str(opened.details)
    assert (clicked.type, clicked.details["link"]) == ("clicked", "https://example.com")
    assert clicked.event_id.startswith("Click:00000000-0000-0000-0000-000000000000:2017-10-25")
    other_link = read_postmark({**PM_CLICK, "OriginalLink": "https://example.com/other"})
    assert other_link[0].event_id != clicked.event_id


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("HardBounce", ("bounced", "hard")),
        ("SpamComplaint", ("complained", "")),
        ("ManualSuppression", ("unsubscribed", "")),
    ],
)
def test_postmark_subscription_changes_suppress_by_their_reason(
    reason: str, expected: tuple[str, str]
) -> None:
    [changed] = read_postmark({**PM_SUBSCRIPTION_CHANGE, "SuppressionReason": reason})
    assert (changed.type, changed.bounce) == expected
    assert changed.recipient == "bounced-address@wildbit.com" and changed.delivery_id == 42


def test_postmark_reactivations_and_unknown_records_are_left_out() -> None:
    reactivated = {**PM_SUBSCRIPTION_CHANGE, "SuppressSending": False, "SuppressionReason": None}
    assert read_postmark(reactivated) == []
    assert read_postmark({"RecordType": "Inbound", "MessageID": "x"}) == []


def test_postmark_metadata_that_is_not_our_id_names_no_delivery() -> None:
    for value in ("", "abc", "-3", "0", "1e3", "١٢", str(2**63), None, 7.5):
        [event] = read_postmark({**PM_DELIVERY, "Metadata": {"delivery_id": value}})
        assert event.delivery_id is None, value
    [no_metadata] = read_postmark({k: v for k, v in PM_DELIVERY.items() if k != "Metadata"})
    assert no_metadata.delivery_id is None


def test_postmark_records_missing_their_key_fields_are_keyed_by_their_content() -> None:
    no_id = {k: v for k, v in PM_BOUNCE.items() if k != "ID"}
    [first] = read_postmark(no_id)
    [retried] = read_postmark(dict(reversed(no_id.items())))
    [other] = read_postmark({**no_id, "Email": "someone@example.com"})
    assert first.event_id.startswith("Bounce:digest:") and first.event_id == retried.event_id
    assert other.event_id != first.event_id


def test_postmark_reads_an_array_of_records() -> None:
    body = orjson.dumps([PM_DELIVERY, PM_OPEN, {"RecordType": "Inbound"}])
    events = PostmarkWebhooks(USER, PASSWORD).read(body)
    assert [e.type for e in events] == ["delivered", "opened"]
