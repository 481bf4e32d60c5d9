"""The one Celery app, its routing, and enqueueing by task name only after the commit.

Tasks are enqueued by name (nothing imports ``worker``) with JSON payloads of ids, and only
once the database transaction that made them necessary has committed: a worker must never
pick up a task for a row it cannot see yet, and a rolled-back request must enqueue nothing.
Each task goes to the queue :data:`core.tasks.QUEUE_OF` gives it; a name not in that table
fails where it is enqueued. Tests put their own dispatcher in the broker's place with
:func:`dispatching_to`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import event, make_url
from sqlalchemy.orm import Session

from core.settings import Settings, get_settings
from core.tasks import ALL_QUEUES as ALL_QUEUES  # the command's --queues default
from core.tasks import BULK_QUEUE, TaskName, queue_of, task_name

Dispatcher = Callable[[TaskName, list[Any]], None]
"""Sends one committed task: its name and JSON arguments."""

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
        task_routes=(route_task,),
        worker_hijack_root_logger=False,
        timezone="UTC",
    )


def route_task(name: str, *_: Any, **__: Any) -> dict[str, str] | None:
    """Celery's router: the queue of each Herald task from the one table, retries included.

    Celery's own tasks (``celery.*``) keep its defaults; any other unknown name raises
    :class:`core.tasks.UnknownTask` instead of landing on a queue by accident.
    """
    if name.startswith("celery."):
        return None
    return {"queue": queue_of(name)}


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


def enqueue_after_commit(session: Session, task: TaskName, *args: Any) -> None:
    """Send ``task`` with JSON ``args`` once ``session`` commits (never on rollback).

    A name outside :class:`core.tasks.TaskName` raises here, in the request that made it.
    """
    session.info.setdefault(_PENDING_KEY, []).append((task_name(task), args))


def send_task_now(task: TaskName, args: list[Any]) -> None:
    """Put one task on the broker (on its queue, by :func:`route_task`)."""
    celery_app.send_task(str(task), args=args)


_dispatcher: Dispatcher = send_task_now


@contextmanager
def dispatching_to(dispatcher: Dispatcher) -> Iterator[Dispatcher]:
    """Hand every task committed inside the block to ``dispatcher`` instead of the broker.

    Process-wide rather than per thread: a test's web server commits in its own threads.
    """
    global _dispatcher
    previous, _dispatcher = _dispatcher, dispatcher
    try:
        yield dispatcher
    finally:
        _dispatcher = previous


@event.listens_for(Session, "after_commit")
def _send_pending_tasks(session: Session) -> None:
    for task, args in session.info.pop(_PENDING_KEY, []):
        _dispatcher(task, list(args))


@event.listens_for(Session, "after_rollback")
def _forget_pending_tasks(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
