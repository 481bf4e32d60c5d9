"""The ``herald`` command: run the processes, migrate, try the demo, manage campaigns."""

from __future__ import annotations

import os
import sys

import typer

from core.celery_app import ALL_QUEUES, prepare_broker
from core.database import unit_of_work
from core.settings import get_settings
from publisher.accounts.users import UserError, ensure_first_admin
from publisher.cli import imports as imports  # registers `herald subscribers import`
from publisher.cli import processes
from publisher.cli.campaigns import campaigns_app
from publisher.cli.demo import run_demo
from publisher.cli.digests import digests_app
from publisher.cli.doctor import doctor
from publisher.cli.lists import lists_app
from publisher.cli.posts import posts_app
from publisher.cli.segments import segments_app
from publisher.cli.stats import stats
from publisher.cli.subscribers import subscribers_app
from publisher.cli.users import users_app

app = typer.Typer(help="Herald: newsletters and publication workflow.", no_args_is_help=True)
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(digests_app, name="digests")
app.add_typer(users_app, name="users")
app.add_typer(lists_app, name="lists")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(segments_app, name="segments")
app.add_typer(posts_app, name="posts")
app.command("stats")(stats)
app.command("doctor")(doctor)

HOST = typer.Option("127.0.0.1", help="Address to listen on.")
PORT = typer.Option(8000, help="Port to listen on.")


@app.command()
def up(host: str = HOST, port: int = PORT) -> None:
    """Migrate, then run web, worker and scheduler together; Ctrl-C stops all three."""
    processes.migrate()
    prepare_broker(get_settings().broker_url)
    _first_admin()
    typer.echo(f"Herald on http://{host}:{port}/admin  (Ctrl-C stops web, worker and scheduler)")
    code = processes.run_together(
        {
            "web": processes.web_command(host, port),
            "worker": processes.worker_command(),
            "scheduler": processes.scheduler_command(),
        },
        restart=("worker", "scheduler"),
    )
    raise typer.Exit(code)


@app.command()
def web(host: str = HOST, port: int = PORT, reload: bool = False) -> None:
    """Run the web process: admin, API, public pages, webhooks."""
    _exec(processes.web_command(host, port, reload=reload))


@app.command()
def worker(
    queues: str = typer.Option(",".join(ALL_QUEUES), help="Comma-separated queues to consume."),
    concurrency: int = typer.Option(0, help="Worker processes (0: one per core)."),
) -> None:
    """Run a Celery worker: campaigns (bulk), transactional mail, scheduler ticks (control)."""
    _exec(processes.worker_command(queues.split(","), concurrency or None))


@app.command()
def scheduler() -> None:
    """Run the scheduler (Celery beat): one short tick for due campaigns and sweeps."""
    _exec(processes.scheduler_command())


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (SQLite or PostgreSQL)."""
    processes.migrate()
    typer.echo(f"database up to date: {_redacted(get_settings().database_url)}")
    _first_admin()


def _first_admin() -> None:
    """Create HERALD_ADMIN_EMAIL's account on a database without any account yet."""
    settings = get_settings()
    try:
        with unit_of_work() as session:
            admin = ensure_first_admin(
                session, email=settings.admin_email, password=settings.admin_password
            )
    except UserError as error:
        raise typer.BadParameter(f"HERALD_ADMIN_EMAIL / HERALD_ADMIN_PASSWORD: {error}") from error
    if admin is not None:
        typer.echo(f"created the first admin: {admin.email}")


@app.command()
def demo(
    subscribers: int = typer.Option(300, help="How many demo subscribers to create."),
    timeout: float = typer.Option(300.0, help="Seconds to wait for the campaigns to finish."),
    start_worker: bool = typer.Option(True, "--worker/--no-worker", help="Start a worker."),
) -> None:
    """On an empty database: create sample content, send an announcement and a digest."""
    raise typer.Exit(run_demo(subscribers=subscribers, timeout=timeout, start_worker=start_worker))


@app.command()
def sandbox(
    host: str = HOST,
    port: int = typer.Option(8025, help="Port to listen on."),
    keep_messages: int = typer.Option(100, min=0, help="Full messages kept for inspection."),
    throttle_rate: float = typer.Option(0.0, help="Share of send requests answered 429."),
    error_rate: float = typer.Option(0.0, help="Share of send requests answered 500."),
    slow_rate: float = typer.Option(0.0, help="Share of send requests accepted, answered late."),
    slow_seconds: float = typer.Option(5.0, help="How late a slow answer comes."),
    retry_after: int = typer.Option(1, help="Retry-After seconds of a 429."),
    seed: int | None = typer.Option(None, help="Seed for repeatable faults."),
    webhook_url: str | None = typer.Option(None, help="Post Postmark delivery webhooks here."),
    bounce_rate: float = typer.Option(0.0, help="Share of webhooks that are hard bounces."),
    server_token: str | None = typer.Option(None, help="Postmark token to accept."),
    resend_api_key: str | None = typer.Option(None, help="Resend API key to accept."),
) -> None:
    """Run a local server speaking the providers' HTTP APIs (records messages; no mail leaves).

    Tokens default to "sandbox-token". Faults and webhooks can also be changed while it runs:
    POST /_sandbox/faults.
    """
    import uvicorn
    from pydantic import ValidationError

    from sandbox import SANDBOX_TOKEN, FaultSettings, SandboxConfig, create_sandbox_app

    try:
        faults = FaultSettings(
            throttle_rate=throttle_rate,
            error_rate=error_rate,
            slow_rate=slow_rate,
            slow_seconds=slow_seconds,
            retry_after=retry_after,
            seed=seed,
            webhook_url=webhook_url,
            bounce_rate=bounce_rate,
        )
    except ValidationError as error:
        problems = (f"{' '.join(map(str, e['loc']))} {e['msg']}" for e in error.errors())
        raise typer.BadParameter("; ".join(problem.strip() for problem in problems)) from error
    config = SandboxConfig(
        server_token=server_token or SANDBOX_TOKEN,
        resend_api_key=resend_api_key or SANDBOX_TOKEN,
        keep_messages=keep_messages,
        faults=faults,
    )
    uvicorn.run(create_sandbox_app(config), host=host, port=port, log_level="warning")


def _exec(line: list[str]) -> None:
    # Replace this process so signals (Ctrl-C, SIGTERM from a container) reach the server.
    sys.stdout.flush()
    os.execv(line[0], line)  # noqa: S606 - a fixed argument list, no shell


def _redacted(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}:***@{host}" if at else url


def main() -> None:
    """Entry point of the ``herald`` console script."""
    app()


if __name__ == "__main__":
    main()
