"""The request id and the access log: ids taken or made, answered, and tokens kept out of logs.

The access-log test runs the real web process (uvicorn, as ``herald web`` starts it) and
reads what it wrote.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from core.tokens import make_id_token
from publisher.tracking.links import CLICK_PURPOSE, OPEN_PURPOSE
from publisher.web.access import incoming_request_id, redacted_target
from subscribers.consent import confirmation_token
from subscribers.unsubscribe import unsubscribe_token
from tests.fixtures.processes import herald_env, web_server


def test_a_safe_incoming_request_id_is_answered_back(client: TestClient) -> None:
    answer = client.get("/livez", headers={"X-Request-ID": "lb-7f3a.42:x"})
    assert answer.headers["X-Request-ID"] == "lb-7f3a.42:x"


@pytest.mark.parametrize("unsafe", ["", "a b", "x" * 129, "id;rm", "<script>", "ключ"])
def test_an_unsafe_or_missing_request_id_is_replaced_by_a_new_one(
    client: TestClient, unsafe: str
) -> None:
    headers = {"X-Request-ID": unsafe.encode()} if unsafe else {}
    first = client.get("/livez", headers=headers).headers["X-Request-ID"]
    second = client.get("/livez", headers=headers).headers["X-Request-ID"]
    assert first != second and unsafe not in (first, second)
    assert len(first) == 32 and first.isalnum()


def test_request_ids_are_checked_for_length_and_characters() -> None:
    assert incoming_request_id("a" * 128) == "a" * 128
    assert incoming_request_id("a" * 129) != "a" * 129
    assert incoming_request_id("abc\r\nSet-Cookie: x") != "abc\r\nSet-Cookie: x"


def test_tokens_in_paths_and_query_strings_are_redacted() -> None:
    assert redacted_target("/unsubscribe/eyJhIjoxfQ.sig", "") == "/unsubscribe/…"
    assert redacted_target("/t/o/AbC.dEf.gif", "") == "/t/o/….gif"
    assert redacted_target("/t/c/AbC.dEf", "u=https://x.org/a") == "/t/c/…?u=…"
    assert redacted_target("/preferences/tok", "done=saved") == "/preferences/…?done=…"
    assert redacted_target("/admin/lists", "token=s3cret&q=a b") == "/admin/lists?token=…&q=a%20b"
    assert redacted_target("/archive/forum", "page=2") == "/archive/forum?page=2"


def _access_lines(log: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
    return [line for line in lines if line["logger"] == "herald.access"]


def test_a_real_web_process_logs_no_token_of_the_links_it_serves(
    sqlite_db: str, tmp_path: Path
) -> None:
    tokens = [
        unsubscribe_token(7, (3,), 11),
        confirmation_token(7, 3, datetime(2026, 1, 2, tzinfo=UTC)),
        make_id_token(OPEN_PURPOSE, 41),
        make_id_token(CLICK_PURPOSE, 41, 2),
    ]
    unsubscribe, confirm, pixel, click = tokens
    paths = [
        f"/unsubscribe/{unsubscribe}",
        f"/preferences/{unsubscribe}?done=saved",
        f"/confirm/{confirm}",
        f"/t/o/{pixel}.gif",
        f"/t/c/{click}",
        f"/admin/login?token={click}",
    ]
    env = herald_env(database_url=sqlite_db, log_format="json", env="test")
    with web_server(env, tmp_path) as url:
        for path in paths:
            httpx.get(url + path, timeout=10)
        httpx.post(f"{url}/unsubscribe/{unsubscribe}", timeout=10)
    log = tmp_path / "web.log"
    written = log.read_text(encoding="utf-8")
    assert all(token not in written for token in tokens)
    targets = [str(line["http"]["target"]) for line in _access_lines(log)]  # type: ignore[index]
    for expected in ("/unsubscribe/…", "/preferences/…?done=…", "/confirm/…", "/t/o/….gif"):
        assert expected in targets
    assert "/t/c/…" in targets and "/admin/login?token=…" in targets
    assert "uvicorn.access" not in written
