"""Ingesting provider events on SQLite and PostgreSQL: stored once, outcomes only forward,
hard bounces and complaints suppress, unsubscribes end the campaign's lists.

Events are built as the readers build them and handed to the service; every effect is read
back from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.database import unit_of_work
from core.providers.events import EventType, ProviderEvent
from publisher.sending.deliveries import plan_deliveries
from publisher.sending.models import Delivery
from publisher.tracking.models import DeliveryEvent
from publisher.tracking.provider_events import OUTCOME_RANKS, ingest_events, record_events
from subscribers.models import Subscription, Suppression
from tests.fixtures.factories import add_announcement, add_list, add_subscribers, subscribe

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Sent:
    """A campaign to the "news" list, planned: one delivery per reader, by address."""

    campaign_id: int
    news_id: int
    events_id: int
    deliveries: dict[str, int]
    subscribers: dict[str, int]


@pytest.fixture
def sent(db: str) -> Sent:
    """Three readers on "news" (the first also on "events"), and a campaign to "news"."""
    with unit_of_work() as session:
        news, events = add_list(session, "news"), add_list(session, "events")
        people = add_subscribers(session, news, 3)
        subscribe(session, people[0], events)
        campaign = add_announcement(session, "news")
        plan_deliveries(session, campaign.id)
        rows = session.execute(select(Delivery.id, Delivery.subscriber_id)).all()
        by_subscriber = {subscriber: delivery for delivery, subscriber in rows}
        return Sent(
            campaign.id,
            news.id,
            events.id,
            deliveries={p.email: by_subscriber[p.id] for p in people},
            subscribers={p.email: p.id for p in people},
        )


def event(
    event_id: str,
    kind: EventType,
    delivery_id: int | None,
    *,
    at: datetime = T0,
    recipient: str = "",
    **fields: Any,
) -> ProviderEvent:
    """An event as a reader makes it."""
    return ProviderEvent(event_id, kind, delivery_id, recipient, at, **fields)


def ingest(*events: ProviderEvent, source: str = "postmark") -> int:
    """Record ``events`` in their own unit of work; how many were new."""
    with unit_of_work() as session:
        return record_events(session, source, list(events))


def delivery(delivery_id: int) -> Delivery:
    with unit_of_work() as session:
        found = session.get(Delivery, delivery_id)
        assert found is not None
        session.expunge(found)
        return found


def stored_events() -> list[DeliveryEvent]:
    with unit_of_work() as session:
        rows = list(session.scalars(select(DeliveryEvent).order_by(DeliveryEvent.id)))
        session.expunge_all()
        return rows


def suppressions() -> dict[str, str]:
    with unit_of_work() as session:
        rows = session.execute(select(Suppression.email, Suppression.reason))
        return dict(rows.all())


def subscription(subscriber_id: int, list_id: int) -> tuple[str, str]:
    with unit_of_work() as session:
        found = session.get(Subscription, (subscriber_id, list_id))
        assert found is not None
        return found.status, found.unsubscribed_via


# --- stored once -----------------------------------------------------------------------


def test_an_event_is_stored_with_its_delivery_and_campaign(sent: Sent) -> None:
    first = sent.deliveries["reader0@example.com"]
    assert ingest(event("Delivery:m1:t", "delivered", first, details={"smtp": "250 OK"})) == 1

    [row] = stored_events()
    assert (row.source, row.event_id, row.type) == ("postmark", "Delivery:m1:t", "delivered")
    assert (row.delivery_id, row.campaign_id) == (first, sent.campaign_id)
    assert row.occurred_at == T0 and row.details == {"smtp": "250 OK"} and not row.machine
    assert (delivery(first).outcome, delivery(first).outcome_at) == ("delivered", T0)


def test_a_retried_webhook_changes_nothing(sent: Sent) -> None:
    first = sent.deliveries["reader0@example.com"]
    batch = [event("a", "delivered", first), event("b", "opened", first, at=T0 + timedelta(1))]
    assert ingest(*batch) == 2
    before = (stored_events(), delivery(first))

    assert ingest(*batch) == 0
    assert ingest(batch[1]) == 0
    after = (stored_events(), delivery(first))
    assert [e.id for e in after[0]] == [e.id for e in before[0]]
    assert (after[1].outcome, after[1].outcome_at, after[1].opened_at) == (
        before[1].outcome,
        before[1].outcome_at,
        before[1].opened_at,
    )


def test_a_repeated_event_id_in_one_batch_is_stored_once(sent: Sent) -> None:
    first = sent.deliveries["reader0@example.com"]
    with unit_of_work() as session:
        done = ingest_events(session, "postmark", [event("x", "delivered", first)] * 3)
    assert (done.received, done.recorded, done.duplicates) == (3, 1, 2)
    assert len(stored_events()) == 1


def test_the_same_event_id_from_two_sources_is_two_events(sent: Sent) -> None:
    first = sent.deliveries["reader0@example.com"]
    assert ingest(event("same", "delivered", first), source="postmark") == 1
    assert ingest(event("same", "delivered", first), source="resend") == 1


def test_an_id_we_never_issued_is_stored_unmatched_and_changes_nothing(sent: Sent) -> None:
    with unit_of_work() as session:
        done = ingest_events(
            session, "postmark", [event("u1", "delivered", 10**9), event("u2", "opened", None)]
        )
    assert (done.recorded, done.unmatched) == (2, 2)
    assert {(e.delivery_id, e.campaign_id) for e in stored_events()} == {(None, None)}
    assert {delivery(i).outcome for i in sent.deliveries.values()} == {""}


def test_an_overlong_event_id_is_stored_hashed_and_still_deduplicated(sent: Sent) -> None:
    first = sent.deliveries["reader0@example.com"]
    long_id = "Click:" + "x" * 400
    assert ingest(event(long_id, "clicked", first)) == 1
    assert ingest(event(long_id, "clicked", first)) == 0
    [row] = stored_events()
    assert row.event_id.startswith("sha256:") and len(row.event_id) <= 200


# --- outcomes only move forward --------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "then", "outcome"),
    [
        ("bounced", "delivered", "bounced"),
        ("delivered", "bounced", "bounced"),
        ("deferred", "delivered", "delivered"),
        ("delivered", "deferred", "delivered"),
        ("complained", "delivered", "complained"),
        ("delivered", "complained", "complained"),
        ("bounced", "failed", "bounced"),
        ("opened", "deferred", "delivered"),
        ("clicked", "complained", "complained"),
    ],
)
def test_an_outcome_only_moves_forward(
    sent: Sent, first: EventType, then: EventType, outcome: str
) -> None:
    target = sent.deliveries["reader1@example.com"]
    ingest(event("one", first, target, at=T0))
    ingest(event("two", then, target, at=T0 + timedelta(minutes=5)))
    assert delivery(target).outcome == outcome


def test_in_one_batch_the_highest_outcome_wins_whatever_the_order(sent: Sent) -> None:
    target = sent.deliveries["reader1@example.com"]
    late = T0 + timedelta(hours=1)
    ingest(event("c", "complained", target, at=late), event("d", "delivered", target))
    assert (delivery(target).outcome, delivery(target).outcome_at) == ("complained", late)


def test_the_ranks_put_every_outcome_after_none() -> None:
    flat = [outcome for group in OUTCOME_RANKS for outcome in group]
    assert flat[0] == "" and len(flat) == len(set(flat))
    assert {"deferred", "delivered", "bounced", "failed", "complained"} <= set(flat)


# --- opens and clicks --------------------------------------------------------------------


def test_the_first_open_and_click_are_kept_and_imply_delivered(sent: Sent) -> None:
    target = sent.deliveries["reader2@example.com"]
    ingest(event("o2", "opened", target, at=T0 + timedelta(hours=2)))
    ingest(event("o1", "opened", target, at=T0 + timedelta(hours=1)))  # arrives late
    ingest(event("o3", "opened", target, at=T0 + timedelta(hours=3)))
    ingest(event("k1", "clicked", target, at=T0 + timedelta(hours=4)))

    found = delivery(target)
    assert found.outcome == "delivered"
    assert found.opened_at == T0 + timedelta(hours=1)
    assert found.clicked_at == T0 + timedelta(hours=4)


def test_a_machine_open_is_stored_flagged_and_counts_for_no_one(sent: Sent) -> None:
    target = sent.deliveries["reader2@example.com"]
    ingest(
        event("mpp", "opened", target, machine=True), event("scan", "clicked", target, machine=True)
    )
    assert {(e.event_id, e.machine) for e in stored_events()} == {("mpp", True), ("scan", True)}
    found = delivery(target)
    assert (found.opened_at, found.clicked_at) == (None, None)


# --- suppression and unsubscribes -------------------------------------------------------


def test_a_hard_bounce_suppresses_the_address_and_ends_every_subscription(sent: Sent) -> None:
    email = "reader0@example.com"
    ingest(event("b1", "bounced", sent.deliveries[email], bounce="hard", recipient=email))
    assert suppressions() == {email: "hard_bounce"}
    person = sent.subscribers[email]
    assert subscription(person, sent.news_id) == ("unsubscribed", "bounce")
    assert subscription(person, sent.events_id) == ("unsubscribed", "bounce")
    assert subscription(sent.subscribers["reader1@example.com"], sent.news_id)[0] == "confirmed"


def test_a_complaint_suppresses_and_a_later_bounce_keeps_the_first_reason(sent: Sent) -> None:
    email = "reader1@example.com"
    ingest(event("c1", "complained", sent.deliveries[email]))
    ingest(event("b1", "bounced", sent.deliveries[email], bounce="hard"))
    assert suppressions() == {email: "complaint"}
    assert subscription(sent.subscribers[email], sent.news_id) == ("unsubscribed", "complaint")


def test_a_soft_bounce_suppresses_nothing(sent: Sent) -> None:
    email = "reader1@example.com"
    ingest(event("s1", "bounced", sent.deliveries[email], bounce="soft"))
    assert suppressions() == {}
    assert delivery(sent.deliveries[email]).outcome == "bounced"
    assert subscription(sent.subscribers[email], sent.news_id)[0] == "confirmed"


def test_an_unmatched_hard_bounce_suppresses_the_address_it_names(sent: Sent) -> None:
    ingest(event("b9", "bounced", None, bounce="hard", recipient="reader2@example.com"))
    assert suppressions() == {"reader2@example.com": "hard_bounce"}
    assert subscription(sent.subscribers["reader2@example.com"], sent.news_id)[0] == (
        "unsubscribed"
    )


def test_a_later_campaign_is_not_sent_to_a_suppressed_address(sent: Sent) -> None:
    bounced, complained = "reader0@example.com", "reader1@example.com"
    ingest(
        event("b1", "bounced", sent.deliveries[bounced], bounce="hard"),
        event("c1", "complained", sent.deliveries[complained]),
    )
    with unit_of_work() as session:
        # Even someone who subscribes again is never mailed once suppressed.
        again = session.get(Subscription, (sent.subscribers[bounced], sent.news_id))
        assert again is not None
        again.status = "confirmed"
        later = add_announcement(session, "news", "events")
        plan_deliveries(session, later.id)
        recipients = set(
            session.scalars(select(Delivery.subscriber_id).where(Delivery.campaign_id == later.id))
        )
    assert recipients == {sent.subscribers["reader2@example.com"]}


def test_an_unsubscribe_ends_only_the_lists_of_its_campaign(sent: Sent) -> None:
    email = "reader0@example.com"
    ingest(event("u1", "unsubscribed", sent.deliveries[email]))
    person = sent.subscribers[email]
    assert subscription(person, sent.news_id) == (
        "unsubscribed",
        f"postmark (campaign:{sent.campaign_id})",
    )
    assert subscription(person, sent.events_id)[0] == "confirmed"
    assert suppressions() == {}
    assert delivery(sent.deliveries[email]).outcome == ""


def test_a_batch_of_many_events_counts_each_kind(sent: Sent) -> None:
    ids = sent.deliveries
    batch = [
        event("d0", "delivered", ids["reader0@example.com"]),
        event("d1", "delivered", ids["reader1@example.com"]),
        event("b2", "bounced", ids["reader2@example.com"], bounce="hard"),
        event("x", "delivered", 424242),
    ]
    with unit_of_work() as session:
        done = ingest_events(session, "postmark", batch)
    assert (done.received, done.recorded, done.unmatched) == (4, 4, 1)
    with unit_of_work() as session:
        rows = session.execute(select(Delivery.outcome, func.count()).group_by(Delivery.outcome))
        outcomes = dict(rows.all())
    assert outcomes == {"delivered": 2, "bounced": 1}
    assert suppressions() == {"reader2@example.com": "hard_bounce"}
