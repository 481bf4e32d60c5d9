"""The Celery app as the worker and the scheduler (beat) run it: tasks and the beat schedule.

Run with ``celery -A worker.app worker`` / ``celery -A worker.app beat`` (``herald worker``
and ``herald scheduler`` do this).
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init

import worker.tasks  # noqa: F401 - registers the tasks by name
from core.celery_app import celery_app
from core.database import dispose_engines
from core.settings import get_settings

app = celery_app

app.conf.beat_schedule = {
    "scheduler-tick": {
        "task": "herald.scheduler.tick",
        "schedule": get_settings().scheduler_tick_seconds,
        # A tick nobody ran in time is worthless: the next one does the same work.
        "options": {"expires": get_settings().scheduler_tick_seconds * 2},
    }
}


@worker_process_init.connect
def _fresh_connections_after_fork(**_: Any) -> None:
    # Pooled connections must never be shared between a forked child and its parent.
    dispose_engines()
