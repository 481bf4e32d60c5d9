"""Faults in the send pipeline, on real processes: nothing lost, nothing doubled, and
``unknown`` only where a request may have left and nobody can say what became of it.

Each case sends a campaign to 1,000 recipients with real Celery workers and the scheduler on
PostgreSQL and a ``redis-server`` of the test's own (broker and shared rate limiter), through
the provider sandbox, and injects one fault mid-send: Redis killed for 3 s; a worker SIGKILLed
while rendering, while pacing, while the provider call is in flight; every database
connection of the workers terminated; 429/500 storms. Through Postmark's API (which the
sweeper can ask) each ends with every recipient sent exactly once; through SendGrid's (which
it cannot) with at most the rows in flight at the kill left ``unknown``.

Each case prints its line of the fault table: fault → sent / unknown / missing / duplicates,
where *missing* is a recipient the sandbox never got and no row admits to (silently lost).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from core.database import dispose_engines, unit_of_work
from publisher.campaigns.models import Campaign
from publisher.sending.models import Delivery
from tests.fixtures.factories import (
    add_announcement,
    add_list,
    add_subscribers,
    counts_by_status,
    emails_with_status,
)
from tests.fixtures.processes import (
    RedisServer,
    celery_beat,
    celery_worker,
    herald,
    herald_env,
    kill_tree,
    redis_server,
    sandbox_received,
    sandbox_server,
    set_sandbox_faults,
    wait_until,
)

RECIPIENTS = 1000
NO_FAULTS = {"throttle_rate": 0.0, "error_rate": 0.0, "slow_rate": 0.0}
HOLD_EVERY_ANSWER = {**NO_FAULTS, "slow_rate": 1.0, "slow_seconds": 2.5}
STORM = {**NO_FAULTS, "throttle_rate": 0.25, "error_rate": 0.25, "retry_after": 1}


@dataclass
class Run:
    """One campaign under one fault: its processes' settings and where to look."""

    campaign_id: int
    env: dict[str, str]
    sandbox: str
    broker: RedisServer
    folder: Path
    database: str


@dataclass(frozen=True)
class Tally:
    """A line of the fault table."""

    fault: str
    provider: str
    sent: int
    unknown: int
    missing: int
    duplicates: int
    in_flight: int
    seconds: float

    def line(self) -> str:
        return (
            f"FAULT TABLE | {self.fault:<34} | {self.provider:<8} | sent {self.sent:>4} | "
            f"unknown {self.unknown:>3} | missing {self.missing} | duplicates {self.duplicates}"
            f" | in flight at the fault {self.in_flight:>3} | {self.seconds:.0f} s"
        )


def _seed() -> int:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), RECIPIENTS)
        return add_announcement(session, "news").id


def _dispatched_in_flight(campaign_id: int) -> int:
    """Rows whose request may have left and whose outcome is not recorded yet."""
    with unit_of_work() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(
                    Delivery.campaign_id == campaign_id,
                    Delivery.status == "sending",
                    Delivery.dispatched_at.is_not(None),
                )
            )
            or 0
        )


def _environment(database: str, broker: str, provider: str, sandbox: str) -> dict[str, str]:
    return herald_env(
        database_url=database,
        broker_url=broker,
        env="test",
        provider=provider,
        provider_url=sandbox,
        postmark_server_token="sandbox-token",
        sendgrid_api_key="sandbox-token",
        provider_timeout_seconds="3",
        lease_seconds="4",
        stall_seconds="3",
        reconcile_settle_seconds="1",
        scheduler_tick_seconds="0.5",
        pause_after_failures="100000",
        batch_size="50",
        rate_limit_per_second="150",
        rate_limit_burst="50",
    )


def _start_sending(run: Run) -> None:
    started = herald("campaigns", "send", str(run.campaign_id), env=run.env, cwd=run.folder)
    assert started.returncode == 0, started.stderr


def _sent_at_least(run: Run, share: float) -> None:
    wait_until(
        lambda: counts_by_status(run.campaign_id).get("sent", 0) >= RECIPIENTS * share,
        timeout=60,
        what=f"{share:.0%} of the campaign to be sent",
    )


def _finished(run: Run) -> bool:
    if {"queued", "sending"} & set(counts_by_status(run.campaign_id)):
        return False
    with unit_of_work() as session:
        return session.scalar(select(Campaign.status).where(Campaign.id == run.campaign_id)) == (
            "sent"
        )


@contextmanager
def _held_worker(run: Run, point: str) -> Iterator[subprocess.Popen[bytes]]:
    """A worker that, once armed, stops at ``point`` (render, pace) for a kill.

    One process only: no other batch of it is in flight when the kill lands."""
    env = {**run.env, "HERALD_TEST_HOLD_AT": point, "HERALD_TEST_HOLD_DIR": str(run.folder)}
    name = f"held-{point}"
    with celery_worker(
        env, run.folder, name=name, concurrency=1, app="tests.fixtures.fault_hooks"
    ) as held:
        yield held


def _kill_at(run: Run, point: str) -> int:
    """SIGKILL a worker (and its children) while a batch is at ``point``; the rows whose
    request may have left at that moment."""
    with _held_worker(run, point) as doomed:
        _start_sending(run)
        _sent_at_least(run, 0.25)
        (run.folder / "armed").touch()
        wait_until(
            lambda: any(run.folder.glob("holding-*")), timeout=30, what=f"a batch to reach {point}"
        )
        kill_tree(doomed)
    return _dispatched_in_flight(run.campaign_id)


def kill_while_rendering(run: Run) -> int:
    """The claim is not committed yet: it dies with the worker's connection."""
    return _kill_at(run, "render")


def kill_while_pacing(run: Run) -> int:
    """Claimed and committed, not dispatched: the sweeper puts the rows back."""
    in_flight = _kill_at(run, "pace")
    claimed = counts_by_status(run.campaign_id).get("sending", 0) - in_flight
    assert claimed > 0, "the kill must land after the claim's commit"
    return in_flight


def kill_while_in_flight(run: Run) -> int:
    """The sandbox has accepted a batch and holds its answer: the kill lands right there."""
    with celery_worker(run.env, run.folder, name="doomed") as doomed:
        _start_sending(run)
        _sent_at_least(run, 0.25)
        set_sandbox_faults(run.sandbox, HOLD_EVERY_ANSWER)
        wait_until(
            lambda: (
                _dispatched_in_flight(run.campaign_id) > 0
                and len(sandbox_received(run.sandbox, run.campaign_id))
                > counts_by_status(run.campaign_id).get("sent", 0)
            ),
            timeout=30,
            what="the sandbox to hold an accepted, unanswered batch",
        )
        kill_tree(doomed)
        in_flight = _dispatched_in_flight(run.campaign_id)
    set_sandbox_faults(run.sandbox, NO_FAULTS)
    return in_flight


def redis_down_for_3_seconds(run: Run) -> int:
    """Broker and rate limiter gone for 3 s; queued task messages are lost with it."""
    idle = _idle_worker(run)
    try:
        with celery_worker(run.env, run.folder, name="busy"):
            _start_sending(run)
            _sent_at_least(run, 0.25)
            run.broker.stop()
            in_flight = counts_by_status(run.campaign_id).get("sending", 0)
            time.sleep(3)
            run.broker.start()
            wait_until(lambda: _finished(run), timeout=90, what="the campaign to finish")
            assert idle.poll() is None, "an idle worker must survive a Redis restart"
    finally:
        kill_tree(idle)
    return in_flight


def _idle_worker(run: Run) -> subprocess.Popen[bytes]:
    """``herald worker`` as deployed, on a queue nothing is sent to: idle throughout."""
    line = [sys.executable, "-m", "publisher.cli.main", "worker", "--queues", "transactional"]
    return subprocess.Popen(
        [*line, "--concurrency", "1"],
        env=run.env,
        cwd=run.folder,
        start_new_session=True,
        stdout=(run.folder / "idle.log").open("ab"),
        stderr=subprocess.STDOUT,
    )


def terminate_database_connections(run: Run) -> int:
    """``pg_terminate_backend`` on every connection of the workers and the scheduler, 3 times."""
    with celery_worker(run.env, run.folder, name="busy"):
        _start_sending(run)
        _sent_at_least(run, 0.25)
        in_flight = 0
        for _ in range(3):
            in_flight = max(in_flight, counts_by_status(run.campaign_id).get("sending", 0))
            assert _terminate_others(run.database) > 0
            time.sleep(0.7)
        dispose_engines()  # this process's pooled connections were ended too
        wait_until(lambda: _finished(run), timeout=90, what="the campaign to finish")
    return in_flight


def _terminate_others(database: str) -> int:
    engine = sa.create_engine(database, poolclass=sa.pool.NullPool)
    query = sa.text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    try:
        with engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def throttle_and_error_storms(run: Run) -> int:
    """Half the requests answered 429 or 500 until 40% of the campaign is through."""
    set_sandbox_faults(run.sandbox, STORM)
    with celery_worker(run.env, run.folder, name="busy"):
        _start_sending(run)
        _sent_at_least(run, 0.4)
        set_sandbox_faults(run.sandbox, NO_FAULTS)
        wait_until(lambda: _finished(run), timeout=90, what="the campaign to finish")
    stats = httpx.get(f"{run.sandbox}/_sandbox/stats").json()
    assert stats["throttled"] > 0 and stats["errors"] > 0, "the storm must have happened"
    return 0


Fault = Callable[[Run], int]


def _through(fault: Fault, provider: str, database: str, folder: Path) -> Tally:
    """Send a campaign, inject ``fault``, let a fresh worker and the sweeper finish it."""
    started = time.monotonic()
    campaign_id = _seed()
    with redis_server(folder) as broker, sandbox_server(folder, "--seed", "7") as sandbox:
        env = _environment(database, broker.url, provider, sandbox)
        run = Run(campaign_id, env, sandbox, broker, folder, database)
        with celery_beat(env, folder):
            in_flight = fault(run)
            with celery_worker(env, folder, name="survivor"):
                wait_until(lambda: _finished(run), timeout=90, what="every delivery resolved")
        received = sandbox_received(run.sandbox, run.campaign_id)
        stats = httpx.get(f"{sandbox}/_sandbox/stats").json()
    counts = counts_by_status(campaign_id)
    sent = emails_with_status(campaign_id, "sent")
    unknown = emails_with_status(campaign_id, "unknown")
    assert sent <= set(received), "a row marked sent was never received"
    assert stats["duplicates"] == sum(count - 1 for count in received.values())
    return Tally(
        fault=fault.__name__.replace("_", " "),
        provider=provider,
        sent=counts.get("sent", 0),
        unknown=counts.get("unknown", 0),
        missing=RECIPIENTS - len(set(received) | unknown),
        duplicates=stats["duplicates"],
        in_flight=in_flight,
        seconds=time.monotonic() - started,
    )


@pytest.fixture
def measure(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Callable[[Fault, str], Tally]:
    def run(fault: Fault, provider: str) -> Tally:
        tally = _through(fault, provider, pg_db, tmp_path)
        with capsys.disabled():
            print("\n" + tally.line())
        return tally

    return run


@pytest.mark.parametrize(
    "fault",
    [
        redis_down_for_3_seconds,
        kill_while_rendering,
        kill_while_pacing,
        kill_while_in_flight,
        terminate_database_connections,
        throttle_and_error_storms,
    ],
    ids=lambda fault: fault.__name__,
)
def test_through_postmark_every_recipient_is_sent_exactly_once(
    measure: Callable[[Fault, str], Tally], fault: Fault
) -> None:
    tally = measure(fault, "postmark")
    assert (tally.sent, tally.unknown, tally.missing, tally.duplicates) == (RECIPIENTS, 0, 0, 0)


@pytest.mark.parametrize(
    "fault", [kill_while_pacing, kill_while_in_flight], ids=lambda fault: fault.__name__
)
def test_through_sendgrid_unknown_is_at_most_what_was_in_flight(
    measure: Callable[[Fault, str], Tally], fault: Fault
) -> None:
    tally = measure(fault, "sendgrid")
    assert tally.duplicates == 0 and tally.missing == 0
    assert tally.unknown <= tally.in_flight
    assert tally.sent + tally.unknown == RECIPIENTS
    if fault is kill_while_in_flight:
        assert tally.in_flight > 0, "the kill must land while a request is in flight"
    else:  # claimed, never dispatched: nothing may be unknown
        assert tally.in_flight == 0 and tally.unknown == 0
