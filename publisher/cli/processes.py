"""Starting Herald's processes (web, worker, scheduler) as child processes, and migrating.

The CLI never imports ``worker``: it starts Celery on ``worker.app`` in a child process.
``herald up`` restarts a worker or scheduler that exits (after a backoff), as compose's
``restart: unless-stopped`` does for the containers.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from alembic import command
from alembic.config import Config

from core.celery_app import ALL_QUEUES
from core.settings import VAR_DIR, get_settings, project_root

log = logging.getLogger(__name__)


def migrate(revision: str = "head") -> None:
    """Bring the configured database's schema up to ``revision``."""
    command.upgrade(alembic_config(), revision)


def alembic_config() -> Config:
    """Alembic's configuration for the configured database: ``herald migrate`` upgrades
    through it, ``herald doctor`` compares its script head with the database's revision."""
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["database_url"] = get_settings().database_url
    return config


def web_command(host: str, port: int, *, reload: bool = False) -> list[str]:
    """The command line of the web process."""
    line = [
        sys.executable,
        "-m",
        "uvicorn",
        "publisher.web.app:app",
        "--host",
        host,
        "--port",
        str(port),
    ]
    return [*line, "--reload"] if reload else line


WORKER_WITHOUT = ("--without-gossip", "--without-mingle")


def worker_command(
    queues: Sequence[str] = ALL_QUEUES, concurrency: int | None = None, *, beat: bool = False
) -> list[str]:
    """The command line of a Celery worker consuming ``queues``.

    Without gossip and mingle: Herald needs neither (workers share nothing but the database
    and the broker), and after the broker restarts, closing gossip's stale channel is what
    made idle workers exit with kombu's ``AttributeError: 'NoneType' object has no
    attribute 'hostname'`` (kombu issue 582: the channel's connection is already gone).
    """
    line = [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--loglevel", "INFO"]
    line += ["--queues", ",".join(queues), *WORKER_WITHOUT]
    if concurrency:
        line += ["--concurrency", str(concurrency)]
    if beat:
        line += ["--beat", "--schedule", str(VAR_DIR / "worker-beat-schedule")]
    return line


def scheduler_command() -> list[str]:
    """The command line of the scheduler (Celery beat)."""
    VAR_DIR.mkdir(exist_ok=True)
    line = [sys.executable, "-m", "celery", "-A", "worker.app", "beat", "--loglevel", "INFO"]
    return [*line, "--schedule", str(VAR_DIR / "beat-schedule")]


RESTART_BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits before restarting a child that exited, growing with each exit in a row."""
HEALTHY_AFTER_SECONDS = 60.0
"""A child that ran this long before exiting starts its backoff from the beginning again."""


@dataclass
class Child:
    """One process run by :func:`run_together`, and how often it exited in a row."""

    name: str
    line: list[str]
    process: subprocess.Popen[bytes]
    started: float
    exits: int = 0
    restart_at: float | None = None


def run_together(commands: dict[str, list[str]], *, restart: Sequence[str] = ()) -> int:
    """Run the commands as children until Ctrl-C; then stop them all.

    A child named in ``restart`` that exits is started again after a growing backoff, with
    a log line; any other child exiting stops them all.
    """
    children = [_start(name, line) for name, line in commands.items()]
    stop = {"requested": False}

    def _request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    # Explicit handlers: a shell may start us with SIGINT ignored, and containers send SIGTERM.
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    while not stop["requested"]:
        if not all(_tend(child, restartable=child.name in restart) for child in children):
            break
        time.sleep(0.3)
    # A child waiting for its restart has no exit code to report any more.
    return stop_children([child.process for child in children if child.restart_at is None])


def _start(name: str, line: list[str]) -> Child:
    return Child(name, line, subprocess.Popen(line), time.monotonic())


def _tend(child: Child, *, restartable: bool) -> bool:
    """Look after one child: False when it exited and must not be restarted."""
    now = time.monotonic()
    if child.restart_at is not None:
        if now >= child.restart_at:
            child.process = subprocess.Popen(child.line)
            child.started, child.restart_at = now, None
        return True
    code = child.process.poll()
    if code is None:
        return True
    if not restartable:
        return False
    child.exits = 1 if now - child.started >= HEALTHY_AFTER_SECONDS else child.exits + 1
    wait = RESTART_BACKOFF_SECONDS[min(child.exits, len(RESTART_BACKOFF_SECONDS)) - 1]
    log.warning("%s exited with code %s; restarting it in %.0f s", child.name, code, wait)
    child.restart_at = now + wait
    return True


def stop_children(children: Sequence[subprocess.Popen[bytes]], timeout: float = 15.0) -> int:
    """Ask each child to stop (SIGTERM), wait, then kill stragglers; the first non-zero code."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    codes = [child.returncode for child in children if child.returncode not in (0, -15, None)]
    return codes[0] if codes else 0
