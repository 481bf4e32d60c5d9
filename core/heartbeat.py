"""Heartbeat files: a process touches its file while it works; a health check reads its age.

The scheduler (Celery beat) touches ``<data_dir>/heartbeat/scheduler`` on every loop of its
own, and a worker touches ``<data_dir>/heartbeat/worker`` once it consumes. ``herald health
scheduler`` (compose's health check) and ``herald up`` (its "ready" lines) read them: a file
on the process's own disk needs no broker, no database and no network to be read.
"""

from __future__ import annotations

import time
from pathlib import Path

from core.settings import get_settings

SCHEDULER = "scheduler"
WORKER = "worker"


def heartbeat_path(name: str) -> Path:
    """The heartbeat file of the process ``name``, under the data folder."""
    return get_settings().data_dir / "heartbeat" / name


def beat(name: str) -> None:
    """Record that the process ``name`` is alive now."""
    path = heartbeat_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{time.time():.3f}\n", encoding="ascii")


def last_beat(name: str) -> float | None:
    """When the process ``name`` last beat (a Unix time), or None when it never did."""
    try:
        return float(heartbeat_path(name).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None


def scheduler_stale_after() -> float:
    """Seconds without a beat after which the scheduler counts as stuck.

    Beat loops at least once per tick; three missed ticks (and never under a minute, so a
    slow disk or a busy machine is not an outage) mean it has stopped.
    """
    return max(60.0, 3 * get_settings().scheduler_tick_seconds)
