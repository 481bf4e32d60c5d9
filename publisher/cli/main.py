"""The ``herald`` command: run the processes, migrate, try the demo, manage campaigns."""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from importlib import metadata
from pathlib import Path

import typer
from pydantic import ValidationError

from core import heartbeat
from core.celery_app import ALL_QUEUES, prepare_broker
from core.database import unit_of_work
from core.logs import configure_logging
from core.settings import get_settings
from publisher.accounts.users import UserError, ensure_first_admin
from publisher.cli import imports as imports  # registers `herald subscribers import`
from publisher.cli import processes
from publisher.cli.campaigns import campaigns_app
from publisher.cli.config import config_app
from publisher.cli.demo import run_demo
from publisher.cli.digests import digests_app
from publisher.cli.doctor import doctor
from publisher.cli.health import health_app
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
app.add_typer(config_app, name="config")
app.add_typer(health_app, name="health")
app.command("stats")(stats)
app.command("doctor")(doctor)


def _print_version(value: bool) -> None:
    if value:
        version()
        raise typer.Exit()


@app.callback()
def options(
    _version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Herald: newsletters and publication workflow."""


@app.command()
def version() -> None:
    """Print the installed Herald's version."""
    typer.echo(f"herald {metadata.version('herald')}")


HOST = typer.Option("127.0.0.1", help="Address to listen on.")
PORT = typer.Option(8000, help="Port to listen on.")


LOG_LEVEL = typer.Option(
    "WARNING",
    help="Least severe log lines shown (Herald's and its processes').",
    case_sensitive=False,
)


@app.command()
def up(host: str = HOST, port: int = PORT, log_level: str = LOG_LEVEL) -> None:
    """Migrate, then run web, worker and scheduler together; Ctrl-C stops all three.

    The console shows one line per process once it is ready, then warnings and errors only.
    """
    if processes.port_in_use(host, port):
        typer.echo(
            f"error: port {port} on {host} is in use; stop what holds it or choose another "
            "with --port",
            err=True,
        )
        raise typer.Exit(1)
    settings = get_settings().model_copy(update={"log_level": log_level.upper()})
    configure_logging(settings)
    processes.migrate()
    prepare_broker(settings.broker_url)
    _first_admin()
    code = processes.run_together(
        {
            "web": processes.web_command(host, port),
            "worker": processes.worker_command(quiet=True),
            "scheduler": processes.scheduler_command(quiet=True),
        },
        restart=("worker", "scheduler"),
        ready={
            "web": (processes.web_ready(host, port), f"web on http://{host}:{port}"),
            "worker": (processes.heartbeat_since_start(heartbeat.WORKER), "worker ready"),
            "scheduler": (processes.heartbeat_since_start(heartbeat.SCHEDULER), "scheduler ready"),
        },
        env={**os.environ, "HERALD_LOG_LEVEL": settings.log_level},
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
    quiet = _json_logs()
    _exec(processes.worker_command(queues.split(","), concurrency or None, quiet=quiet))


@app.command()
def scheduler() -> None:
    """Run the scheduler (Celery beat): one short tick for due campaigns and sweeps."""
    _exec(processes.scheduler_command(quiet=_json_logs()))


def _json_logs() -> bool:
    # Celery's banner is plain text: in a stream of JSON lines, a log collector's noise.
    return get_settings().log_format == "json"


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
                session,
                email=settings.admin_email,
                password=settings.admin_password.get_secret_value(),
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
    data_dir: Path | None = typer.Option(
        None, help="The demo's own folder: database, broker, outbox (default: <data dir>/demo)."
    ),
    use_configured: bool = typer.Option(
        False,
        "--use-configured",
        help="Use the configured database, broker and provider, not a folder of its own.",
    ),
) -> None:
    """Create sample content, send an announcement and a digest, in a database of its own."""
    if data_dir is not None and use_configured:
        raise typer.BadParameter("--data-dir and --use-configured exclude each other")
    code = run_demo(
        subscribers=subscribers,
        timeout=timeout,
        start_worker=start_worker,
        data_dir=data_dir,
        use_configured=use_configured,
    )
    raise typer.Exit(code)


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
    # Invalid settings: the command that reads them says what is wrong.
    with suppress(ValidationError):
        configure_logging(get_settings())
    app()


if __name__ == "__main__":
    main()
