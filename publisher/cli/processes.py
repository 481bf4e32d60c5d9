"""Starting Herald's processes (web, worker, scheduler) as child processes, and migrating.

The CLI never imports ``worker``: it starts Celery on ``worker.app`` in a child process.
``herald up`` restarts a worker or scheduler that exits (after a backoff), as compose's
``restart: unless-stopped`` does for the containers.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from alembic import command

from core import heartbeat
from core.celery_app import ALL_QUEUES
from core.settings import get_settings
from publisher.schema_versions import alembic_config

log = logging.getLogger(__name__)


def migrate(revision: str = "head") -> None:
    """Bring the configured database's schema up to ``revision``."""
    command.upgrade(alembic_config(), revision)


def web_command(host: str, port: int, *, reload: bool = False) -> list[str]:
    """The command line of the web process.

    Without uvicorn's access log (the app writes its own, tokens redacted) and without its
    proxy headers (``HERALD_TRUSTED_PROXIES`` decides whom to believe, in the app).
    """
    line = [
        sys.executable,
        "-m",
        "uvicorn",
        "publisher.web.app:app",
        "--host",
        host,
        "--port",
        str(port),
        "--no-access-log",
        "--no-proxy-headers",
    ]
    return [*line, "--reload"] if reload else line


def port_in_use(host: str, port: int) -> bool:
    """Whether ``host:port`` cannot be listened on now (another process holds it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by a server just stopped is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


WORKER_WITHOUT = ("--without-gossip", "--without-mingle")


def worker_command(
    queues: Sequence[str] = ALL_QUEUES,
    concurrency: int | None = None,
    *,
    beat: bool = False,
    quiet: bool = False,
) -> list[str]:
    """The command line of a Celery worker consuming ``queues`` (``quiet``: no banner).

    Without gossip and mingle: Herald needs neither (workers share nothing but the database
    and the broker), and after the broker restarts, closing gossip's stale channel is what
    made idle workers exit with kombu's ``AttributeError: 'NoneType' object has no
    attribute 'hostname'`` (kombu issue 582: the channel's connection is already gone).
    Its log level is ``HERALD_LOG_LEVEL`` (Herald configures Celery's logging).
    """
    line = [sys.executable, "-m", "celery", "-A", "worker.app", *_quiet(quiet), "worker"]
    line += ["--queues", ",".join(queues), *WORKER_WITHOUT]
    if concurrency:
        line += ["--concurrency", str(concurrency)]
    if beat:
        line += ["--beat", "--schedule", str(_data_folder() / "worker-beat-schedule")]
    return line


def scheduler_command(*, quiet: bool = False) -> list[str]:
    """The command line of the scheduler (Celery beat; ``quiet``: no banner)."""
    line = [sys.executable, "-m", "celery", "-A", "worker.app", *_quiet(quiet), "beat"]
    return [*line, "--schedule", str(_data_folder() / "beat-schedule")]


def _data_folder() -> Path:
    """The data folder, made if need be: beat keeps its schedule file there."""
    folder = get_settings().data_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _quiet(quiet: bool) -> list[str]:
    # Celery's global --quiet drops the start-up banner of worker and beat.
    return ["--quiet"] if quiet else []


RESTART_BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits before restarting a child that exited, growing with each exit in a row."""
HEALTHY_AFTER_SECONDS = 60.0
"""A child that ran this long before exiting starts its backoff from the beginning again."""


Readiness = Callable[[float], bool]
"""Whether a child started at this Unix time is ready to work."""


@dataclass
class Child:
    """One process run by :func:`run_together`, and how often it exited in a row."""

    name: str
    line: list[str]
    process: subprocess.Popen[bytes]
    started: float
    exits: int = 0
    restart_at: float | None = None
    started_at: float = 0.0  # Unix time, as heartbeats record it
    announced: bool = False


def run_together(
    commands: dict[str, list[str]],
    *,
    restart: Sequence[str] = (),
    ready: Mapping[str, tuple[Readiness, str]] | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run the commands as children until Ctrl-C; then stop them all.

    A child named in ``restart`` that exits is started again after a growing backoff, with
    a log line; any other child exiting stops them all. A child named in ``ready`` has its
    line printed once its check passes (again after each restart). ``env``: the children's
    environment (default: this one's).
    """
    children = [_start(name, line, env) for name, line in commands.items()]
    stop = {"requested": False}

    def _request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    # Explicit handlers: a shell may start us with SIGINT ignored, and containers send SIGTERM.
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    while not stop["requested"]:
        if not all(_tend(child, restartable=child.name in restart, env=env) for child in children):
            break
        for child in children:
            _announce(child, (ready or {}).get(child.name))
        time.sleep(0.3)
    # A child waiting for its restart has no exit code to report any more.
    return stop_children([child.process for child in children if child.restart_at is None])


def web_ready(host: str, port: int) -> Readiness:
    """The web process is ready when its /livez answers."""
    # A server listening on every address is reached on loopback.
    address = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)  # noqa: S104
    url = f"http://{address}:{port}/livez"

    def answers(_started_at: float) -> bool:
        try:
            return httpx.get(url, timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    return answers


def heartbeat_since_start(name: str) -> Readiness:
    """The process ``name`` is ready once it wrote its heartbeat after it started."""
    return lambda started_at: (heartbeat.last_beat(name) or 0.0) >= started_at


def _popen(line: list[str], env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(line, env=None if env is None else dict(env))


def _start(name: str, line: list[str], env: Mapping[str, str] | None = None) -> Child:
    return Child(name, line, _popen(line, env), time.monotonic(), started_at=time.time())


def _announce(child: Child, check: tuple[Readiness, str] | None) -> None:
    if check is None or child.announced or child.restart_at is not None:
        return
    is_ready, line = check
    if child.process.poll() is None and is_ready(child.started_at):
        print(line, flush=True)
        child.announced = True


def _tend(child: Child, *, restartable: bool, env: Mapping[str, str] | None = None) -> bool:
    """Look after one child: False when it exited and must not be restarted."""
    now = time.monotonic()
    if child.restart_at is not None:
        if now >= child.restart_at:
            child.process = _popen(child.line, env)
            child.started, child.restart_at = now, None
            child.started_at, child.announced = time.time(), False
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
