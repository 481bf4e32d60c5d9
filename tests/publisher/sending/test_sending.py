"""Sending one batch when the provider misbehaves: timeouts, 429s, 5xx, refusals, replays.

The real Postmark and Resend adapters talk to handlers standing in for the providers'
servers (httpx.MockTransport); the pipeline, database and shared rate limit are real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import redis
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from core.database import unit_of_work
from core.providers.base import Provider
from core.providers.postmark import PostmarkProvider
from core.providers.resend import ResendProvider
from core.providers.sendgrid import SendGridProvider
from core.ratelimit import DatabaseRateLimiter, RedisRateLimiter
from core.settings import get_settings
from publisher.campaigns.models import Campaign
from publisher.campaigns.service import cancel_campaign, start_sending
from publisher.sending.models import Delivery
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers, counts_by_status
from tests.fixtures.processes import free_port
from tests.fixtures.tasks import discarding
from worker import planning, sending

Handler = Callable[[httpx.Request], httpx.Response]


class ProviderServer:
    """Answers calls with a scripted handler per call and keeps every request it saw."""

    def __init__(self, *answers: Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request)


def accept_postmark(request: httpx.Request) -> httpx.Response:
    messages = httpx.Response(200, content=request.content).json()
    return httpx.Response(
        200,
        json=[
            {"ErrorCode": 0, "Message": "OK", "MessageID": f"pm-{i}"}
            for i, _ in enumerate(messages)
        ],
    )


def accept_resend(request: httpx.Request) -> httpx.Response:
    emails = httpx.Response(200, content=request.content).json()
    return httpx.Response(200, json={"data": [{"id": f"rs-{i}"} for i, _ in enumerate(emails)]})


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("the provider took the request and went quiet", request=request)


def status(code: int, **headers: str) -> Handler:
    return lambda request: httpx.Response(code, headers=headers, json={"Message": "no"})


@pytest.fixture
def campaign(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A planned campaign to three recipients, its batch tasks dropped, not run."""
    use_settings(monkeypatch, pause_after_failures="3")
    planning._emails_cache.clear()
    with discarding():
        with unit_of_work() as session:
            add_subscribers(session, add_list(session), 3)
            created = add_announcement(session, "news")
            start_sending(session, created)
        planning.plan_campaign(created.id)
        yield created.id


def use_provider(monkeypatch: pytest.MonkeyPatch, provider: Provider) -> None:
    monkeypatch.setattr(planning, "current_provider", lambda: provider)


def postmark(server: ProviderServer) -> PostmarkProvider:
    return PostmarkProvider(
        base_url="http://postmark.test",
        server_token="t",
        message_stream="broadcast",
        timeout=1,
        transport=httpx.MockTransport(server),
    )


def resend(server: ProviderServer) -> ResendProvider:
    return ResendProvider(
        base_url="http://resend.test",
        api_key="k",
        timeout=1,
        transport=httpx.MockTransport(server),
    )


def _campaign(campaign_id: int) -> Campaign:
    with unit_of_work() as session:
        found = session.get(Campaign, campaign_id)
        assert found is not None
        session.expunge(found)
        return found


def _attempt(campaign_id: int) -> str:
    with unit_of_work() as session:
        return str(
            session.scalars(
                select(Delivery.attempt_id).where(Delivery.campaign_id == campaign_id).limit(1)
            ).one()
        )


def test_a_timeout_through_postmark_waits_for_reconciliation_and_is_never_resent(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ProviderServer(time_out)
    use_provider(monkeypatch, postmark(server))
    sending.send_batch(campaign, 1, 10**9)
    assert counts_by_status(campaign) == {"sending": 3}  # in doubt: Postmark will be asked
    with unit_of_work() as session:
        rows = session.scalars(select(Delivery).where(Delivery.campaign_id == campaign)).all()
        assert all(row.dispatched_at is not None and row.lease_until is not None for row in rows)
    sending.send_batch(campaign, 1, 10**9)  # a redelivered task finds nothing to claim
    assert len(server.requests) == 1
    assert _campaign(campaign).status == "sending"  # not finished while in doubt


def test_a_timeout_through_sendgrid_is_unknown_at_once(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_provider(monkeypatch, sendgrid(ProviderServer(time_out)))
    sending.send_batch(campaign, 1, 10**9)
    assert counts_by_status(campaign) == {"unknown": 3}


class BrokenLimiter(DatabaseRateLimiter):
    """A limiter whose shared store fails as Redis does when it is down."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def acquire(self, provider: str, tokens: int) -> float:
        raise self.error

    def block(self, provider: str, seconds: float) -> None:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        redis.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused."),
        redis.TimeoutError("Timeout reading from socket"),
        OperationalError("UPDATE provider_rate_limits", {}, Exception("server closed")),
    ],
    ids=["redis-down", "redis-timeout", "database-error"],
)
def test_a_failing_rate_limiter_puts_the_batch_back_for_a_retry_with_backoff(
    campaign: int, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    server = ProviderServer(accept_postmark)
    use_provider(monkeypatch, postmark(server))
    monkeypatch.setattr(sending, "get_rate_limiter", lambda settings: BrokenLimiter(error))
    with pytest.raises(sending.RetryLater) as later:
        sending.send_batch(campaign, 1, 10**9)
    assert later.value.delay is None  # the task's own backoff
    assert counts_by_status(campaign) == {"queued": 3}
    assert server.requests == []
    assert _campaign(campaign).consecutive_failures == 0  # not the provider's failure


def test_a_stopped_redis_behind_the_limiter_puts_the_batch_back(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"
    limiter = RedisRateLimiter(nobody_listens, rate_per_second=100, burst=10)
    server = ProviderServer(accept_postmark)
    use_provider(monkeypatch, postmark(server))
    monkeypatch.setattr(sending, "get_rate_limiter", lambda settings: limiter)
    with pytest.raises(sending.RetryLater):
        sending.send_batch(campaign, 1, 10**9)
    assert counts_by_status(campaign) == {"queued": 3}
    assert server.requests == []


def test_a_429_with_the_limiter_down_still_requeues_the_batch(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_provider(monkeypatch, postmark(ProviderServer(status(429, **{"Retry-After": "3"}))))
    broken = BrokenLimiter(redis.ConnectionError("down"))
    monkeypatch.setattr(broken, "acquire", lambda provider, tokens: 0.0)
    monkeypatch.setattr(sending, "get_rate_limiter", lambda settings: broken)
    with pytest.raises(sending.RetryLater) as later:
        sending.send_batch(campaign, 1, 10**9)
    assert later.value.delay == 3
    assert counts_by_status(campaign) == {"queued": 3}


def test_rows_taken_back_before_the_dispatch_are_not_sent(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ProviderServer(accept_postmark)
    use_provider(monkeypatch, postmark(server))
    taken_back: list[str] = []

    def slow_pacing(provider: Provider, attempt_id: str, count: int, *, replay: bool) -> None:
        # Meanwhile the lease ended and the sweeper returned one row to another sender.
        with unit_of_work() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.campaign_id == campaign, Delivery.id == 1)
                .values(status="queued", attempt_id=None)
            )
        taken_back.append(attempt_id)

    monkeypatch.setattr(sending, "_pace", slow_pacing)
    sending.send_batch(campaign, 1, 10**9)
    assert taken_back
    [request] = server.requests
    assert len(httpx.Response(200, content=request.content).json()) == 2
    assert counts_by_status(campaign) == {"sent": 2, "queued": 1}


def test_a_timeout_through_resend_is_replayed_as_the_same_request(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ProviderServer(time_out, accept_resend)
    use_provider(monkeypatch, resend(server))
    with pytest.raises(sending.ReplayLater) as later:
        sending.send_batch(campaign, 1, 10**9)
    assert counts_by_status(campaign) == {"sending": 3}
    sending.replay_attempt(campaign, later.value.attempt_id)
    assert counts_by_status(campaign) == {"sent": 3}
    first, replay = server.requests
    assert first.headers["Idempotency-Key"] == replay.headers["Idempotency-Key"]
    assert first.content == replay.content
    assert _campaign(campaign).status == "sent"


def test_a_changed_attempt_refused_by_resend_stays_unknown(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    conflict = {"statusCode": 409, "name": "invalid_idempotent_request", "message": "changed"}
    server = ProviderServer(time_out, lambda request: httpx.Response(409, json=conflict))
    use_provider(monkeypatch, resend(server))
    with pytest.raises(sending.ReplayLater) as later:
        sending.send_batch(campaign, 1, 10**9)
    sending.replay_attempt(campaign, later.value.attempt_id)
    assert counts_by_status(campaign) == {"unknown": 3}


def test_a_429_requeues_the_batch_and_slows_every_worker(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_provider(monkeypatch, postmark(ProviderServer(status(429, **{"Retry-After": "30"}))))
    with pytest.raises(sending.RetryLater) as later:
        sending.send_batch(campaign, 1, 10**9)
    assert later.value.delay == 30
    assert counts_by_status(campaign) == {"queued": 3}
    another_worker = DatabaseRateLimiter(0, 0, url=get_settings().database_url)
    assert another_worker.acquire("postmark", 1) > 20
    assert _campaign(campaign).consecutive_failures == 0  # throttling is not failing


def test_failing_batches_pause_the_campaign_and_a_success_resets_the_count(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ProviderServer(status(500), status(500), accept_postmark, status(500))
    use_provider(monkeypatch, postmark(server))
    for first in (1, 2):
        with pytest.raises(sending.RetryLater):
            sending.send_batch(campaign, first, first)
    assert _campaign(campaign).consecutive_failures == 2
    sending.send_batch(campaign, 1, 1)
    assert _campaign(campaign).consecutive_failures == 0
    for _ in range(3):
        with pytest.raises(sending.RetryLater):
            sending.send_batch(campaign, 2, 2)
    paused = _campaign(campaign)
    assert paused.status == "paused"
    assert "3 failed batches" in paused.error and "500" in paused.error
    calls = len(server.requests)
    sending.send_batch(campaign, 3, 3)  # batches still in the broker do nothing now
    assert len(server.requests) == calls
    assert counts_by_status(campaign) == {"sent": 1, "queued": 2}


def test_a_refused_batch_fails_without_retry(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_provider(monkeypatch, postmark(ProviderServer(status(422))))
    sending.send_batch(campaign, 1, 10**9)
    assert counts_by_status(campaign) == {"failed": 3}


def test_a_long_wait_for_the_rate_limit_gives_the_batch_back(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, rate_limit_per_second="0.2", rate_limit_burst="1")
    server = ProviderServer(accept_postmark)
    use_provider(monkeypatch, postmark(server))
    sending.send_batch(campaign, 1, 1)  # the burst allows one message at once
    with pytest.raises(sending.RetryLater) as later:
        sending.send_batch(campaign, 2, 3)  # next token in 5 s: not held
    assert later.value.delay is not None and later.value.delay > sending.PACE_MAX_WAIT_SECONDS
    assert counts_by_status(campaign) == {"sent": 1, "queued": 2}
    assert len(server.requests) == 1


def test_a_batch_failing_after_a_cancel_is_cancelled_not_requeued(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cancel_then_fail(request: httpx.Request) -> httpx.Response:
        with unit_of_work() as session:
            cancel_campaign(session, campaign)
        return httpx.Response(503, json={"Message": "down"})

    use_provider(monkeypatch, postmark(ProviderServer(cancel_then_fail)))
    with pytest.raises(sending.RetryLater):
        sending.send_batch(campaign, 1, 10**9)
    assert counts_by_status(campaign) == {"cancelled": 3}


def accept_sendgrid(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, headers={"X-Message-Id": f"sg-{len(request.content)}"})


def sendgrid(server: ProviderServer) -> SendGridProvider:
    return SendGridProvider(
        base_url="http://sendgrid.test",
        api_key="k",
        timeout=1,
        transport=httpx.MockTransport(server),
    )


def test_messages_a_stopped_batch_never_sent_go_back_to_the_queue(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ProviderServer(accept_sendgrid, status(503), accept_sendgrid)
    use_provider(monkeypatch, sendgrid(server))
    with pytest.raises(sending.RetryLater):
        sending.send_batch(campaign, 1, 10**9)  # one per call: the second call fails
    assert counts_by_status(campaign) == {"sent": 1, "queued": 2}
    sending.send_batch(campaign, 1, 10**9)  # the task's retry
    assert counts_by_status(campaign) == {"sent": 3}
    assert len(server.requests) == 4


def test_a_silent_message_of_a_stopped_batch_is_unknown_and_the_rest_requeued(
    campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_provider(monkeypatch, sendgrid(ProviderServer(accept_sendgrid, time_out, accept_sendgrid)))
    with pytest.raises(sending.RetryLater):
        sending.send_batch(campaign, 1, 10**9)
    assert counts_by_status(campaign) == {"sent": 1, "unknown": 1, "queued": 1}
