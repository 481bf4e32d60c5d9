"""``herald demo``: seed, send through a real worker process, wait, verify, summarise."""

from __future__ import annotations

import subprocess
import time

import typer

from core.celery_app import prepare_broker
from core.database import unit_of_work
from core.settings import get_settings
from publisher.campaigns.models import CampaignStatus
from publisher.campaigns.progress import CampaignProgress, progress_by_id
from publisher.cli import processes
from publisher.demo.loader import DemoSeed, database_is_empty, outbox_files, seed_demo

FINISHED = (CampaignStatus.SENT, CampaignStatus.FAILED, CampaignStatus.CANCELLED)


def run_demo(*, subscribers: int, timeout: float, start_worker: bool) -> int:
    """Run the demo; the exit code is 0 only if every planned message was delivered."""
    settings = get_settings()
    processes.migrate()
    prepare_broker(settings.broker_url)
    started = time.monotonic()
    with unit_of_work() as session:
        if not database_is_empty(session):
            typer.echo(
                "herald demo needs an empty database; point HERALD_DATABASE_URL at a new one "
                "(e.g. sqlite:///var/demo.sqlite)",
                err=True,
            )
            return 2
        seed = seed_demo(session, settings, subscribers=subscribers)
    typer.echo(f"created {seed.posts} posts, {seed.subscribers} subscribers; sending 2 campaigns")
    worker = subprocess.Popen(processes.worker_command(beat=True)) if start_worker else None
    try:
        progress = _wait_for(seed, timeout)
    finally:
        if worker is not None:
            processes.stop_children([worker])
    return _report(seed, progress, time.monotonic() - started)


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


def _report(seed: DemoSeed, progress: list[CampaignProgress], seconds: float) -> int:
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
    typer.echo(f"open {settings.base_url.rstrip('/')}/admin  (run `herald up` to serve it)")
    delivered = planned > 0 and sent == planned == written
    delivered = delivered and all(item.status == CampaignStatus.SENT for item in progress)
    if not delivered:
        typer.echo("demo FAILED: not every planned message was delivered", err=True)
    return 0 if delivered else 1
