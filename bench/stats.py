"""Statistics benchmark: dashboard, campaign page, stats API and /metrics latency on PostgreSQL
with 1M deliveries and 10M delivery events over 50 campaigns.

The data is generated set-based (``generate_series``) in a fresh database: 20,000 subscribers,
50 campaigns of 20,000 deliveries each (the newest still sending), 10 events per delivery
(delivered, opens by people and machines, clicks on five links, a deferral), and a day of
provider minutes. The aggregates are then built by the documented one-off
:func:`publisher.stats.rebuild.rebuild_campaign_stats` (the tests hold it equal to the
incremental path). Each endpoint is then requested ~20 times in-process (the app and the
database, no network); one JSON line per endpoint: {case, requests, p50_ms, p95_ms, max_ms}.

Usage: python bench/stats.py [--campaigns 50] [--per-campaign 20000] [--requests 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchdb import drop_postgres, fresh_postgres, point_at  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from core.database import get_engine, unit_of_work  # noqa: E402
from publisher.accounts.users import create_user  # noqa: E402
from publisher.campaigns.models import Campaign  # noqa: E402
from publisher.cli.processes import migrate  # noqa: E402
from publisher.stats.rebuild import rebuild_campaign_stats  # noqa: E402
from publisher.web.app import create_app  # noqa: E402
from subscribers.models import MailingList  # noqa: E402

EVENTS_PER_DELIVERY = 10
PASSWORD = "bench password 1234"
EVENT_INDEXES = (("uq_delivery_events_source_event_id", "UNIQUE (source, event_id)"),)


def build(campaigns: int, per_campaign: int) -> int:
    """Fill the database; return the id of a finished campaign to look at."""
    started = time.perf_counter()
    with unit_of_work() as session:
        session.add(MailingList(slug="news", name="News"))
        for number in range(campaigns):
            status = "sending" if number == campaigns - 1 else "sent"
            session.add(
                Campaign(
                    kind="announcement",
                    template="announcement",
                    status=status,
                    subject=f"Forum report {number + 1}: «Відбудова» 復興",
                )
            )
        create_user(session, email="admin@example.com", password=PASSWORD, role="admin", name="A")
    with get_engine().begin() as connection:
        _generate(connection, per_campaign)
    _log("generated", started)
    started = time.perf_counter()
    with unit_of_work() as session:
        ids = list(session.scalars(sa.select(Campaign.id).order_by(Campaign.id)))
        for campaign_id in ids:
            rebuild_campaign_stats(session, campaign_id)
    _log("aggregates rebuilt", started)
    started = time.perf_counter()
    with get_engine().connect() as connection:
        # Autovacuum's steady state: statistics, and the visibility map index-only scans use.
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            sa.text("VACUUM ANALYZE")
        )
    _log("vacuum analyze", started)
    return ids[len(ids) // 2]


def _generate(connection: sa.Connection, per_campaign: int) -> None:
    run = connection.execute
    run(sa.text("SET LOCAL synchronous_commit = off"))
    run(
        sa.text(
            "INSERT INTO subscribers (email, name, language, timezone, attributes, status, "
            "created_at) "
            "SELECT 'reader' || n || '@example.com', 'Reader ' || n, 'en', 'UTC', '{}', 'active', "
            "now() FROM generate_series(1, :n) AS n"
        ),
        {"n": per_campaign},
    )
    run(
        sa.text(
            "INSERT INTO subscriptions (subscriber_id, list_id, status, consent_source, "
            "consent_ip, "
            "unsubscribed_via, created_at) SELECT id, (SELECT min(id) FROM lists), 'confirmed', "
            "'bench', '', '', now() FROM subscribers"
        )
    )
    sending = "(SELECT max(id) FROM campaigns)"
    run(
        sa.text(
            "INSERT INTO deliveries (campaign_id, subscriber_id, status, attempts, provider, "
            "error, "
            "outcome, created_at, sent_at, outcome_at, opened_at, clicked_at) "
            "SELECT c.id, s.id, CASE WHEN c.id = " + sending + " AND s.id % 2 = 0 THEN 'queued' "
            "ELSE 'sent' END, 1, 'postmark', '', 'delivered', now(), now() - interval '2 days', "
            "now() - interval '2 days', CASE WHEN s.id % 5 < 2 THEN now() - interval '1 day' END, "
            "CASE WHEN s.id % 10 = 0 THEN now() - interval '1 day' END "
            "FROM campaigns c CROSS JOIN subscribers s"
        )
    )
    for name, _ in EVENT_INDEXES:
        run(sa.text(f"ALTER TABLE delivery_events DROP CONSTRAINT {name}"))
    run(sa.text("DROP INDEX ix_delivery_events_campaign_type"))
    run(sa.text("DROP INDEX ix_delivery_events_delivery_id"))
    run(
        sa.text(
            "INSERT INTO delivery_events (source, event_id, delivery_id, campaign_id, type, "
            "bounce, "
            "recipient, machine, occurred_at, received_at, details) "
            "SELECT 'postmark', d.id || ':' || n, d.id, d.campaign_id, "
            "(ARRAY['delivered','opened','opened','opened','opened','clicked','clicked','clicked',"
            "'deferred','opened'])[n], '', '', n = 5, d.sent_at + n * interval '1 hour', "
            "d.sent_at + n * interval '1 hour', CASE WHEN n BETWEEN 6 AND 8 THEN "
            "jsonb_build_object('url', 'https://example.org/post/' || (d.id % 5))::json "
            "ELSE '{}'::json END FROM deliveries d CROSS JOIN generate_series(1, :n) AS n"
        ),
        {"n": EVENTS_PER_DELIVERY},
    )
    for name, definition in EVENT_INDEXES:
        run(sa.text(f"ALTER TABLE delivery_events ADD CONSTRAINT {name} {definition}"))
    run(
        sa.text(
            "CREATE INDEX ix_delivery_events_campaign_type ON delivery_events (campaign_id, type)"
        )
    )
    run(sa.text("CREATE INDEX ix_delivery_events_delivery_id ON delivery_events (delivery_id)"))
    run(
        sa.text(
            "INSERT INTO provider_minutes (provider, minute, requests, messages, accepted, errors, "
            "throttled, deferrals, latency_ms_sum, latency_ms_max) SELECT 'postmark', "
            "date_trunc('minute', now()) - m * interval '1 minute', 10, 5000, 4990, m % 7 / 6, "
            "m % 11 / 10, 3, 1800, 400 FROM generate_series(0, 1439) AS m"
        )
    )


def _log(step: str, started: float) -> None:
    print(json.dumps({"step": step, "seconds": round(time.perf_counter() - started, 1)}))


def measure(client: TestClient, case: str, path: str, requests: int) -> dict[str, Any]:
    """Request ``path`` (after one warm-up) and summarise the latencies."""
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200
    times.sort()
    return {
        "case": case,
        "path": path,
        "requests": requests,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "max_ms": round(times[-1], 1),
    }


def main() -> None:
    """Build, measure, drop."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--per-campaign", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=20)
    options = parser.parse_args()
    database = fresh_postgres()
    try:
        point_at(database)
        migrate()
        campaign_id = build(options.campaigns, options.per_campaign)
        client = TestClient(create_app())
        client.post("/admin/login", data={"email": "admin@example.com", "password": PASSWORD})
        for case, path in (
            ("dashboard", "/admin/stats"),
            ("campaign page", f"/admin/stats/campaigns/{campaign_id}"),
            ("stats API", "/api/stats/campaigns"),
            ("campaign API", f"/api/stats/campaigns/{campaign_id}"),
            ("metrics", "/metrics"),
        ):
            print(json.dumps(measure(client, case, path, options.requests)))
    finally:
        drop_postgres(database)


if __name__ == "__main__":
    main()
