"""``herald health scheduler``: healthy while a real scheduler loops, unhealthy otherwise."""

from __future__ import annotations

import time
from pathlib import Path

from tests.fixtures.processes import celery_beat, herald, herald_env, wait_until


def test_a_running_scheduler_is_healthy_and_a_stopped_one_is_not(
    sqlite_db: str, tmp_path: Path
) -> None:
    env = herald_env(
        database_url=sqlite_db,
        broker_url=f"sqla+sqlite:///{tmp_path}/broker.sqlite",
        scheduler_tick_seconds="1",
        env="test",
    )
    never = herald("health", "scheduler", env=env, cwd=tmp_path)
    assert never.returncode == 1 and "no heartbeat" in never.stderr
    heartbeat = tmp_path / "var" / "heartbeat" / "scheduler"
    with celery_beat(env, tmp_path):
        wait_until(heartbeat.exists, timeout=60, what="the scheduler's first heartbeat")
        first = heartbeat.read_text()
        wait_until(lambda: heartbeat.read_text() != first, timeout=10, what="another loop")
        alive = herald("health", "scheduler", env=env, cwd=tmp_path)
    assert alive.returncode == 0, alive.stderr
    # A scheduler that stopped looping a while ago (its file left behind, as after a hang).
    heartbeat.write_text(f"{time.time() - 61:.3f}\n")
    stale = herald("health", "scheduler", env=env, cwd=tmp_path)
    assert stale.returncode == 1 and "s ago (limit 60 s)" in stale.stderr
