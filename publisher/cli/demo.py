"""``herald demo``: seed, send through a real worker process, wait, verify, summarise.

By default the demo runs in a folder of its own (``<data_dir>/demo``): its own SQLite
database, embedded broker and outbox. A running instance's worker consumes the instance's
broker, so it can never take the demo's tasks; ``--use-configured`` runs on the configured
database and broker instead (an operator's demo on PostgreSQL and Redis).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import typer

from core.celery_app import celery_app, configure_celery, prepare_broker
from core.database import unit_of_work
from core.settings import get_settings
from publisher.campaigns.models import CampaignStatus
from publisher.campaigns.progress import CampaignProgress, progress_by_id
from publisher.cli import processes
from publisher.demo.loader import DemoSeed, database_is_empty, outbox_files, seed_demo

FINISHED = (CampaignStatus.SENT, CampaignStatus.FAILED, CampaignStatus.CANCELLED)


def isolated_environment(folder: Path) -> dict[str, str]:
    """The settings of a demo in ``folder``, which shares nothing with a running instance.

    Every value is set explicitly, not derived from ``HERALD_DATA_DIR``: an instance's own
    ``HERALD_DATABASE_URL`` or ``HERALD_BROKER_URL`` (in the environment or .env) would win
    over a derived one. The provider is the outbox, so the demo's readers get no real mail.
    """
    folder = folder.resolve()
    return {
        "HERALD_DATA_DIR": str(folder),
        "HERALD_DATABASE_URL": f"sqlite:///{folder}/herald.sqlite",
        "HERALD_BROKER_URL": f"sqla+sqlite:///{folder}/broker.sqlite",
        "HERALD_OUTBOX_DIR": str(folder / "outbox"),
        "HERALD_PROVIDER": "outbox",
        "HERALD_FALLBACK_PROVIDER": "",
        "HERALD_REDIS_URL": "",
    }


def run_demo(
    *,
    subscribers: int,
    timeout: float,
    start_worker: bool,
    data_dir: Path | None = None,
    use_configured: bool = False,
) -> int:
    """Run the demo; the exit code is 0 only if every planned message was delivered.

    Without ``use_configured`` it runs in ``data_dir`` (default ``<data_dir>/demo``).
    """
    folder = None if use_configured else data_dir or get_settings().data_dir / "demo"
    if folder is not None:
        _isolate(isolated_environment(folder))
    settings = get_settings()
    processes.migrate()
    prepare_broker(settings.broker_url)
    started = time.monotonic()
    with unit_of_work() as session:
        if not database_is_empty(session):
            typer.echo(_not_empty_hint(folder), err=True)
            return 2
        seed = seed_demo(session, settings, subscribers=subscribers)
    typer.echo(f"created {seed.posts} posts, {seed.subscribers} subscribers; sending 2 campaigns")
    worker = _start_worker() if start_worker else None
    try:
        progress = _wait_for(seed, timeout)
    finally:
        if worker is not None:
            processes.stop_children([worker])
    # The demo's own folder is served by an instance pointed at it, not by the configured one.
    serve = "herald up" if folder is None else f"HERALD_DATA_DIR={settings.data_dir} herald up"
    return _report(seed, progress, time.monotonic() - started, serve=serve)


def _isolate(environment: dict[str, str]) -> None:
    """Point this process at the demo's settings; the worker inherits them."""
    os.environ.update(environment)
    get_settings.cache_clear()
    # The Celery app took the instance's broker when it was imported.
    configure_celery(celery_app, get_settings())


def _start_worker() -> subprocess.Popen[bytes]:
    return subprocess.Popen(processes.worker_command(beat=True), env=dict(os.environ))


def _not_empty_hint(folder: Path | None) -> str:
    if folder is None:
        return (
            "herald demo needs an empty database; point HERALD_DATABASE_URL at a new one "
            "(e.g. sqlite:///var/demo.sqlite)"
        )
    return (
        f"herald demo needs an empty database; {folder} holds an earlier demo: "
        "remove it or give --data-dir a new folder"
    )


def _wait_for(seed: DemoSeed, timeout: float) -> list[CampaignProgress]:
    deadline = time.monotonic() + timeout
    while True:
        progress = _progress(seed)
        if all(item.status in FINISHED for item in progress) or time.monotonic() > deadline:
            return progress
        time.sleep(0.5)


def _progress(seed: DemoSeed) -> list[CampaignProgress]:
    with unit_of_work() as session:
        return progress_by_id(session, seed.campaign_ids)


def _report(seed: DemoSeed, progress: list[CampaignProgress], seconds: float, *, serve: str) -> int:
    settings = get_settings()
    planned = sum(item.total for item in progress)
    sent = sum(item.sent for item in progress)
    for item in progress:
        typer.echo(
            f"  campaign {item.id} ({item.kind}): {item.status}, {item.sent}/{item.total} sent, "
            f"{item.failed} failed, {item.unknown} unknown  — {item.subject}"
        )
    typer.echo(f"posts: {seed.posts}  recipients: {seed.subscribers}  messages: {sent}/{planned}")
    if settings.provider == "outbox":
        written = outbox_files(settings.outbox_dir, seed.campaign_ids)
        typer.echo(f"outbox: {settings.outbox_dir.resolve()} ({written} .eml files)")
    else:
        written = sent
    typer.echo(f"took {seconds:.1f}s ({sent / seconds:.0f} messages/s including start-up)")
    typer.echo(f"open {settings.base_url.rstrip('/')}/admin  (run `{serve}` to serve it)")
    delivered = planned > 0 and sent == planned == written
    delivered = delivered and all(item.status == CampaignStatus.SENT for item in progress)
    if not delivered:
        typer.echo("demo FAILED: not every planned message was delivered", err=True)
    return 0 if delivered else 1
