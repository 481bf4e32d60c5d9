"""Campaigns sent by real Celery worker processes: each message arrives exactly once.

On the embedded default (SQLite + SQLite broker, outbox) and on PostgreSQL + Redis with two
worker processes racing over small batches through the Postmark API of the local sandbox.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from core.database import unit_of_work
from publisher.campaigns.models import Campaign
from publisher.sending.deliveries import delivery_counts
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from tests.fixtures.processes import celery_worker, herald, herald_env, sandbox_server, wait_until


def _seed(recipients: int) -> int:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), recipients)
        return add_announcement(session, "news").id


def _status(campaign_id: int) -> str:
    with unit_of_work() as session:
        return session.scalars(select(Campaign.status).where(Campaign.id == campaign_id)).one()


def _counts(campaign_id: int) -> dict[str, int]:
    with unit_of_work() as session:
        return delivery_counts(session, [campaign_id])[campaign_id]


def test_embedded_default_worker_sends_each_message_once(sqlite_db: str, tmp_path: Path) -> None:
    campaign_id = _seed(120)
    outbox = tmp_path / "outbox"
    env = herald_env(
        database_url=sqlite_db,
        broker_url=f"sqla+sqlite:///{tmp_path}/broker.sqlite",
        outbox_dir=str(outbox),
        batch_size="25",
        env="test",
    )
    with celery_worker(env, tmp_path, name="embedded"):
        sent = herald("campaigns", "send", str(campaign_id), env=env, cwd=tmp_path)
        assert sent.returncode == 0, sent.stderr
        wait_until(lambda: _status(campaign_id) == "sent", timeout=120, what="the campaign")
    assert _counts(campaign_id) == {"sent": 120}
    files = sorted((outbox / f"campaign-{campaign_id}").glob("*.eml"))
    assert len(files) == 120


def test_two_workers_on_postgres_and_redis_send_each_message_once(
    pg_db: str, redis_url: str, tmp_path: Path
) -> None:
    campaign_id = _seed(600)
    with sandbox_server(tmp_path) as provider_url:
        env = herald_env(
            database_url=pg_db,
            broker_url=redis_url,
            provider="postmark",
            provider_url=provider_url,
            postmark_server_token="sandbox-token",
            batch_size="20",
            env="test",
        )
        with celery_worker(env, tmp_path, name="one"), celery_worker(env, tmp_path, name="two"):
            sent = herald("campaigns", "send", str(campaign_id), env=env, cwd=tmp_path)
            assert sent.returncode == 0, sent.stderr
            wait_until(lambda: _status(campaign_id) == "sent", timeout=180, what="the campaign")
        stats = httpx.get(f"{provider_url}/_sandbox/stats").json()
    assert _counts(campaign_id) == {"sent": 600}
    assert (stats["messages"], stats["unique_recipients"], stats["duplicates"]) == (600, 600, 0)


RUNNER = """
import sys
from publisher.cli.processes import run_together
crash = [sys.executable, "-c", "open(sys.argv[1], 'a').write('started\\\\n'); raise SystemExit(3)"]
crash = [sys.executable, "-c", "import sys; open(sys.argv[1], 'a').write('x\\\\n'); sys.exit(3)",
         sys.argv[1]]
stay = [sys.executable, "-c", "import time; time.sleep(60)"]
sys.exit(run_together({"worker": crash, "web": stay}, restart=("worker",)))
"""


def test_herald_up_restarts_a_worker_that_exits_with_a_backoff(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(starts)],
        env=herald_env(),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: starts.exists() and len(starts.read_text().split()) >= 3,
            timeout=15,
            what="the worker to be started three times",
        )
        assert runner.poll() is None, "the others must keep running"
    finally:
        runner.terminate()
        _, errors = runner.communicate(timeout=20)
    assert runner.returncode is not None  # Ctrl-C (here TERM) still stops everything
    assert b"worker exited with code 3; restarting it in 1 s" in errors
    assert b"restarting it in 2 s" in errors  # the second exit in a row waits longer
