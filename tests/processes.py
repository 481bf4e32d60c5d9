"""Starting Herald's real processes (Celery workers, the sandbox, the CLI) for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import redis

from core.celery_app import prepare_broker

ROOT = Path(__file__).resolve().parents[1]


def herald_env(**values: str) -> dict[str, str]:
    """The current environment with HERALD_* settings from ``values``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HERALD_")}
    env.update({f"HERALD_{name.upper()}": value for name, value in values.items()})
    env["PYTHONPATH"] = str(ROOT)
    return env


def herald(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run the ``herald`` command line and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "publisher.cli", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@contextmanager
def celery_worker(
    env: dict[str, str], cwd: Path, *, name: str, concurrency: int = 2, app: str = "worker.app"
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery worker`` process on every Herald queue, stopped (TERM, then KILL) after.

    ``app`` is the Celery app module (``tests.fault_hooks`` for one that can be held)."""
    # As `herald up` does: processes that start together must not race to make the queues.
    prepare_broker(env.get("HERALD_BROKER_URL", ""))
    line = [sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel", "WARNING",
            "--queues", "bulk,transactional,control", "--concurrency", str(concurrency),
            "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle"]  # fmt: skip
    with _running(line, env, cwd, name) as process:
        yield process


@contextmanager
def celery_beat(env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The real scheduler (``celery beat``) ticking every ``HERALD_SCHEDULER_TICK_SECONDS``."""
    line = [sys.executable, "-m", "celery", "-A", "worker.app", "beat", "--loglevel", "WARNING",
            "--schedule", str(cwd / "beat-schedule")]  # fmt: skip
    with _running(line, env, cwd, "beat") as process:
        yield process


@contextmanager
def _running(
    line: list[str], env: dict[str, str], cwd: Path, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session (so :func:`kill_tree` reaches its children), logged."""
    log = (cwd / f"{name}.log").open("ab")
    process = subprocess.Popen(
        line, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield process
    finally:
        _stop_tree(process)
        log.close()


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and every child it forked, at once: a machine dying mid-send."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _stop_tree(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        kill_tree(process)  # the children of a killed parent may linger
        return
    os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(20)
    kill_tree(process)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def set_sandbox_faults(url: str, faults: dict[str, Any]) -> None:
    """Tell the sandbox at ``url`` which faults to inject from now on."""
    httpx.post(f"{url}/_sandbox/faults", json=faults).raise_for_status()


def sandbox_received(url: str, campaign_id: int) -> dict[str, int]:
    """How many times the sandbox at ``url`` got each recipient of the campaign."""
    answer = httpx.get(f"{url}/_sandbox/recipients", params={"campaign_id": campaign_id})
    return dict(answer.raise_for_status().json())


@contextmanager
def sandbox_server(cwd: Path, *options: str) -> Iterator[str]:
    """``herald sandbox`` (with command-line ``options``) in its own process; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "publisher.cli", "sandbox", "--port", str(port), *options],
        env=herald_env(), cwd=cwd,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url), timeout=20, what="the sandbox to listen")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_sandbox/stats", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.3)


@contextmanager
def web_server(env: dict[str, str], cwd: Path) -> Iterator[str]:
    """The real web process (uvicorn on ``publisher.app``) on a free port; yields its URL."""
    from publisher.processes import web_command

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with _running(web_command("127.0.0.1", port), env, cwd, "web") as process:
        wait_until(lambda: _healthy(url, process), timeout=30, what="the web process to listen")
        yield url


def _healthy(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the web process exited with {process.returncode}")
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class RedisServer:
    """A ``redis-server`` of the test's own, on its own port, that the test can stop and start.

    Never the shared Redis: nothing persists (``--save ''``, no append-only file), so a
    restart loses every queued task message, as a crashed broker without persistence does.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        line = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        line += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(
            line, cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self._answers, timeout=10, what="redis-server to answer")

    def stop(self) -> None:
        """Kill the server at once (no shutdown save), as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def _answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


@contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    """A running :class:`RedisServer` in ``folder``, killed afterwards."""
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
