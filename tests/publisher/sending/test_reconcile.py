"""Reconciling dispatched deliveries whose answer never came, by asking the provider.

The real Postmark and Mailgun adapters ask the provider sandbox (served on a local port)
through its documented look-ups: Postmark's outbound message search by metadata, Mailgun's
events by user variables. The sweeper runs for real on the test database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from core.database import unit_of_work, utcnow
from core.message import Mailbox, OutgoingMessage
from core.providers.base import Dispatched, ProviderError, Sighting, can_reconcile
from core.providers.mailgun import MailgunProvider
from core.providers.postmark import PostmarkProvider
from core.providers.sendgrid import SendGridProvider
from publisher.campaigns.models import Campaign
from publisher.campaigns.service import start_sending
from publisher.sending import attempts
from publisher.sending.models import Delivery
from sandbox.app import run_sandbox_in_thread
from sandbox.state import SANDBOX_TOKEN
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from tests.fixtures.tasks import TaskRecorder, delivery_statuses
from worker import planning, reconcile, scheduled

Provider = PostmarkProvider | MailgunProvider


@pytest.fixture(scope="module")
def _sandbox() -> Iterator[str]:
    url, stop = run_sandbox_in_thread()
    yield url
    stop()


@pytest.fixture
def sandbox_url(_sandbox: str) -> str:
    """A sandbox that remembers nothing of earlier tests (their ids repeat)."""
    httpx.post(f"{_sandbox}/_sandbox/reset").raise_for_status()
    return _sandbox


def postmark(url: str) -> PostmarkProvider:
    return PostmarkProvider(url, SANDBOX_TOKEN, "broadcast", timeout=5)


def mailgun(url: str) -> MailgunProvider:
    return MailgunProvider(url, SANDBOX_TOKEN, "mg.example.org", timeout=5)


BUILDERS: dict[str, Callable[[str], Provider]] = {"postmark": postmark, "mailgun": mailgun}


def message(campaign_id: int, delivery_id: int) -> OutgoingMessage:
    return OutgoingMessage(
        key=str(delivery_id),
        sender=Mailbox("news@example.org", "Herald"),
        to=Mailbox(f"reader{delivery_id}@example.org", "Читач"),
        subject="Forum report",
        html="<p>Hello</p>",
        text="Hello",
        message_id=f"<herald.{campaign_id}.{delivery_id}@example.org>",
        metadata={"campaign_id": str(campaign_id), "delivery_id": str(delivery_id)},
    )


def dispatched(campaign_id: int, delivery_id: int) -> Dispatched:
    return Dispatched(
        str(delivery_id), str(campaign_id), f"reader{delivery_id}@example.org", utcnow()
    )


@pytest.mark.parametrize("name", ["postmark", "mailgun"])
def test_the_provider_says_which_messages_it_accepted(sandbox_url: str, name: str) -> None:
    provider = BUILDERS[name](sandbox_url)
    campaign_id = {"postmark": 9100, "mailgun": 9200}[name]  # apart in the shared sandbox
    results = provider.send_batch([message(campaign_id, 1), message(campaign_id, 2)])
    sightings = provider.reconcile([dispatched(campaign_id, n) for n in (1, 2, 3)])
    assert sightings == [
        Sighting("1", seen=True, provider_message_id=results[0].provider_message_id),
        Sighting("2", seen=True, provider_message_id=results[1].provider_message_id),
        Sighting("3", seen=False),
    ]
    # The same delivery id in another campaign is another message.
    assert provider.reconcile([dispatched(campaign_id + 1, 1)]) == [Sighting("1", seen=False)]


def test_a_failing_look_up_raises_and_a_later_failure_keeps_the_answers_so_far() -> None:
    calls: list[httpx.Request] = []

    def search(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) >= 2:
            return httpx.Response(500, text="Internal Server Error")
        return httpx.Response(200, json={"TotalCount": 0, "Messages": []})

    provider = PostmarkProvider(
        "http://postmark.test", "t", "broadcast", 1, transport=httpx.MockTransport(search)
    )
    assert provider.reconcile([dispatched(1, 1), dispatched(1, 2), dispatched(1, 3)]) == [
        Sighting("1", seen=False)
    ]
    assert calls[0].url.params["metadata_delivery_id"] == "1"
    assert calls[0].url.params["metadata_campaign_id"] == "1"
    with pytest.raises(ProviderError):
        provider.reconcile([dispatched(1, 2)])  # nothing answered: the look-up failed


def test_only_postmark_and_mailgun_can_be_asked(sandbox_url: str) -> None:
    assert can_reconcile(postmark(sandbox_url)) and can_reconcile(mailgun(sandbox_url))
    assert not can_reconcile(SendGridProvider("http://sendgrid.test", "k", timeout=1))


def _campaign_in_flight(
    tasks: TaskRecorder, provider: Provider, *, reached: int, recipients: int = 4
) -> int:
    """A campaign whose one batch was claimed and dispatched by a worker that then died;
    only the first ``reached`` messages got to the provider."""
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), recipients)
        campaign = add_announcement(session, "news")
        campaign_id = campaign.id
        start_sending(session, campaign)
    planning.plan_campaign(tasks.tasks.pop(0)[1][0])
    tasks.tasks.clear()  # the batch tasks died with the worker
    with unit_of_work() as session:
        claimed = attempts.claim_batch(
            session,
            campaign_id,
            1,
            10**9,
            attempt_id="dead",
            provider=provider.name,
            lease=timedelta(seconds=-1),
        )
        attempts.mark_dispatched(session, "dead", lease=timedelta(seconds=-1))
        campaign_row = session.get(Campaign, campaign_id)
        assert campaign_row is not None
        emails = planning.campaign_emails(session, campaign_row)
        messages = [emails.message_for(delivery, attempt_id="dead") for delivery in claimed]
    provider.send_batch(messages[:reached])
    return campaign_id


def _sweep() -> None:
    scheduled.resolve_expired_leases()
    reconcile.reconcile_in_doubt()


@pytest.mark.parametrize("name", ["postmark", "mailgun"])
def test_the_sweeper_marks_seen_rows_sent_and_requeues_the_others(
    tasks: TaskRecorder, sandbox_url: str, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    use_settings(monkeypatch, reconcile_settle_seconds="0", provider_timeout_seconds="0.01")
    provider = BUILDERS[name](sandbox_url)
    monkeypatch.setattr(planning, "current_provider", lambda: provider)
    campaign_id = _campaign_in_flight(tasks, provider, reached=3)
    _sweep()
    assert delivery_statuses(campaign_id) == {"sent": 3, "queued": 1}
    with unit_of_work() as session:
        ids = session.scalars(
            select(Delivery.provider_message_id).where(
                Delivery.campaign_id == campaign_id, Delivery.status == "sent"
            )
        ).all()
    assert all(ids) and len(set(ids)) == 3
    assert [name for name, _ in tasks.tasks] == ["herald.campaigns.send_batch"]
    tasks.run_all()  # the one the provider never saw is sent now, and only it
    assert delivery_statuses(campaign_id) == {"sent": 4}
    received = httpx.get(
        f"{sandbox_url}/_sandbox/recipients", params={"campaign_id": campaign_id}
    ).json()
    assert sorted(received.values()) == [1, 1, 1, 1]


def test_rows_wait_for_the_settle_window_before_the_provider_is_asked(
    tasks: TaskRecorder, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, reconcile_settle_seconds="3600")
    provider = postmark(sandbox_url)
    monkeypatch.setattr(planning, "current_provider", lambda: provider)
    campaign_id = _campaign_in_flight(tasks, provider, reached=0)
    _sweep()
    assert delivery_statuses(campaign_id) == {"sending": 4}  # not misread as "never seen"
    assert tasks.tasks == []


def test_without_a_look_up_dispatched_rows_are_unknown_and_undispatched_ones_requeued(
    tasks: TaskRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = SendGridProvider("http://sendgrid.test", "k", timeout=1)
    monkeypatch.setattr(planning, "current_provider", lambda: provider)
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 4)
        campaign = add_announcement(session, "news")
        campaign_id = campaign.id
        start_sending(session, campaign)
    planning.plan_campaign(tasks.tasks.pop(0)[1][0])
    tasks.tasks.clear()
    with unit_of_work() as session:  # two workers died: one after dispatching, one before
        for attempt, first, last in (("left", 1, 2), ("stayed", 3, 4)):
            attempts.claim_batch(
                session,
                campaign_id,
                first,
                last,
                attempt_id=attempt,
                provider=provider.name,
                lease=timedelta(seconds=-1),
            )
        attempts.mark_dispatched(session, "left", lease=timedelta(seconds=-1))
    _sweep()
    assert delivery_statuses(campaign_id) == {"unknown": 2, "queued": 2}
    assert tasks.tasks == [("herald.campaigns.send_batch", [campaign_id, 3, 4])]
