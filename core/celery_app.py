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
from functools import lru_cache
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun
from sqlalchemy import event, make_url
from sqlalchemy.orm import Session

from core import logs
from core.settings import Settings, get_settings
from core.tasks import ALL_QUEUES as ALL_QUEUES  # the command's --queues default
from core.tasks import BULK_QUEUE, TaskName, queue_of, task_name

Dispatcher = Callable[[TaskName, list[Any]], None]
"""Sends one committed task: its name and JSON arguments."""

_PENDING_KEY = "herald.pending_tasks"
REQUEST_ID_HEADER = "herald_request_id"
"""The task message header carrying the id of the web request that enqueued it."""

celery_app = Celery("herald")


@lru_cache(maxsize=8)
def make_broker_folder(broker_url: str) -> None:
    """Create the folder of an embedded SQLite broker's file, as the database's engine does
    for its own: a process that only sends tasks (``herald web``) must not need it made.
    Once per URL and process, on first use: importing Herald creates no folder."""
    database = make_url(broker_url.removeprefix("sqla+")).database
    if broker_url.startswith("sqla+sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)


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
        # Task events, for Flower and `celery events`: what each worker runs, right now.
        worker_send_task_events=True,
        task_send_sent_event=True,
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
    make_broker_folder(broker_url)
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
    make_broker_folder(str(celery_app.conf.broker_url))
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


def _herald_logging(**_: Any) -> None:
    # Connected, Celery leaves logging alone: worker and beat log as every Herald process
    # does (HERALD_LOG_LEVEL, HERALD_LOG_FORMAT), with the task's ids on each line.
    logs.configure_logging(get_settings())


def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    current = logs.request_id.get()
    if current and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, current)


def _enter_task(task_id: str = "", task: Any = None, **_: Any) -> None:
    # Custom message headers become attributes of the task's request.
    logs.request_id.set(str(getattr(task.request, REQUEST_ID_HEADER, None) or ""))
    logs.task_id.set(task_id or "")
    logs.task_name.set(getattr(task, "name", "") or "")


def _leave_task(**_: Any) -> None:
    for variable in (logs.request_id, logs.task_id, logs.task_name):
        variable.set("")


# Connected by call, not as decorators: Celery's are untyped. Held strongly (weak=False):
# the functions live as long as the module anyway.
setup_logging.connect(_herald_logging, weak=False)
before_task_publish.connect(_carry_request_id, weak=False)
task_prerun.connect(_enter_task, weak=False)
task_postrun.connect(_leave_task, weak=False)
