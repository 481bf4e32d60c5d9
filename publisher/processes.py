"""Starting Herald's processes (web, worker, scheduler) as child processes, and migrating.

The CLI never imports ``worker``: it starts Celery on ``worker.app`` in a child process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from alembic import command
from alembic.config import Config

from core.celery_app import ALL_QUEUES
from core.settings import VAR_DIR, get_settings, project_root


def migrate(revision: str = "head") -> None:
    """Bring the configured database's schema up to ``revision``."""
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["database_url"] = get_settings().database_url
    command.upgrade(config, revision)


def web_command(host: str, port: int, *, reload: bool = False) -> list[str]:
    """The command line of the web process."""
    line = [
        sys.executable,
        "-m",
        "uvicorn",
        "publisher.app:app",
        "--host",
        host,
        "--port",
        str(port),
    ]
    return [*line, "--reload"] if reload else line


def worker_command(
    queues: Sequence[str] = ALL_QUEUES, concurrency: int | None = None, *, beat: bool = False
) -> list[str]:
    """The command line of a Celery worker consuming ``queues``."""
    line = [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--loglevel", "INFO"]
    line += ["--queues", ",".join(queues)]
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


def run_together(commands: dict[str, list[str]]) -> int:
    """Run the commands as children until Ctrl-C or until one exits; then stop them all."""
    children = {name: subprocess.Popen(line) for name, line in commands.items()}
    stop = {"requested": False}

    def _request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    # Explicit handlers: a shell may start us with SIGINT ignored, and containers send SIGTERM.
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    while not stop["requested"]:
        if any(child.poll() is not None for child in children.values()):
            break
        time.sleep(0.3)
    return stop_children(list(children.values()))


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
