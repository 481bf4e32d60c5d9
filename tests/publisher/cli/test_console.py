"""What Herald's processes print: ``herald up`` as a person runs it (one line per process
once ready, then quiet; a port in use is one clear line naming the port and ``--port``),
and a scheduler logging JSON prints JSON only.

Real ``herald`` subprocesses on the embedded database and broker, in the test's own folder.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.fixtures.processes import free_port, herald, herald_env, wait_until

READY = {"worker ready", "scheduler ready"}
# What a Celery banner, a beat tick or an INFO line would show.
NOISE = ("[config]", "celery beat v", "-------------- ", "Sending due task", "INFO", "Uvicorn")

ROOT_WARNING = (
    "SecurityWarning",
    "absolutely not recommended",
    "--uid option",
    "User information: uid=0",
    "_warn_or_raise_security_error",
)


def _env(tmp_path: Path) -> dict[str, str]:
    return herald_env(
        database_url=f"sqlite:///{tmp_path}/herald.sqlite",
        broker_url=f"sqla+sqlite:///{tmp_path}/broker.sqlite",
        outbox_dir=str(tmp_path / "outbox"),
        scheduler_tick_seconds="1",
        env="test",
    )


def test_up_says_one_line_per_process_then_only_warnings(tmp_path: Path) -> None:
    port = free_port()
    console = tmp_path / "console.txt"
    with console.open("wb") as output:
        up = subprocess.Popen(
            [sys.executable, "-m", "publisher.cli.main", "up", "--port", str(port)],
            env=_env(tmp_path),
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            expected = {*READY, f"web on http://127.0.0.1:{port}"}
            wait_until(
                lambda: expected <= set(console.read_text().splitlines()),
                timeout=90,
                what="the three ready lines",
            )
            ticks = (tmp_path / "var" / "heartbeat" / "scheduler").read_text()
            # Several scheduler ticks later, still nothing more to read.
            wait_until(
                lambda: (tmp_path / "var" / "heartbeat" / "scheduler").read_text() != ticks,
                timeout=20,
                what="the scheduler to tick again",
            )
            before_stop = console.read_text()
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(60)
    lines = [line for line in before_stop.splitlines() if line.strip()]
    assert not [line for line in lines if any(noise in line for noise in NOISE)]
    if os.geteuid() == 0:  # Celery's warning to whoever runs a worker as root (tests, here)
        lines = [line for line in lines if not any(part in line for part in ROOT_WARNING)]
    assert sorted(lines) == sorted(expected)  # each said once, and nothing else


def test_up_on_a_port_in_use_says_so_in_one_line_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = herald("up", "--port", str(port), env=_env(tmp_path), cwd=tmp_path, timeout=60)
    assert done.returncode == 1
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(said) == 1
    assert f"port {port}" in said[0] and "--port" in said[0]
    assert not (tmp_path / "herald.sqlite").exists()  # not even migrated


def test_a_scheduler_logging_json_prints_no_banner_only_json(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "HERALD_LOG_FORMAT": "json", "HERALD_LOG_LEVEL": "DEBUG"}
    heartbeat = tmp_path / "var" / "heartbeat" / "scheduler"
    console = tmp_path / "console.txt"
    with console.open("wb") as output:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "publisher.cli.main", "scheduler"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(heartbeat.exists, timeout=60, what="the scheduler's first loop")
            first = heartbeat.read_text()
            wait_until(lambda: heartbeat.read_text() != first, timeout=20, what="another loop")
        finally:
            scheduler.terminate()
            scheduler.wait(30)
    lines = [line for line in console.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON: no banner
    assert any(record["logger"] == "celery.beat" for record in records)
