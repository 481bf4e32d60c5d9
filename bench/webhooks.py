"""Webhook ingestion benchmark: N Postmark ``Delivery`` records for N real deliveries.

Two ways in, one JSON line per case: {case, db, events, batch, clients, seconds, events_per_s,
stored, delivered}.

- ``direct``: :func:`publisher.tracking.provider_events.record_events` in batches, one commit
  per batch (the records are read into events before the clock starts);
- ``http``: the records posted to the real web process (``herald web``, uvicorn, its own
  process), ``batch`` records per request (1 is what Postmark itself sends), from ``clients``
  concurrent connections with the webhook's basic auth.

Usage: python bench/webhooks.py [--case direct:embedded:20000:500] [--case http:postgres:…]
(``mode:db:events:batch[:clients]``; default: direct on SQLite and PostgreSQL at 20k in batches
of 500, then HTTP on PostgreSQL at 20k in batches of 100 and at 5k one record per request).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchdb import drop_postgres, fresh_postgres, point_at  # noqa: E402

from core.database import unit_of_work  # noqa: E402
from core.providers.postmark_webhooks import read_record  # noqa: E402
from core.settings import get_settings  # noqa: E402
from publisher.cli.processes import migrate, web_command  # noqa: E402
from publisher.sending.deliveries import plan_deliveries  # noqa: E402
from publisher.sending.models import Delivery  # noqa: E402
from publisher.tracking.models import DeliveryEvent  # noqa: E402
from publisher.tracking.provider_events import record_events  # noqa: E402
from subscribers.models import Subscriber  # noqa: E402
from tests.fixtures.factories import add_announcement, add_list  # noqa: E402
from tests.fixtures.processes import free_port, herald_env, wait_until  # noqa: E402

DEFAULT_CASES = [
    "direct:embedded:20000:500",
    "direct:postgres:20000:500",
    "http:postgres:20000:100:4",
    "http:postgres:5000:1:8",
]
USER, PASSWORD = "bench", "bench-webhook-password"
Record = dict[str, Any]


def seed(recipients: int) -> list[tuple[int, str]]:
    """``recipients`` confirmed subscribers, a campaign to them, its deliveries: (id, email)."""
    with unit_of_work() as session:
        mailing_list = add_list(session)
        for start in range(0, recipients, 5000):
            people = [
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
            session.execute(sa.insert(Subscriber), people)
        session.execute(
            sa.text(
                "INSERT INTO subscriptions (subscriber_id, list_id, status, consent_source, "
                "consent_ip, unsubscribed_via, created_at) SELECT id, :list, 'confirmed', "
                "'bench', '', '', CURRENT_TIMESTAMP FROM subscribers"
            ),
            {"list": mailing_list.id},
        )
        campaign = add_announcement(session, "news")
        plan_deliveries(session, campaign.id)
        deliveries = session.execute(
            sa.select(Delivery.id, Subscriber.email).join(
                Subscriber, Subscriber.id == Delivery.subscriber_id
            )
        )
        return [(delivery_id, email) for delivery_id, email in deliveries]


def delivery_record(delivery_id: int, email: str) -> Record:
    """Postmark's ``Delivery`` webhook record for one of our deliveries."""
    return {
        "RecordType": "Delivery",
        "ServerID": 1,
        "MessageStream": "broadcast",
        "MessageID": str(uuid.uuid4()),
        "Recipient": email,
        "Tag": "",
        "DeliveredAt": "2026-03-02T09:00:00.1234567Z",
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {"delivery_id": str(delivery_id)},
    }


def ingest_directly(records: list[Record], batch: int) -> float:
    """Seconds to record every record's event, ``batch`` per unit of work."""
    events = [event for event in map(read_record, records) if event is not None]
    started = time.monotonic()
    for start in range(0, len(events), batch):
        with unit_of_work() as session:
            record_events(session, "postmark", events[start : start + batch])
    return time.monotonic() - started


def ingest_over_http(records: list[Record], batch: int, clients: int, folder: Path) -> float:
    """Seconds to post every record to a real web process, ``batch`` per request."""
    port = free_port()
    env = herald_env(
        database_url=get_settings().database_url,
        postmark_webhook_user=USER,
        postmark_webhook_password=PASSWORD,
    )
    with (folder / "web.log").open("ab") as log:
        web = subprocess.Popen(
            web_command("127.0.0.1", port),
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(url), timeout=30, what="the web process")
        bodies = [_body(records[i : i + batch], batch) for i in range(0, len(records), batch)]
        return _post_all(f"{url}/webhooks/postmark", bodies, clients)
    finally:
        web.terminate()
        web.wait(10)


def _body(records: list[Record], batch: int) -> bytes:
    # Postmark itself posts one JSON object per request; Herald also reads an array of them.
    return json.dumps(records[0] if batch == 1 else records).encode()


def _post_all(url: str, bodies: list[bytes], clients: int) -> float:
    headers = {"Content-Type": "application/json"}
    with httpx.Client(auth=(USER, PASSWORD), headers=headers, timeout=60) as client:

        def post(body: bytes) -> None:
            client.post(url, content=body).raise_for_status()

        started = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(post, bodies))
        return time.monotonic() - started


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def stored() -> tuple[int, int]:
    """Events stored, and deliveries whose outcome is delivered."""
    with unit_of_work() as session:
        events = session.scalar(sa.select(sa.func.count()).select_from(DeliveryEvent)) or 0
        delivered = session.scalar(
            sa.select(sa.func.count()).select_from(Delivery).where(Delivery.outcome == "delivered")
        )
        return events, delivered or 0


def run_case(case: str, folder: Path) -> dict[str, object]:
    """Seed a fresh database, ingest, measure, check what was stored."""
    mode, kind, count, batch, *rest = case.split(":")
    clients = int(rest[0]) if rest else 1
    database = f"sqlite:///{folder}/bench.sqlite" if kind == "embedded" else fresh_postgres()
    point_at(database)
    try:
        migrate()
        records = [delivery_record(i, email) for i, email in seed(int(count))]
        if mode == "direct":
            seconds = ingest_directly(records, int(batch))
        else:
            seconds = ingest_over_http(records, int(batch), clients, folder)
        events, delivered = stored()
    finally:
        if kind != "embedded":
            drop_postgres(database)
    return {
        "case": mode,
        "db": kind,
        "events": len(records),
        "batch": int(batch),
        "clients": clients,
        "seconds": round(seconds, 2),
        "events_per_s": round(len(records) / seconds, 1),
        "stored": events,
        "delivered": delivered,
    }


def main() -> None:
    """Run each ``--case mode:db:events:batch[:clients]`` and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", action="append", default=[])
    for case in parser.parse_args().case or DEFAULT_CASES:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(run_case(case, Path(folder))), flush=True)


if __name__ == "__main__":
    main()
