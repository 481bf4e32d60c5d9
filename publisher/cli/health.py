"""``herald health``: whether this machine's Herald processes are alive, for health checks.

Run inside the process's container (compose's ``healthcheck``): it reads the heartbeat file
the process keeps, so it needs neither the broker nor the database.
"""

from __future__ import annotations

import time

import typer

from core import heartbeat

health_app = typer.Typer(help="Check Herald's processes on this machine (exit 0: healthy).")


@health_app.command("scheduler")
def scheduler() -> None:
    """Healthy while the scheduler (beat) has looped recently; exit 1 when it stopped."""
    last = heartbeat.last_beat(heartbeat.SCHEDULER)
    limit = heartbeat.scheduler_stale_after()
    if last is None:
        typer.echo(f"scheduler: no heartbeat at {heartbeat.heartbeat_path('scheduler')}", err=True)
        raise typer.Exit(1)
    age = time.time() - last
    if age > limit:
        typer.echo(f"scheduler: last heartbeat {age:.0f} s ago (limit {limit:.0f} s)", err=True)
        raise typer.Exit(1)
    typer.echo(f"scheduler: alive ({age:.0f} s since its last loop)")
