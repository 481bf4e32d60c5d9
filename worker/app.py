"""The Celery app as the worker and the scheduler (beat) run it: tasks and the beat schedule.

Run with ``celery -A worker.app worker`` / ``celery -A worker.app beat`` (``herald worker``
and ``herald scheduler`` do this).
"""

from __future__ import annotations

import gc
from typing import Any

from celery.beat import PersistentScheduler
from celery.signals import task_postrun, worker_process_init, worker_ready

import worker.tasks  # noqa: F401 - registers the tasks by name
from core import heartbeat
from core.celery_app import celery_app
from core.database import dispose_engines
from core.settings import get_settings
from core.tasks import TaskName

app = celery_app

app.conf.beat_schedule = {
    "scheduler-tick": {
        "task": TaskName.SCHEDULER_TICK,
        "schedule": get_settings().scheduler_tick_seconds,
        # A tick nobody ran in time is worthless: the next one does the same work.
        "options": {"expires": get_settings().scheduler_tick_seconds * 2},
    },
    "stats-tick": {
        "task": TaskName.STATS_TICK,
        "schedule": get_settings().scheduler_tick_seconds,
        "options": {"expires": get_settings().scheduler_tick_seconds * 2},
    },
    "housekeeping": {"task": TaskName.HOUSEKEEPING, "schedule": 3600.0},
}


class HeartbeatScheduler(PersistentScheduler):  # type: ignore[misc]
    """Celery's own scheduler, touching the scheduler's heartbeat file on each of its loops."""

    def tick(self, *args: Any, **kwargs: Any) -> Any:
        """Beat, then do what beat does: send what is due, say how long to sleep."""
        heartbeat.beat(heartbeat.SCHEDULER)
        return super().tick(*args, **kwargs)


app.conf.beat_scheduler = "worker.app:HeartbeatScheduler"


@worker_ready.connect
def _ready(**_: Any) -> None:
    # Consuming from now on: what `herald up` waits for before it says "worker ready".
    heartbeat.beat(heartbeat.WORKER)


@worker_process_init.connect
def _fresh_connections_after_fork(**_: Any) -> None:
    # Pooled connections must never be shared between a forked child and its parent.
    dispose_engines()
    # Everything imported so far lives as long as the process: keep it out of every
    # collection, so the one after each task only walks what that task left behind.
    gc.collect()
    gc.freeze()


@task_postrun.connect
def _free_the_batch(**_: Any) -> None:
    # A batch's payload (megabytes) hangs on reference cycles (the HTTP response and its
    # request); left to the collector's own pace, several batches pile up in memory.
    gc.collect()
