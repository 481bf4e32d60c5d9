"""The web process never freezes: no database work on the event loop, short lock waits.

A route or dependency declared ``async def`` runs on the event loop, so a database call in
it (which blocks) stops every other request, ``/healthz`` included, for as long as it waits;
if what it waits for (a row lock, a pooled connection) is held by a request that itself
needs the loop to finish, the server stops for good.
"""

from __future__ import annotations

import ast
import inspect
import statistics
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.database import unit_of_work
from publisher.accounts.sessions import start_session
from publisher.accounts.tokens import create_api_token
from publisher.web.app import create_app
from publisher.web.deps import request_session
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_user
from tests.fixtures.processes import ROOT, herald_env, web_server

WEB_SOURCES = sorted((ROOT / "publisher" / "web").rglob("*.py"))
DATABASE_NAMES = {"session", "DbSession", "Session", "unit_of_work", "new_session", "get_engine"}


def _is_async(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


def _async_callables_given_a_session(dependant: Dependant, path: str) -> list[str]:
    found = []
    if dependant.call is not None and _is_async(dependant.call):
        given = [sub.call for sub in dependant.dependencies]
        annotations = inspect.get_annotations(dependant.call, eval_str=True).values()
        if request_session in given or Session in annotations:
            found.append(f"{path}: {dependant.call.__qualname__}")
    for sub in dependant.dependencies:
        found += _async_callables_given_a_session(sub, path)
    return found


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every API route, also those of included routers (kept apart by recent FastAPI)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def test_no_async_endpoint_or_dependency_of_the_app_receives_a_database_session() -> None:
    routes = _api_routes(create_app().routes)
    assert len(routes) > 50  # the whole app, not an empty router
    offenders = [
        name
        for route in routes
        for name in _async_callables_given_a_session(route.dependant, route.path)
    ]
    assert offenders == []


def _async_functions_using_the_database(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.AsyncFunctionDef):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            names |= {a.arg for a in node.args.args + node.args.kwonlyargs}
            if names & (DATABASE_NAMES | {"CurrentUser", "Admin"}):
                found.append(f"{path.name}:{node.lineno} {node.name}")
    return found


def test_no_async_function_in_the_web_package_touches_the_database() -> None:
    offenders = [name for path in WEB_SOURCES for name in _async_functions_using_the_database(path)]
    assert offenders == []


def test_the_static_guard_notices_a_session_in_an_async_function(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("async def page(session):\n    return session.scalar(1)\n")
    assert _async_functions_using_the_database(sample) == ["sample.py:1 page"]


def _prepare(session: Session) -> dict[str, str]:
    """An admin with an API token and a browser session; campaigns 1 and 2."""
    add_list(session)
    first, second = add_announcement(session, "news"), add_announcement(session, "news")
    assert (first.id, second.id) == (1, 2)
    admin = add_user(session)
    token = create_api_token(session, admin, name="load")
    cookie = start_session(session, admin)
    session.flush()
    from publisher.accounts.sessions import identity_for_session

    identity = identity_for_session(session, cookie)
    assert identity is not None
    return {"token": token, "cookie": cookie, "csrf": identity.csrf_token}


class Load:
    """Threads hammering two routes while one thread samples /healthz every 200 ms."""

    def __init__(self, url: str, secrets: dict[str, str], seconds: float) -> None:
        self.url, self.secrets, self.seconds = url, secrets, seconds
        self.answers: Counter[str] = Counter()
        self.health: list[float] = []
        self._stop = threading.Event()

    def api_reader(self) -> None:
        headers = {"Authorization": f"Bearer {self.secrets['token']}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            while not self._stop.is_set():
                self._count("api", lambda: client.get("/api/campaigns/1"))

    def page_editor(self) -> None:
        cookies = {"herald_session": self.secrets["cookie"]}
        headers = {"X-CSRF-Token": self.secrets["csrf"]}
        form = {"subject": "Ukraine–Japan Forum: «Відбудова»", "post": "1", "list": "news"}
        with httpx.Client(base_url=self.url, cookies=cookies, headers=headers, timeout=30) as c:
            while not self._stop.is_set():
                self._count("edit", lambda: c.post("/admin/campaigns/2/edit", data=form))

    def _count(self, kind: str, call: Any) -> None:
        try:
            self.answers[f"{kind} {call().status_code}"] += 1
        except httpx.HTTPError as error:
            self.answers[f"{kind} {type(error).__name__}"] += 1

    def sample_health(self) -> None:
        with httpx.Client(base_url=self.url, timeout=15) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    self.answers[f"healthz {client.get('/healthz').status_code}"] += 1
                except httpx.HTTPError as error:
                    self.answers[f"healthz {type(error).__name__}"] += 1
                self.health.append(time.monotonic() - started)
                time.sleep(0.2)

    def run(self) -> None:
        workers = [self.api_reader] * 4 + [self.page_editor] * 4 + [self.sample_health]
        threads = [threading.Thread(target=work, daemon=True) for work in workers]
        for thread in threads:
            thread.start()
        time.sleep(self.seconds)
        self._stop.set()
        for thread in threads:
            thread.join(40)


def test_healthz_answers_within_a_second_while_one_token_and_one_session_hammer_the_api(
    pg_db: str, tmp_path: Path
) -> None:
    with unit_of_work() as session:
        secrets = _prepare(session)
    env = herald_env(database_url=pg_db, env="test", base_url="http://127.0.0.1")
    with web_server(env, tmp_path) as url:
        load = Load(url, secrets, seconds=10)
        load.run()
    slowest = max(load.health)
    median = statistics.median(load.health)
    print(f"healthz: {len(load.health)} samples, median {median:.3f}s, slowest {slowest:.3f}s")
    print(f"answers: {dict(load.answers)}")
    assert len(load.health) >= 20
    assert slowest < 1.0
    assert load.answers["api 200"] > 20 and load.answers["edit 303"] > 20
    assert load.answers["healthz 200"] == len(load.health)
    assert not [kind for kind in load.answers if kind.endswith(("500", "Error", "Timeout"))]


def test_only_web_sessions_have_the_lock_and_statement_timeouts(pg_db: str) -> None:
    with unit_of_work(web=True) as web:
        assert web.scalar(text("SHOW lock_timeout")) == "5s"
        assert web.scalar(text("SHOW statement_timeout")) == "30s"
    with unit_of_work() as worker:
        assert worker.scalar(text("SHOW lock_timeout")) == "0"
        assert worker.scalar(text("SHOW statement_timeout")) == "0"


def test_a_request_waiting_too_long_for_a_lock_is_answered_503_with_retry_after(
    pg_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work() as session:
        secrets = _prepare(session)
    use_settings(monkeypatch, web_lock_timeout_ms="300")
    client = TestClient(create_app(), raise_server_exceptions=False)
    client.cookies["herald_session"] = secrets["cookie"]
    form = {"subject": "Changed while locked", "post": "1", "list": "news"}
    with unit_of_work() as holder:
        holder.execute(text("SELECT id FROM campaigns WHERE id = 2 FOR UPDATE"))
        started = time.monotonic()
        answer = client.post(
            "/admin/campaigns/2/edit", data=form, headers={"X-CSRF-Token": secrets["csrf"]}
        )
        waited = time.monotonic() - started
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert waited < 3
    with unit_of_work() as session:
        assert session.scalar(text("SELECT subject FROM campaigns WHERE id = 2")) != form["subject"]
