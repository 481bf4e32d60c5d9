"""``herald sandbox``: its options, and that they reach the sandbox it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from publisher.cli.main import app as herald_cli
from tests.fixtures.processes import free_port, herald_env, wait_until
from tests.fixtures.sandbox import AUTH, TOKEN
from tests.fixtures.sandbox import postmark_mail as _mail


def test_the_sandbox_command_lists_its_options() -> None:
    result = CliRunner().invoke(herald_cli, ["sandbox", "--help"], terminal_width=200)

    assert result.exit_code == 0
    for option in (
        "--keep-messages",
        "--throttle-rate",
        "--error-rate",
        "--slow-rate",
        "--slow-seconds",
        "--retry-after",
        "--seed",
        "--webhook-url",
        "--bounce-rate",
        "--server-token",
        "--resend-api-key",
    ):
        assert option in result.output


def test_the_sandbox_command_refuses_rates_above_one() -> None:
    result = CliRunner().invoke(
        herald_cli, ["sandbox", "--throttle-rate", "0.7", "--error-rate", "0.7"]
    )

    assert result.exit_code == 2


def test_the_sandbox_command_passes_its_options_on(tmp_path: Path) -> None:
    port = free_port()
    line = [
        sys.executable,
        "-m",
        "publisher.cli.main",
        "sandbox",
        "--port",
        str(port),
        "--throttle-rate",
        "1",
        "--retry-after",
        "3",
        "--server-token",
        TOKEN,
    ]
    process = subprocess.Popen(line, env=herald_env(), cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _listening(url), timeout=20, what="the sandbox to listen")
        response = httpx.post(f"{url}/email/batch", headers=AUTH, json=[_mail("a@x.org")])
        faults = httpx.get(f"{url}/_sandbox/faults").json()
    finally:
        process.terminate()
        process.wait(10)

    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert faults["throttle_rate"] == 1.0


def _listening(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_sandbox/stats", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
