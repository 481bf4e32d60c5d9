"""Logging configured once per process: the level and format settings, ids on every line.

The JSON test runs the real web process started with ``HERALD_LOG_FORMAT=json`` and parses
every line it wrote.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from core import logs
from core.settings import Settings
from tests.fixtures.processes import herald_env, web_server


def test_a_real_web_process_writes_json_lines_with_its_own_and_access_lines(
    sqlite_db: str, tmp_path: Path
) -> None:
    env = herald_env(database_url=sqlite_db, log_format="json", env="test")
    with web_server(env, tmp_path) as url:
        answer = httpx.get(f"{url}/livez", headers={"X-Request-ID": "json-test-1"})
        assert answer.headers["X-Request-ID"] == "json-test-1"
    lines = (tmp_path / "web.log").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]  # each line is JSON
    assert len(records) == len([line for line in lines if line.strip()]) > 3
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    own = [r for r in records if r["logger"] == "publisher.web.app" and r["level"] == "INFO"]
    assert own and "web process ready" in own[0]["message"]
    access = [r for r in records if r["logger"] == "herald.access"]
    livez = [r for r in access if "/livez" in r["message"]]
    assert livez[-1]["request_id"] == "json-test-1"
    assert livez[-1]["http"] == {"method": "GET", "target": "/livez", "status": 200}


def _configured(capsys: pytest.CaptureFixture[str], **values: str) -> None:
    logs.configure_logging(Settings(**values))  # type: ignore[arg-type]
    capsys.readouterr()


def test_the_level_setting_drops_lines_below_it(capsys: pytest.CaptureFixture[str]) -> None:
    _configured(capsys, log_level="WARNING")
    logging.getLogger("herald.test").info("not shown")
    logging.getLogger("herald.test").warning("shown")
    written = capsys.readouterr().err
    assert "shown" in written and "not shown" not in written


def test_text_lines_carry_the_request_and_task_ids(capsys: pytest.CaptureFixture[str]) -> None:
    _configured(capsys, log_format="text")
    reset = logs.request_id.set("req-9"), logs.task_name.set("herald.send_batch")
    try:
        logging.getLogger("herald.test").warning("batch done")
    finally:
        logs.request_id.reset(reset[0])
        logs.task_name.reset(reset[1])
    line = capsys.readouterr().err.strip()
    assert line.endswith(
        "WARNING herald.test [request_id=req-9 task_name=herald.send_batch]: batch done"
    )


def test_json_lines_carry_the_exception_text(capsys: pytest.CaptureFixture[str]) -> None:
    _configured(capsys, log_format="json")
    try:
        raise RuntimeError("the provider said no")
    except RuntimeError:
        logging.getLogger("herald.test").exception("send failed: %s", "batch 3")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["level"] == "ERROR" and record["message"] == "send failed: batch 3"
    assert "RuntimeError: the provider said no" in record["exception"]
    assert "request_id" not in record  # only ids that are set


def test_configuring_again_replaces_herald_s_handler_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _configured(capsys)
    _configured(capsys)
    logging.getLogger("herald.test").warning("once")
    assert capsys.readouterr().err.count("once") == 1
