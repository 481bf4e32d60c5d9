"""Accounts that hold: lockout under parallel guesses, the login throttle, one first admin,
API tokens listed and revoked, users deactivated."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from core.audit import audit_trail
from core.database import unit_of_work, utcnow
from publisher.accounts.models import ApiToken, User
from publisher.accounts.service import deactivate_user
from publisher.accounts.tokens import create_api_token, identity_for_api_token
from publisher.accounts.users import SetupDone, all_users, create_first_admin, find_user
from publisher.cli.main import app as cli_app
from publisher.web.app import create_app
from tests.conftest import use_settings
from tests.fixtures.factories import PASSWORD, add_user, log_in
from tests.fixtures.processes import herald_env, web_server


def _in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(0..count-1)`` in threads released together; their results (or errors)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:  # the test inspects what each thread met
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _actions() -> list[str]:
    with unit_of_work() as session:
        return [entry.action for entry in audit_trail(session, object_type="user")]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_thirty_parallel_wrong_passwords_lock_the_account_of_a_real_web_process(
    pg_db: str, tmp_path: Path
) -> None:
    with unit_of_work() as session:
        add_user(session, "chief@example.com")
    env = herald_env(database_url=pg_db, env="test", login_burst="100")
    wrong = {"email": "chief@example.com", "password": "not the password at all"}
    right = {"email": "chief@example.com", "password": PASSWORD}
    with web_server(env, tmp_path) as url:

        def guess(_index: int) -> int:
            return httpx.post(f"{url}/admin/login", data=wrong, timeout=60).status_code

        answers = Counter(_in_parallel(30, guess))
        refused = httpx.post(f"{url}/admin/login", data=right, timeout=10)
        with unit_of_work() as session:
            user = find_user(session, "chief@example.com")
            assert user is not None and user.locked_until is not None
            assert user.locked_until > utcnow() + timedelta(minutes=14)
            # The lock ends (as if fifteen minutes passed): the right password works again.
            session.execute(update(User).values(locked_until=utcnow() - timedelta(seconds=1)))
        accepted = httpx.post(f"{url}/admin/login", data=right, timeout=10)
    assert answers == {401: 30}
    assert refused.status_code == 401
    assert accepted.status_code == 303
    assert "user.locked" in _actions()


def test_one_client_ip_gets_a_few_login_attempts_then_429(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, login_burst="3", login_attempts_per_hour="1")
    client = TestClient(create_app())
    with unit_of_work() as session:
        add_user(session, "chief@example.com")
    wrong = {"email": "chief@example.com", "password": "not the password at all"}
    assert [client.post("/admin/login", data=wrong).status_code for _ in range(3)] == [401] * 3
    throttled = client.post("/admin/login", data={**wrong, "password": PASSWORD})
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 60
    assert "herald_session" not in client.cookies
    with unit_of_work() as session:
        user = find_user(session, "chief@example.com")
        assert user is not None and user.failed_logins == 3  # the refused one was not checked


def test_three_concurrent_first_setups_make_one_admin(db: str) -> None:
    def set_up(index: int) -> int:
        with unit_of_work() as session:
            email, password = f"first{index}@example.com", "long enough password"
            return create_first_admin(session, email=email, password=password).id

    results = _in_parallel(3, set_up)
    assert sum(isinstance(result, int) for result in results) == 1
    assert sum(isinstance(result, SetupDone) for result in results) == 2
    with unit_of_work() as session:
        assert [(u.role, u.first_admin) for u in all_users(session)] == [("admin", True)]


def test_setup_after_the_first_admin_is_refused(client: TestClient) -> None:
    form = {"email": "first@example.com", "password": "long enough password"}
    assert client.post("/admin/setup", data=form, follow_redirects=False).status_code == 303
    other = TestClient(create_app())
    again = {"email": "second@example.com", "password": "long enough password"}
    assert other.post("/admin/setup", data=again).status_code == 403
    with unit_of_work() as session:
        assert [u.email for u in all_users(session)] == ["first@example.com"]


def _new_token(client: TestClient, name: str) -> str:
    form = {"name": name, "csrf_token": client.headers["X-CSRF-Token"]}
    page = client.post("/admin/account/tokens", data=form).text
    found = re.search(r'<code id="new-token">(hrld_[^<]+)</code>', page)
    assert found is not None
    return found.group(1)


def _token_id(name: str) -> int:
    with unit_of_work() as session:
        return session.scalars(select(ApiToken.id).where(ApiToken.name == name)).one()


def test_a_user_lists_and_revokes_their_own_tokens_which_stop_at_once(admin: TestClient) -> None:
    token = _new_token(admin, "nightly feed")
    api = TestClient(create_app())
    assert api.get("/api/campaigns", headers=_bearer(token)).status_code == 200
    page = admin.get("/admin/account").text
    assert "nightly feed" in page and token[:12] in page and token not in page
    token_id = _token_id("nightly feed")
    form = {"back": "account", "csrf_token": admin.headers["X-CSRF-Token"]}
    answer = admin.post(f"/admin/tokens/{token_id}/revoke", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert api.get("/api/campaigns", headers=_bearer(token)).status_code == 401
    assert "nightly feed" not in admin.get("/admin/account").text
    assert "user.api_token_revoke" in _actions()


def test_an_editor_cannot_revoke_an_admins_token_but_an_admin_can_revoke_anyones(
    admin: TestClient,
) -> None:
    admin_token = _new_token(admin, "admin script")
    editor = TestClient(create_app())
    editor.headers["X-CSRF-Token"] = log_in(editor, "ed@example.com", role="editor")
    editor_token = _new_token(editor, "editor script")
    refused = editor.post(f"/admin/tokens/{_token_id('admin script')}/revoke")
    assert refused.status_code == 404
    api = TestClient(create_app())
    assert api.get("/api/campaigns", headers=_bearer(admin_token)).status_code == 200
    assert "editor script" in admin.get("/admin/users").text
    form = {"back": "users", "csrf_token": admin.headers["X-CSRF-Token"]}
    revoke = f"/admin/tokens/{_token_id('editor script')}/revoke"
    answer = admin.post(revoke, data=form, follow_redirects=False)
    assert answer.headers["location"] == "/admin/users?notice=revoked"
    assert api.get("/api/campaigns", headers=_bearer(editor_token)).status_code == 401


def test_changing_the_password_ends_every_api_token(admin: TestClient) -> None:
    token = _new_token(admin, "old script")
    form = {"current": PASSWORD, "password": "a brand new password"}
    form["csrf_token"] = admin.headers["X-CSRF-Token"]
    assert (
        admin.post("/admin/account/password", data=form, follow_redirects=False).status_code == 303
    )
    api = TestClient(create_app())
    assert api.get("/api/campaigns", headers=_bearer(token)).status_code == 401
    with unit_of_work() as session:
        assert session.scalars(select(ApiToken)).all() == []
        entry = next(
            e for e in audit_trail(session, object_type="user") if e.action == "user.password"
        )
        assert entry.details == {"api_tokens_ended": 1}


def test_the_cli_lists_and_revokes_tokens(db: str) -> None:
    runner = CliRunner()
    with unit_of_work() as session:
        add_user(session, "ed@example.com", role="editor")
    token = runner.invoke(cli_app, ["users", "token", "ed@example.com", "--name", "feed"])
    secret = token.output.strip()
    listed = runner.invoke(cli_app, ["users", "tokens", "ed@example.com"])
    assert listed.exit_code == 0, listed.output
    assert f"{secret[:12]}…\tfeed" in listed.output and "never used" in listed.output
    token_id = _token_id("feed")
    revoked = runner.invoke(cli_app, ["users", "revoke-token", str(token_id)])
    assert revoked.exit_code == 0, revoked.output
    assert runner.invoke(cli_app, ["users", "revoke-token", str(token_id)]).exit_code != 0
    api = TestClient(create_app())
    assert api.get("/api/campaigns", headers=_bearer(secret)).status_code == 401
    assert "user.api_token_revoke" in _actions()


def test_a_deactivated_users_sessions_and_tokens_stop_at_once(admin: TestClient) -> None:
    editor = TestClient(create_app())
    editor.headers["X-CSRF-Token"] = log_in(editor, "ed@example.com", role="editor")
    token = _new_token(editor, "editor script")
    with unit_of_work() as session:
        user = find_user(session, "ed@example.com")
        assert user is not None
        editor_id = user.id
    csrf = {"csrf_token": admin.headers["X-CSRF-Token"]}
    answer = admin.post(f"/admin/users/{editor_id}/deactivate", data=csrf, follow_redirects=False)
    assert answer.status_code == 303
    assert editor.get("/admin", follow_redirects=False).status_code == 303  # to the login form
    api = TestClient(create_app())
    assert api.get("/api/campaigns", headers=_bearer(token)).status_code == 401
    login = {"email": "ed@example.com", "password": PASSWORD}
    assert TestClient(create_app()).post("/admin/login", data=login).status_code == 401
    assert "(deactivated)" in admin.get("/admin/users").text
    admin.post(f"/admin/users/{editor_id}/reactivate", data=csrf, follow_redirects=False)
    assert api.get("/api/campaigns", headers=_bearer(token)).status_code == 200
    assert [a for a in _actions() if a in ("user.deactivate", "user.reactivate")][::-1] == [
        "user.deactivate",
        "user.reactivate",
    ]


def test_the_last_active_admin_cannot_be_deactivated(admin: TestClient) -> None:
    with unit_of_work() as session:
        only = find_user(session, "admin@example.com")
        assert only is not None
        only_id = only.id
    csrf = {"csrf_token": admin.headers["X-CSRF-Token"]}
    refused = admin.post(f"/admin/users/{only_id}/deactivate", data=csrf)
    assert refused.status_code == 409
    assert "last active admin" in refused.text
    runner = CliRunner()
    assert runner.invoke(cli_app, ["users", "deactivate", "admin@example.com"]).exit_code != 0
    with unit_of_work() as session:
        assert [u.active for u in all_users(session)] == [True]


def test_two_admins_deactivating_each_other_at_once_leave_one_active(db: str) -> None:
    with unit_of_work() as session:
        ids = [add_user(session, f"admin{i}@example.com").id for i in range(2)]

    def deactivate(index: int) -> bool:
        with unit_of_work() as session:
            user = session.get(User, ids[index])
            assert user is not None
            return deactivate_user(session, user, actor=f"admin{1 - index}@example.com")

    results = _in_parallel(2, deactivate)
    assert sorted(type(result).__name__ for result in results) == ["UserError", "bool"]
    with unit_of_work() as session:
        assert sorted(u.active for u in all_users(session)) == [False, True]


def test_the_cli_deactivates_and_reactivates(db: str) -> None:
    runner = CliRunner()
    with unit_of_work() as session:
        add_user(session, "admin@example.com")
        add_user(session, "ed@example.com", role="editor")
    off = runner.invoke(cli_app, ["users", "deactivate", "ED@example.com"])
    assert off.exit_code == 0 and "deactivated ed@example.com" in off.output
    with unit_of_work() as session:
        user = find_user(session, "ed@example.com")
        assert user is not None and not user.active
    on = runner.invoke(cli_app, ["users", "reactivate", "ed@example.com"])
    assert on.exit_code == 0 and "reactivated ed@example.com" in on.output


def test_a_tokens_use_is_written_at_most_once_a_minute(db: str) -> None:
    with unit_of_work() as session:
        secret = create_api_token(session, add_user(session), name="script")
    moments = [utcnow(), utcnow() + timedelta(seconds=30), utcnow() + timedelta(seconds=61)]
    seen = []
    for moment in moments:
        with unit_of_work() as session:
            assert identity_for_api_token(session, secret, now=moment) is not None
        with unit_of_work() as session:
            seen.append(session.scalars(select(ApiToken.last_used_at)).one())
    assert seen == [moments[0], moments[0], moments[2]]


def test_a_tokens_use_is_not_waited_for_while_another_request_holds_its_row(pg_db: str) -> None:
    with unit_of_work() as session:
        secret = create_api_token(session, add_user(session), name="script")
    with unit_of_work() as holder:
        holder.execute(text("SELECT id FROM api_tokens FOR UPDATE"))
        with unit_of_work(web=True) as session:
            assert identity_for_api_token(session, secret, now=utcnow()) is not None
    with unit_of_work() as session:
        assert session.scalars(select(ApiToken.last_used_at)).one() is None


def test_a_csrf_token_with_non_ascii_characters_is_refused_not_an_error(admin: TestClient) -> None:
    del admin.headers["X-CSRF-Token"]
    form = {"email": "ed@example.com", "password": PASSWORD, "csrf_token": "відбудова"}
    answer = admin.post("/admin/users", data=form)
    assert answer.status_code == 403
    with unit_of_work() as session:
        assert [u.email for u in all_users(session)] == ["admin@example.com"]
