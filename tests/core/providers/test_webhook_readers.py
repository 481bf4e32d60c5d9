"""Provider webhooks: the Postmark and Resend readers, and ``POST /webhooks/{provider}``.

Readers are fed the providers' documented example payloads; Resend's signature check is held to
Svix's published example (secret, message id, timestamp, body, expected signature). Through the
web app, forged requests change nothing anywhere; and end to end, a campaign sent through the
Postmark adapter to the sandbox comes back as the sandbox's delivery and bounce webhooks, posted
to the real app served over HTTP.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.database import unit_of_work
from core.providers.events import WebhookRefused
from core.providers.postmark import PostmarkProvider
from core.providers.postmark_webhooks import PostmarkWebhookReader
from core.providers.resend_webhooks import ResendWebhookReader, sign
from core.providers.webhook_readers import known_providers, webhook_reader
from core.settings import get_settings
from publisher.campaigns.service import start_sending
from publisher.sending.deliveries import plan_deliveries
from publisher.sending.models import Delivery
from publisher.tracking.models import DeliveryEvent
from publisher.web.app import create_app
from publisher.web.public.provider_webhooks import MAX_BODY_BYTES
from sandbox import SANDBOX_TOKEN, run_sandbox_in_thread, serve_in_thread
from subscribers.models import Subscription, Suppression
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from tests.fixtures.processes import wait_until
from tests.fixtures.tasks import discarded_tasks  # noqa: F401 - the fixture
from worker import planning, sending

USER, PASSWORD = "herald-hooks", "correct horse battery staple"
# Svix's published example: the secret, message and signature its libraries test against.
SVIX_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SVIX_ID, SVIX_TIMESTAMP = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330"
SVIX_BODY = b'{"test": 2432232314}'
SVIX_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
RESEND_SECRET = "whsec_" + base64.b64encode(b"herald test signing key 32 bytes").decode()

# --- documented payloads ---------------------------------------------------------------

METADATA = {"campaign_id": "7", "delivery_id": "42"}
PM_DELIVERY = {
    "RecordType": "Delivery", "MessageStream": "outbound", "ServerID": 23,
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Recipient": "john@example.com",
    "Tag": "welcome-email", "DeliveredAt": "2019-11-05T16:33:54.9070259Z",
    "Details": "Test delivery webhook details", "Metadata": METADATA,
}  # fmt: skip
PM_BOUNCE = {
    "RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807,
    "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce", "Tag": "Test",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Metadata": METADATA, "ServerID": 23,
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox "
    "not found).", "Details": "Test bounce details", "Email": "john@example.com",
    "From": "sender@example.com", "BouncedAt": "2019-11-05T16:33:54.9070259Z",
    "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Test subject",
    "Content": "<Full dump of bounce>",
}  # fmt: skip
PM_COMPLAINT = {
    "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": 42,
    "Type": "SpamComplaint", "TypeCode": 100001, "Name": "Spam complaint", "Tag": "Test",
    "MessageID": "00000000-0000-0000-0000-000000000000", "ServerID": 1234,
    "Metadata": METADATA, "Description": "", "Details": "Test spam complaint details",
    "Email": "john@example.com", "From": "sender@example.com",
    "BouncedAt": "2019-11-05T16:33:54.9070259Z", "DumpAvailable": True, "Inactive": True,
    "CanActivate": False, "Subject": "Test subject", "Content": "<Abuse report dump>",
}  # fmt: skip
PM_OPEN = {
    "RecordType": "Open", "MessageStream": "outbound", "FirstOpen": True,
    "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
    "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
    "Platform": "WebMail", "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5)",
    "ReadSeconds": 5, "Geo": {"CountryISOCode": "RS", "City": "Novi Sad", "IP": "8.8.8.8"},
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Metadata": METADATA,
    "ReceivedAt": "2019-11-05T16:33:54.9070259Z", "Tag": "welcome-email",
    "Recipient": "john@example.com",
}  # fmt: skip
PM_CLICK = {
    "RecordType": "Click", "MessageStream": "outbound", "ClickLocation": "HTML",
    "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
    "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
    "Platform": "Desktop", "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5)",
    "OriginalLink": "https://example.com", "Geo": {"CountryISOCode": "RS", "IP": "8.8.8.8"},
    "MessageID": "00000000-0000-0000-0000-000000000000", "Metadata": METADATA,
    "ReceivedAt": "2017-10-25T15:21:11.0000000Z", "Tag": "welcome-email",
    "Recipient": "john@example.com",
}  # fmt: skip
PM_SUBSCRIPTION_CHANGE = {
    "RecordType": "SubscriptionChange", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "ServerID": 123456, "MessageStream": "outbound", "ChangedAt": "2020-02-01T10:53:34.416071Z",
    "Recipient": "bounced-address@wildbit.com", "Origin": "Recipient", "SuppressSending": True,
    "SuppressionReason": "HardBounce", "Tag": "my-tag", "Metadata": METADATA,
}  # fmt: skip

RS_DATA = {
    "broadcast_id": "8b146471-e88e-4322-86af-016cd36fd216",
    "created_at": "2024-11-22T23:41:11.894719+00:00",
    "email_id": "56761188-7520-42d8-8898-ff6fc54ce618", "from": "Acme <onboarding@resend.dev>",
    "to": ["delivered@resend.dev"], "subject": "Sending this example",
    "template_id": "43f68331-0622-4e15-8202-246a0388854b",
    "tags": {"category": "confirm_email", "delivery_id": "42"},
}  # fmt: skip
RS_BOUNCE = {
    "message": "The recipient's email address is on the suppression list because it has a "
    "recent history of producing hard bounces.", "subType": "Suppressed", "type": "Permanent",
}  # fmt: skip
RS_CLICK = {
    "ipAddress": "122.115.53.11", "link": "https://resend.com",
    "timestamp": "2024-11-24T05:00:57.163Z",
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
}  # fmt: skip


def resend_event(kind: str, **data: Any) -> dict[str, Any]:
    """Resend's documented example of ``kind``, with ``data`` fields added or replaced."""
    return {"type": kind, "created_at": "2024-11-22T23:41:12.126Z", "data": {**RS_DATA, **data}}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def svix_headers(
    body: bytes, *, secret: str = RESEND_SECRET, at: int | None = None, message_id: str = SVIX_ID
) -> dict[str, str]:
    """The headers Resend sends with ``body``, signed with ``secret`` at ``at`` (now)."""
    timestamp = str(int(time.time()) if at is None else at)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = sign(key, message_id, timestamp, body).decode()
    return {"svix-id": message_id, "svix-timestamp": timestamp,
            "svix-signature": f"v1,{signature}"}  # fmt: skip


# --- Postmark: verification --------------------------------------------------------------


def test_postmark_accepts_its_configured_basic_auth() -> None:
    PostmarkWebhookReader(USER, PASSWORD).verify(httpx.Headers(basic(USER, PASSWORD)), b"{}")


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
        PostmarkWebhookReader(USER, PASSWORD).verify(httpx.Headers(headers), b"{}")
    assert refused.value.status == 401


@pytest.mark.parametrize(("user", "password"), [("", ""), (USER, ""), ("", PASSWORD)])
def test_postmark_without_credentials_refuses_everything_with_403(user: str, password: str) -> None:
    with pytest.raises(WebhookRefused) as refused:
        PostmarkWebhookReader(user, password).verify(httpx.Headers(basic(user, password)), b"{}")
    assert refused.value.status == 403


# --- Postmark: reading -------------------------------------------------------------------


def read_postmark(record: dict[str, Any]) -> list[Any]:
    return PostmarkWebhookReader(USER, PASSWORD).read(orjson.dumps(record))


def test_postmark_delivery_names_our_delivery_by_its_metadata() -> None:
    [delivered] = read_postmark(PM_DELIVERY)
    assert (delivered.type, delivered.delivery_id, delivered.recipient) == (
        "delivered", 42, "john@example.com",
    )  # fmt: skip
    assert delivered.occurred_at == datetime(2019, 11, 5, 16, 33, 54, 907025, tzinfo=UTC)
    assert delivered.event_id == (
        "Delivery:883953f4-6105-42a2-a16a-77a8eac79483:2019-11-05T16:33:54.9070259Z"
    )
    assert delivered.details["smtp"] == "Test delivery webhook details"


def test_postmark_bounces_and_complaints_are_keyed_by_their_id() -> None:
    [bounce] = read_postmark(PM_BOUNCE)
    [complaint] = read_postmark(PM_COMPLAINT)
    assert (bounce.type, bounce.bounce, bounce.event_id) == (
        "bounced", "hard", "Bounce:4323372036854775807",
    )  # fmt: skip
    assert "Content" not in bounce.details  # a full bounce dump is not kept
    assert (complaint.type, complaint.bounce, complaint.event_id) == (
        "complained", "", "SpamComplaint:42",
    )  # fmt: skip
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
    events = PostmarkWebhookReader(USER, PASSWORD).read(body)
    assert [e.type for e in events] == ["delivered", "opened"]


# --- Resend: verification ----------------------------------------------------------------


def svix_reader(secret: str = SVIX_SECRET, now: float = float(SVIX_TIMESTAMP)) -> Any:
    return ResendWebhookReader(secret, clock=lambda: now)


SVIX_HEADERS = {"svix-id": SVIX_ID, "svix-timestamp": SVIX_TIMESTAMP,
                "svix-signature": SVIX_SIGNATURE}  # fmt: skip


def test_resend_verifies_svix_published_example() -> None:
    svix_reader().verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)
    svix_reader(secret=SVIX_SECRET.removeprefix("whsec_")).verify(
        httpx.Headers(SVIX_HEADERS), SVIX_BODY
    )


def test_resend_accepts_any_valid_signature_among_several() -> None:
    several = f"v1,bm9wZQ== v2,{SVIX_SIGNATURE[3:]} {SVIX_SIGNATURE} v1,Zm9v"
    svix_reader().verify(httpx.Headers({**SVIX_HEADERS, "svix-signature": several}), SVIX_BODY)


FORGERIES = [
    pytest.param({}, b'{"test": 2432232315}', id="tampered"),
    pytest.param({}, SVIX_BODY + b" ", id="appended"),
    pytest.param({"svix-id": "msg_other"}, SVIX_BODY, id="other-id"),
    pytest.param({"svix-timestamp": str(int(SVIX_TIMESTAMP) + 1)}, SVIX_BODY, id="other-time"),
    pytest.param({"svix-signature": "v2," + SVIX_SIGNATURE[3:]}, SVIX_BODY, id="wrong-version"),
    pytest.param({"svix-signature": SVIX_SIGNATURE[:-4] + "AAA="}, SVIX_BODY, id="wrong-sig"),
    pytest.param({"svix-signature": ""}, SVIX_BODY, id="no-signature"),
    pytest.param({"svix-id": ""}, SVIX_BODY, id="no-id"),
    pytest.param({"svix-timestamp": ""}, SVIX_BODY, id="no-timestamp"),
]


@pytest.mark.parametrize(("change", "body"), FORGERIES)
def test_resend_refuses_anything_but_the_signed_request(
    change: dict[str, str], body: bytes
) -> None:
    headers = {name: value for name, value in {**SVIX_HEADERS, **change}.items() if value}
    with pytest.raises(WebhookRefused) as refused:
        svix_reader().verify(httpx.Headers(headers), body)
    assert refused.value.status == 401


@pytest.mark.parametrize("timestamp", ["1614265330.0", "-1614265330", "9" * 400])
def test_resend_answers_400_to_a_timestamp_that_is_no_unix_time(timestamp: str) -> None:
    with pytest.raises(WebhookRefused) as refused:
        svix_reader().verify(
            httpx.Headers({**SVIX_HEADERS, "svix-timestamp": timestamp}), SVIX_BODY
        )
    assert (refused.value.status, str(refused.value)) == (400, "Svix timestamp is not a unix time")


def test_resend_refuses_a_wrong_secret() -> None:
    other = "whsec_" + base64.b64encode(b"another secret").decode()
    with pytest.raises(WebhookRefused) as refused:
        svix_reader(secret=other).verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)
    assert refused.value.status == 401


@pytest.mark.parametrize("offset", [-301, 301, 10**6])
def test_resend_refuses_timestamps_beyond_five_minutes(offset: int) -> None:
    reader = svix_reader(now=float(SVIX_TIMESTAMP) + offset)
    with pytest.raises(WebhookRefused) as refused:
        reader.verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)
    assert refused.value.status == 401
    svix_reader(now=float(SVIX_TIMESTAMP) + 300).verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not*base64"])
def test_resend_without_a_usable_secret_refuses_everything_with_403(secret: str) -> None:
    with pytest.raises(WebhookRefused) as refused:
        svix_reader(secret=secret).verify(httpx.Headers(SVIX_HEADERS), SVIX_BODY)
    assert refused.value.status == 403


# --- Resend: reading ---------------------------------------------------------------------


def read_resend(payload: dict[str, Any]) -> list[Any]:
    return ResendWebhookReader(RESEND_SECRET).read(orjson.dumps(payload))


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("email.delivered", {}, ("delivered", "")),
        ("email.delivery_delayed", {}, ("deferred", "")),
        ("email.complained", {}, ("complained", "")),
        ("email.opened", {}, ("opened", "")),
        ("email.bounced", {"bounce": RS_BOUNCE}, ("bounced", "hard")),
        ("email.bounced", {"bounce": {**RS_BOUNCE, "type": "Transient"}}, ("bounced", "soft")),
        ("email.bounced", {"bounce": {**RS_BOUNCE, "type": "Undetermined"}}, ("bounced", "soft")),
        ("email.bounced", {}, ("bounced", "hard")),
        ("email.failed", {"failed": {"reason": "reached_daily_quota"}}, ("failed", "")),
    ],
)
def test_resend_documented_events_map_to_herald_events(
    kind: str, extra: dict[str, Any], expected: tuple[str, str]
) -> None:
    [event] = read_resend(resend_event(kind, **extra))
    assert (event.type, event.bounce) == expected
    assert (event.delivery_id, event.recipient) == (42, "delivered@resend.dev")
    assert event.event_id == f"{kind}:56761188-7520-42d8-8898-ff6fc54ce618:2024-11-22T23:41:12.126Z"
    assert event.occurred_at == datetime(2024, 11, 22, 23, 41, 12, 126000, tzinfo=UTC)
    assert not event.machine


def test_resend_clicks_are_timed_by_the_click_and_keyed_by_the_link() -> None:
    [clicked] = read_resend(resend_event("email.clicked", click=RS_CLICK))
    assert (clicked.type, clicked.details["link"]) == ("clicked", "https://resend.com")
    assert clicked.occurred_at == datetime(2024, 11, 24, 5, 0, 57, 163000, tzinfo=UTC)
    [other] = read_resend(
        resend_event("email.clicked", click={**RS_CLICK, "link": "https://x.org"})
    )
    assert other.event_id != clicked.event_id


def test_resend_tags_are_read_as_an_object_or_as_a_list() -> None:
    listed = [{"name": "campaign_id", "value": "7"}, {"name": "delivery_id", "value": "43"}]
    [event] = read_resend(resend_event("email.delivered", tags=listed))
    assert event.delivery_id == 43
    [untagged] = read_resend(resend_event("email.delivered", tags=None))
    assert untagged.delivery_id is None


def test_resend_events_herald_does_not_use_are_left_out() -> None:
    for kind in ("email.sent", "email.scheduled", "email.received", "contact.created"):
        assert read_resend(resend_event(kind)) == [], kind


def test_the_registry_knows_postmark_and_resend_only() -> None:
    settings = get_settings()
    assert {"postmark", "resend"} <= set(known_providers())
    reader = webhook_reader("postmark", settings)
    assert reader is not None and reader.provider == "postmark"
    assert webhook_reader("carrier-pigeon", settings) is None


# --- the route ---------------------------------------------------------------------------


@pytest.fixture
def client(db: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The web app with Postmark credentials and a Resend secret configured."""
    use_settings(
        monkeypatch, database_url=db, postmark_webhook_user=USER,
        postmark_webhook_password=PASSWORD, resend_webhook_secret=RESEND_SECRET,
    )  # fmt: skip
    return TestClient(create_app())


@pytest.fixture
def delivery_id(db: str) -> int:
    """A queued delivery of a campaign to one subscriber on one list."""
    with unit_of_work() as session:
        add_subscribers(session, add_list(session, "news"), 1, prefix="john")
        campaign = add_announcement(session, "news")
        plan_deliveries(session, campaign.id)
        return int(session.scalars(select(Delivery.id)).one())


def snapshot() -> tuple[Any, ...]:
    """Everything a webhook may change: events, suppressions, deliveries, subscriptions."""
    with unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(DeliveryEvent)),
            session.scalar(select(func.count()).select_from(Suppression)),
            session.execute(select(Delivery.id, Delivery.outcome, Delivery.opened_at)).all(),
            session.execute(select(Subscription.subscriber_id, Subscription.status)).all(),
        )


def bounce_for(delivery_id: int) -> bytes:
    metadata = {"delivery_id": str(delivery_id)}
    return orjson.dumps({**PM_BOUNCE, "Email": "john0@example.com", "Metadata": metadata})


def test_a_verified_postmark_bounce_is_stored_and_suppresses(
    client: TestClient, delivery_id: int
) -> None:
    body = bounce_for(delivery_id)
    response = client.post("/webhooks/postmark", content=body, headers=basic(USER, PASSWORD))
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "recorded": 1, "unmatched": 0}
    again = client.post("/webhooks/postmark", content=body, headers=basic(USER, PASSWORD))
    assert again.json() == {"accepted": 1, "recorded": 0, "unmatched": 0}
    events, suppressed, deliveries, subscriptions = snapshot()
    assert (events, suppressed) == (1, 1)
    assert [outcome for _, outcome, _ in deliveries] == ["bounced"]
    assert [status for _, status in subscriptions] == ["unsubscribed"]


def test_a_signed_resend_complaint_is_stored_and_suppresses(
    client: TestClient, delivery_id: int
) -> None:
    tags = {"delivery_id": str(delivery_id)}
    body = orjson.dumps(resend_event("email.complained", to=["john0@example.com"], tags=tags))
    response = client.post("/webhooks/resend", content=body, headers=svix_headers(body))
    assert response.status_code == 200 and response.json()["recorded"] == 1
    with unit_of_work() as session:
        assert session.scalars(select(Suppression.reason)).all() == ["complaint"]


Forged = tuple[str, bytes, dict[str, str]]
FORGED_SECRET = "whsec_" + base64.b64encode(b"not our secret, forged").decode()


def resend_bounce_for(delivery_id: int) -> bytes:
    tags = {"delivery_id": str(delivery_id)}
    return orjson.dumps(resend_event("email.bounced", bounce=RS_BOUNCE, tags=tags))


def forge(kind: str, delivery_id: int) -> Forged:
    """A forged request (provider, body, headers) that would hard-bounce the delivery."""
    postmark, resend = bounce_for(delivery_id), resend_bounce_for(delivery_id)
    forgeries: dict[str, Callable[[], Forged]] = {
        "pm-none": lambda: ("postmark", postmark, {}),
        "pm-password": lambda: ("postmark", postmark, basic(USER, "wrong")),
        "pm-user": lambda: ("postmark", postmark, basic("intruder", PASSWORD)),
        "rs-none": lambda: ("resend", resend, {}),
        "rs-secret": lambda: ("resend", resend, svix_headers(resend, secret=FORGED_SECRET)),
        "rs-tampered": lambda: ("resend", resend.replace(b"Perm", b"perm"), svix_headers(resend)),
        "rs-stale": lambda: ("resend", resend, svix_headers(resend, at=int(time.time()) - 600)),
    }
    return forgeries[kind]()


@pytest.mark.parametrize(
    "kind", ["pm-none", "pm-password", "pm-user", "rs-none", "rs-secret", "rs-tampered", "rs-stale"]
)
def test_forged_webhooks_are_refused_with_401_and_change_nothing(
    client: TestClient, delivery_id: int, kind: str
) -> None:
    before = snapshot()
    provider, body, headers = forge(kind, delivery_id)
    response = client.post(f"/webhooks/{provider}", content=body, headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}
    assert snapshot() == before


def test_without_configured_credentials_every_webhook_is_refused(
    db: str, delivery_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, database_url=db)
    unconfigured = TestClient(create_app())
    before = snapshot()
    body = bounce_for(delivery_id)
    assert unconfigured.post("/webhooks/postmark", content=body,
                             headers=basic("", "")).status_code == 403  # fmt: skip
    signed = svix_headers(body)
    assert unconfigured.post("/webhooks/resend", content=body, headers=signed).status_code == 403
    assert snapshot() == before


def test_unknown_providers_oversized_and_unreadable_bodies_are_refused(
    client: TestClient, delivery_id: int
) -> None:
    before = snapshot()
    assert client.post("/webhooks/pigeon", content=b"{}").status_code == 404
    huge = b"[" + b" " * MAX_BODY_BYTES + b"]"
    oversized = client.post("/webhooks/postmark", content=huge, headers=basic(USER, PASSWORD))
    assert oversized.status_code == 413
    garbled = client.post("/webhooks/postmark", content=b"{not json",
                          headers=basic(USER, PASSWORD))  # fmt: skip
    assert garbled.status_code == 400
    assert snapshot() == before


# --- end to end: the sandbox's webhooks into the real app --------------------------------


@pytest.fixture
def herald_url(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real web app on a local port, with Postmark webhook credentials configured."""
    use_settings(monkeypatch, database_url=db, postmark_webhook_user=USER,
                 postmark_webhook_password=PASSWORD)  # fmt: skip
    base_url, stop = serve_in_thread(create_app())
    yield base_url
    stop()


@pytest.mark.usefixtures("discarded_tasks")
def test_a_campaign_sent_through_postmark_comes_back_as_webhooks(
    herald_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipients = 60
    planning._emails_cache.clear()
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), recipients)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    planning.plan_campaign(campaign.id)
    hook = herald_url.replace("http://", f"http://{USER}:{PASSWORD.replace(' ', '%20')}@")
    sandbox_url, stop_sandbox = run_sandbox_in_thread()
    try:
        faults = {"webhook_url": f"{hook}/webhooks/postmark", "bounce_rate": 0.3, "seed": 7}
        httpx.post(f"{sandbox_url}/_sandbox/faults", json=faults).raise_for_status()
        provider = PostmarkProvider(sandbox_url, SANDBOX_TOKEN, "broadcast", timeout=10)
        monkeypatch.setattr(planning, "current_provider", lambda: provider)
        sending.send_batch(campaign.id, 1, 10**9)
        wait_until(lambda: _reported(sandbox_url) >= recipients, timeout=60,
                   what="every webhook posted")  # fmt: skip
        stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
    finally:
        stop_sandbox()

    assert (stats["webhooks_sent"], stats["webhooks_failed"]) == (recipients, 0)
    with unit_of_work() as session:
        rows = session.execute(select(Delivery.outcome, func.count()).group_by(Delivery.outcome))
        outcomes = dict(rows.all())
        events = session.scalar(select(func.count()).select_from(DeliveryEvent))
        unmatched = session.scalar(
            select(func.count())
            .select_from(DeliveryEvent)
            .where(DeliveryEvent.delivery_id.is_(None))
        )
        suppressed = set(session.scalars(select(Suppression.email)))
        bounced = set(
            session.scalars(select(DeliveryEvent.recipient).where(DeliveryEvent.type == "bounced"))
        )
        ended = session.scalar(
            select(func.count())
            .select_from(Subscription)
            .where(Subscription.unsubscribed_via == "bounce")
        )
    assert (events, unmatched) == (recipients, 0)
    assert outcomes.get("delivered", 0) + outcomes.get("bounced", 0) == recipients
    assert 0 < outcomes["bounced"] < recipients
    assert suppressed == bounced and len(suppressed) == outcomes["bounced"] == ended


def _reported(sandbox_url: str) -> int:
    stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
    return int(stats["webhooks_sent"]) + int(stats["webhooks_failed"])
