"""Send benchmark: one campaign to N recipients through real worker processes.

Prints one JSON line per case: recipients, workers, seconds (from 'send' to 'sent', planning
included; the worker pools are up before the clock starts), plan_seconds, messages_per_s,
peak RSS in MB of every worker process and of the provider sandbox, duplicates and missing.
Usage: python bench/send.py [--case embedded:10000] [--case postgres:1000000:2] ...
(default: embedded 10k, then PostgreSQL + Redis at 10k, 100k and 1M with two workers).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchdb import drop_postgres, fresh_postgres, point_at  # noqa: E402

from core.database import unit_of_work  # noqa: E402
from publisher.campaigns.models import Campaign  # noqa: E402
from publisher.cli.processes import migrate  # noqa: E402
from subscribers.models import Subscriber  # noqa: E402
from tests.fixtures.factories import add_announcement, add_list  # noqa: E402
from tests.fixtures.processes import celery_worker, herald, herald_env, sandbox_server  # noqa: E402

DEFAULT_CASES = ["embedded:10000", "postgres:10000:2", "postgres:100000:2", "postgres:1000000:2"]
REDIS_URL = "redis://127.0.0.1:6379/8"


def seed(recipients: int) -> int:
    """A list of ``recipients`` confirmed subscribers and an announcement to it."""
    with unit_of_work() as session:
        mailing_list = add_list(session)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text(PG_SUBSCRIBERS), {"n": recipients})
        else:
            _add_subscribers_in_chunks(session, recipients)
        session.execute(
            sa.text(
                "INSERT INTO subscriptions (subscriber_id, list_id, status, consent_source, "
                "consent_ip, unsubscribed_via, created_at) SELECT id, :list, 'confirmed', "
                "'bench', '', '', CURRENT_TIMESTAMP FROM subscribers"
            ),
            {"list": mailing_list.id},
        )
        return add_announcement(session, "news").id


PG_SUBSCRIBERS = (
    "INSERT INTO subscribers (email, name, language, timezone, attributes, status, created_at)"
    " SELECT 'r' || g || '@example.com', 'Reader ' || g, 'en', 'UTC', '{}', 'active',"
    " CURRENT_TIMESTAMP FROM generate_series(0, :n - 1) AS g"
)


def _add_subscribers_in_chunks(session: Session, recipients: int) -> None:
    for start in range(0, recipients, 5000):
        rows = [
            {
                "email": f"r{i}@example.com",
                "name": f"Reader {i}",
                "language": "en",
                "timezone": "UTC",
                "attributes": {},
                "status": "active",
            }
            for i in range(start, min(start + 5000, recipients))
        ]
        session.execute(sa.insert(Subscriber), rows)


def peak_rss_mb(pids: list[int]) -> list[float]:
    """VmHWM (peak resident memory) of each live process, in MB."""
    peaks = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(round(int(line.split()[1]) / 1024, 1))
    return peaks


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(child) for child in children.read_text().split()] if children.exists() else []
    return [pid, *(grandchild for kid in kids for grandchild in process_tree(kid))]


def run_case(kind: str, recipients: int, workers: int, folder: Path) -> dict[str, object]:
    """Seed, send through ``workers`` worker processes, wait, measure."""
    if kind == "embedded":
        database, broker = (
            f"sqlite:///{folder}/bench.sqlite",
            f"sqla+sqlite:///{folder}/broker.sqlite",
        )
    else:
        database, broker = fresh_postgres(), REDIS_URL
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    settings = {"database_url": database, "broker_url": broker, "env": "test"}
    point_at(database)
    migrate()
    campaign_id = seed(recipients)
    with sandbox_server(folder) as provider_url:
        env = herald_env(
            **settings,
            provider="postmark",
            provider_url=provider_url,
            postmark_server_token="sandbox-token",
        )
        workers_up = [celery_worker(env, folder, name=f"w{n}") for n in range(workers)]
        processes = [context.__enter__() for context in workers_up]
        _wait_for_pools(processes)
        started = time.monotonic()
        herald("campaigns", "send", str(campaign_id), env=env, cwd=folder)
        sandbox = _pid_listening_on(provider_url)
        peaks: list[float] = []
        while _status(campaign_id) not in ("sent", "failed"):
            if any(w.poll() is not None for w in processes):
                raise RuntimeError(f"a worker died; see its log in {folder}")
            peaks = max(
                peaks, [p for w in processes for p in peak_rss_mb(process_tree(w.pid))], key=sum
            )
            time.sleep(0.5)
        seconds = time.monotonic() - started
        sandbox_peak = peak_rss_mb([sandbox])
        for context in workers_up:
            context.__exit__(None, None, None)
        stats = httpx.get(f"{provider_url}/_sandbox/stats").json()
    plan_seconds = _plan_seconds(campaign_id)
    if kind != "embedded":
        drop_postgres(database)
    return {
        "case": kind,
        "recipients": recipients,
        "workers": workers,
        "seconds": round(seconds, 2),
        "plan_seconds": plan_seconds,
        "messages_per_s": round(stats["messages"] / seconds, 1),
        "peak_rss_mb": peaks,
        "sandbox_peak_rss_mb": sandbox_peak[0] if sandbox_peak else None,
        "duplicates": stats["duplicates"],
        "missing": recipients - stats["unique_recipients"],
    }


def _wait_for_pools(workers: list[subprocess.Popen[bytes]]) -> None:
    """Until every worker has forked its pool (2 children each), so timing starts at 'send'."""
    deadline = time.monotonic() + 60
    while any(len(process_tree(w.pid)) < 3 for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)


def _pid_listening_on(url: str) -> int:
    """The sandbox process: the one whose command line names the URL's port."""
    port = url.rsplit(":", 1)[1]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"sandbox" in words and port.encode() in words:
            return int(cmdline.parent.name)
    raise RuntimeError("sandbox process not found")


def _plan_seconds(campaign_id: int) -> float:
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.planned_at and campaign.started_at
        return round((campaign.planned_at - campaign.started_at).total_seconds(), 2)


def _status(campaign_id: int) -> str:
    with unit_of_work() as session:
        return str(
            session.scalar(
                sa.text("SELECT status FROM campaigns WHERE id = :id"), {"id": campaign_id}
            )
        )


def main() -> None:
    """Run each ``--case kind:recipients[:workers]`` and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", action="append", default=[])
    cases = parser.parse_args().case or DEFAULT_CASES
    for case in cases:
        kind, recipients, *rest = case.split(":")
        with tempfile.TemporaryDirectory() as folder:
            result = run_case(kind, int(recipients), int(rest[0]) if rest else 1, Path(folder))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
