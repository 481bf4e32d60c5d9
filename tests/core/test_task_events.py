"""Task events are on: a real worker and the command that enqueued its task report them, as
Flower and ``celery events`` read them from the broker (Redis)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from kombu import Connection

from core.celery_app import celery_app
from core.database import unit_of_work
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from tests.fixtures.processes import celery_worker, herald, herald_env, wait_until


def test_the_sender_and_the_worker_report_task_events(
    sqlite_db: str, redis_url: str, tmp_path: Path
) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 3)
        campaign_id = add_announcement(session, "news").id
    env = herald_env(
        database_url=sqlite_db,
        broker_url=redis_url,
        outbox_dir=str(tmp_path / "outbox"),
        env="test",
    )
    events: list[dict[str, Any]] = []
    with Connection(redis_url) as connection:
        receiver = celery_app.events.Receiver(connection, handlers={"*": events.append})
        watcher = threading.Thread(target=receiver.capture, kwargs={"limit": None}, daemon=True)
        watcher.start()
        try:
            with celery_worker(env, tmp_path, name="watched"):
                sent = herald("campaigns", "send", str(campaign_id), env=env, cwd=tmp_path)
                assert sent.returncode == 0, sent.stderr

                def succeeded() -> set[str]:
                    return {e["uuid"] for e in list(events) if e["type"] == "task-succeeded"}

                wait_until(lambda: len(succeeded()) >= 2, timeout=90, what="task events")
        finally:
            receiver.should_stop = True
            watcher.join(10)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event)
    sent_names = {event["name"] for event in by_type["task-sent"]}
    assert any(name.startswith("herald.") for name in sent_names)  # the command's own event
    workers = {event["hostname"] for event in by_type["task-succeeded"]}
    assert all(name.startswith("watched@") for name in workers)
    assert {e["uuid"] for e in by_type["task-sent"]} & {e["uuid"] for e in by_type["task-started"]}
