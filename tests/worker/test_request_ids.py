"""A web request's id follows the task it enqueued into a real worker's log lines."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from core.database import unit_of_work
from core.tasks import TaskName
from subscribers.lists import create_list
from tests.fixtures.processes import celery_worker, herald_env, wait_until, web_server
from tests.fixtures.subscribing import FORM_PAGE


def _lines_of(log: Path) -> list[dict[str, str]]:
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_the_confirmation_task_of_a_subscription_logs_the_request_s_id(
    sqlite_db: str, tmp_path: Path
) -> None:
    with unit_of_work() as session:
        create_list(session, slug="forum", name="Find out first", opt_in="double")
    env = herald_env(
        database_url=sqlite_db,
        broker_url=f"sqla+sqlite:///{tmp_path}/broker.sqlite",
        outbox_dir=str(tmp_path / "outbox"),
        log_format="json",
        env="test",
    )
    with web_server(env, tmp_path) as url, celery_worker(env, tmp_path, name="mail"):
        answer = httpx.post(
            f"{url}/subscribe/forum",
            data={"email": "anna@example.org", "name": "Anna", "language": "en"},
            headers={"X-Request-ID": "signup-4711", "Referer": FORM_PAGE},
        )
        assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "signup-4711"

        def worker_logged_it() -> bool:
            return any(
                line.get("request_id") == "signup-4711" for line in _lines_of(tmp_path / "mail.log")
            )

        wait_until(worker_logged_it, timeout=60, what="the worker's line with the request id")
    lines = [line for line in _lines_of(tmp_path / "mail.log") if line.get("request_id")]
    assert {line["request_id"] for line in lines} == {"signup-4711"}
    assert {line["task_name"] for line in lines} == {str(TaskName.SEND_CONFIRMATIONS)}
    assert all(line.get("task_id") for line in lines)
    assert list((tmp_path / "outbox").rglob("*.eml"))  # the confirmation did go out
