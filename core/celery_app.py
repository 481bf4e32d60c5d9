"""The one Celery app, its queues, and enqueueing by task name only after the commit.

Tasks are enqueued by name (nothing imports ``worker``) with JSON payloads of ids, and only
once the database transaction that made them necessary has committed: a worker must never
pick up a task for a row it cannot see yet, and a rolled-back request must enqueue nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import event, make_url
from sqlalchemy.orm import Session

from core.settings import Settings, get_settings

BULK_QUEUE = "bulk"
TRANSACTIONAL_QUEUE = "transactional"
CONTROL_QUEUE = "control"
ALL_QUEUES = (BULK_QUEUE, TRANSACTIONAL_QUEUE, CONTROL_QUEUE)

TASK_ROUTES = {
    "herald.campaigns.*": {"queue": BULK_QUEUE},
    "herald.transactional.*": {"queue": TRANSACTIONAL_QUEUE},
    "herald.scheduler.*": {"queue": CONTROL_QUEUE},
}

_PENDING_KEY = "herald.pending_tasks"

celery_app = Celery("herald")


def configure_celery(app: Celery, settings: Settings) -> None:
    """Apply Herald's settings to ``app`` (broker, serialisation, reliability)."""
    app.conf.update(
        broker_url=settings.broker_url,
        # Survive the broker going away, at startup and later, for as long as it takes:
        # a worker that gives up is one fewer sender until someone restarts it.
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_channel_error_retry=True,
        broker_transport_options=_transport_options(settings.broker_url),
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=BULK_QUEUE,
        task_routes=TASK_ROUTES,
        worker_hijack_root_logger=False,
        timezone="UTC",
    )


def _transport_options(broker_url: str) -> dict[str, Any]:
    if broker_url.startswith("sqla+"):
        # The embedded broker hands these to its SQLite engine: wait on a locked file.
        return {"connect_args": {"timeout": 30}}
    # Redis re-delivers an unacknowledged task after this long; no task of ours waits on an
    # ETA, so it can be short. The database sweeper is the real safety net.
    return {"visibility_timeout": 600, "polling_interval": 0.2}


configure_celery(celery_app, get_settings())


def prepare_broker(broker_url: str) -> None:
    """Declare Herald's queues on the embedded broker before its processes start.

    The embedded broker stores each queue as a row made on first use. kombu serialises that
    only between threads, so two processes using a new broker at the same moment (a worker
    declaring its queues, the web process sending its first confirmation) can both insert
    the row; the loser's send fails and its task is lost. Other brokers need nothing here.
    """
    if not broker_url.startswith("sqla+"):
        return
    database = make_url(broker_url.removeprefix("sqla+")).database
    if broker_url.startswith("sqla+sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    options = _transport_options(broker_url)
    with celery_app.connection_for_write(broker_url, transport_options=options) as connection:
        channel = connection.default_channel
        for queue in ALL_QUEUES:
            channel.queue_declare(queue=queue)


def enqueue_after_commit(session: Session, task_name: str, *args: Any) -> None:
    """Send task ``task_name`` with JSON ``args`` once ``session`` commits (never on rollback)."""
    session.info.setdefault(_PENDING_KEY, []).append((task_name, args))


def send_task_now(task_name: str, args: list[Any]) -> None:
    """Put one task on the broker (tests replace this to run the pipeline in-process)."""
    celery_app.send_task(task_name, args=args)


@event.listens_for(Session, "after_commit")
def _send_pending_tasks(session: Session) -> None:
    for task_name, args in session.info.pop(_PENDING_KEY, []):
        _dispatch(task_name, list(args))


_dispatch = send_task_now


@event.listens_for(Session, "after_rollback")
def _forget_pending_tasks(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
