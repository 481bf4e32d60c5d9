"""Chaos: a worker machine dies mid-send, the provider throttles and fails; nothing is doubled.

Real processes throughout: Celery workers and the scheduler on Redis + PostgreSQL, and the
provider sandbox injecting 429s, 500s and slow answers. The worker is SIGKILLed (with its
children) while the sandbox holds a batch it has already accepted, so the kill lands exactly
in the window the guarantee is about: the request left, the answer never came back.

- Through Resend's API (idempotency keys) every recipient gets the email exactly once.
- Through Postmark's (no idempotency) too: the sweeper asks Postmark's message search about
  the batches whose answer never came, marks what it got sent and sends the rest.

More faults (Redis loss, kills at other points, lost database connections) and providers
without a look-up are in ``test_faults.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from core.database import unit_of_work
from tests.fixtures.factories import (
    add_announcement,
    add_list,
    add_subscribers,
    counts_by_status,
    emails_with_status,
)
from tests.fixtures.processes import (
    celery_beat,
    celery_worker,
    herald,
    herald_env,
    kill_tree,
    sandbox_received,
    sandbox_server,
    set_sandbox_faults,
    wait_until,
)

RECIPIENTS = 2000
MILD_FAULTS = {"throttle_rate": 0.15, "error_rate": 0.15, "slow_rate": 0.0, "retry_after": 1}
HOLD_EVERY_ANSWER = {"throttle_rate": 0.0, "error_rate": 0.0, "slow_rate": 1.0, "slow_seconds": 4}


def _seed() -> int:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), RECIPIENTS)
        return add_announcement(session, "news").id


def _environment(pg_db: str, redis_url: str, provider: str, url: str) -> dict[str, str]:
    return herald_env(
        database_url=pg_db,
        broker_url=redis_url,
        env="test",
        provider=provider,
        provider_url=url,
        postmark_server_token="sandbox-token",
        resend_api_key="sandbox-token",
        provider_timeout_seconds="5",
        lease_seconds="8",
        stall_seconds="4",
        scheduler_tick_seconds="1",
        pause_after_failures="1000",
        batch_size="50",
        reconcile_settle_seconds="1",
    )


def _send_through_a_crash(pg_db: str, redis_url: str, tmp_path: Path, provider: str) -> Any:
    """Send a campaign, kill its worker while the sandbox holds accepted batches, recover."""
    campaign_id = _seed()
    with sandbox_server(tmp_path, "--seed", "7") as url:
        env = _environment(pg_db, redis_url, provider, url)
        set_sandbox_faults(url, MILD_FAULTS)
        with celery_beat(env, tmp_path), celery_worker(env, tmp_path, name="doomed") as doomed:
            sent = herald("campaigns", "send", str(campaign_id), env=env, cwd=tmp_path)
            assert sent.returncode == 0, sent.stderr
            wait_until(
                lambda: counts_by_status(campaign_id).get("sent", 0) >= RECIPIENTS // 4,
                timeout=120,
                what="a quarter of the campaign to be sent",
            )
            set_sandbox_faults(url, HOLD_EVERY_ANSWER)
            wait_until(
                lambda: (
                    counts_by_status(campaign_id).get("sending", 0) > 0
                    and len(sandbox_received(url, campaign_id))
                    > counts_by_status(campaign_id)["sent"]
                ),
                timeout=60,
                what="the sandbox to hold an accepted, unanswered batch",
            )
            kill_tree(doomed)
            in_flight = counts_by_status(campaign_id).get("sending", 0)
            set_sandbox_faults(url, MILD_FAULTS)
            with celery_worker(env, tmp_path, name="survivor"):
                wait_until(
                    lambda: not {"queued", "sending"} & set(counts_by_status(campaign_id)),
                    timeout=180,
                    what="every delivery to be resolved",
                )
        stats = httpx.get(f"{url}/_sandbox/stats").json()
        received = sandbox_received(url, campaign_id)
    return campaign_id, in_flight, stats, received


def test_resend_with_idempotency_keys_delivers_exactly_once_through_a_crash(
    pg_db: str, redis_url: str, tmp_path: Path
) -> None:
    campaign_id, in_flight, stats, received = _send_through_a_crash(
        pg_db, redis_url, tmp_path, "resend"
    )
    assert in_flight > 0, "the kill must land while a batch is in flight"
    assert stats["throttled"] > 0 and stats["errors"] > 0, "faults must have been injected"
    assert stats["replayed"] > 0, "the crashed attempt must have been replayed, not re-sent"
    assert counts_by_status(campaign_id) == {"sent": RECIPIENTS}
    assert len(received) == RECIPIENTS
    assert set(received.values()) == {1}
    assert stats["duplicates"] == 0


def test_postmark_without_idempotency_is_reconciled_to_exactly_once_through_a_crash(
    pg_db: str, redis_url: str, tmp_path: Path
) -> None:
    campaign_id, in_flight, stats, received = _send_through_a_crash(
        pg_db, redis_url, tmp_path, "postmark"
    )
    assert in_flight > 0, "the kill must land while a batch is in flight"
    assert stats["throttled"] > 0 and stats["errors"] > 0, "faults must have been injected"
    assert stats["duplicates"] == 0
    assert counts_by_status(campaign_id) == {"sent": RECIPIENTS}
    assert len(received) == RECIPIENTS
    assert set(received.values()) == {1}
    # The rows the crash left in doubt were found in Postmark's records, not sent again.
    assert emails_with_status(campaign_id, "sent") == set(received)
