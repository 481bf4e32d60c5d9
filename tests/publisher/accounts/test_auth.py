"""Accounts: the first admin's setup, login and logout, lockout, roles, CSRF, API tokens."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from core.audit import audit_trail
from core.database import unit_of_work
from publisher.accounts.models import ApiToken, UserSession
from publisher.accounts.users import MAX_FAILED_LOGINS, all_users
from publisher.cli.main import app as cli_app
from publisher.web.app import create_app
from tests.conftest import use_settings
from tests.fixtures.factories import PASSWORD, add_user, log_in
from tests.fixtures.web import post_form


@pytest.mark.parametrize("path", ["/admin", "/admin/users", "/admin/account"])
def test_an_anonymous_page_request_is_sent_to_the_login_form(client: TestClient, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/login?next={path.replace('/', '%2F')}"


def test_an_anonymous_api_request_gets_401(client: TestClient) -> None:
    answer = client.get("/api/campaigns")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_first_visitor_creates_the_first_admin_then_setup_is_gone(client: TestClient) -> None:
    assert client.get("/admin/login", follow_redirects=False).headers["location"] == "/admin/setup"
    form = {"email": "Chief@Example.COM", "password": "long enough password", "name": "Chief"}
    answer = client.post("/admin/setup", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/admin").status_code == 200  # logged in by the setup
    with unit_of_work() as session:
        assert [(u.email, u.role) for u in all_users(session)] == [("chief@example.com", "admin")]
    other = TestClient(create_app())
    assert other.get("/admin/setup", follow_redirects=False).headers["location"] == "/admin/login"
    taken = other.post("/admin/setup", data={**form, "email": "intruder@example.com"})
    assert taken.status_code == 403
    with unit_of_work() as session:
        assert len(all_users(session)) == 1


def test_setup_refuses_a_short_password(client: TestClient) -> None:
    answer = client.post("/admin/setup", data={"email": "a@example.com", "password": "short"})
    assert answer.status_code == 400
    assert "at least 10 characters" in answer.text
    with unit_of_work() as session:
        assert all_users(session) == []


def test_login_checks_the_password_and_logout_ends_the_session(client: TestClient) -> None:
    with unit_of_work() as session:
        add_user(session)
    wrong = client.post("/admin/login", data={"email": "admin@example.com", "password": "nope"})
    assert wrong.status_code == 401
    assert "herald_session" not in client.cookies
    log_in(client)
    cookie = client.cookies["herald_session"]
    page = client.get("/admin").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    assert client.post("/admin/logout", data={"csrf_token": csrf.group(1)}).status_code == 200
    stale = TestClient(create_app(), cookies={"herald_session": cookie})
    assert stale.get("/admin", follow_redirects=False).status_code == 303


def test_repeated_wrong_passwords_lock_the_account(client: TestClient) -> None:
    with unit_of_work() as session:
        add_user(session)
    for _ in range(MAX_FAILED_LOGINS):
        client.post("/admin/login", data={"email": "admin@example.com", "password": "guess"})
    right = {"email": "admin@example.com", "password": PASSWORD}
    assert client.post("/admin/login", data=right, follow_redirects=False).status_code == 401


def test_login_never_redirects_to_another_site(client: TestClient) -> None:
    with unit_of_work() as session:
        add_user(session)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        form = {"email": "admin@example.com", "password": PASSWORD, "next": target}
        answer = client.post("/admin/login", data=form, follow_redirects=False)
        assert answer.headers["location"] == "/admin"


def test_the_session_cookie_is_httponly_samesite_and_stored_as_a_digest(
    client: TestClient,
) -> None:
    with unit_of_work() as session:
        add_user(session)
    form = {"email": "admin@example.com", "password": PASSWORD}
    cookie = client.post("/admin/login", data=form, follow_redirects=False).headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    with unit_of_work() as session:
        stored = session.scalars(select(UserSession.token_hash)).one()
    assert stored != client.cookies["herald_session"]


def test_an_editor_cannot_reach_admin_only_pages(client: TestClient) -> None:
    csrf = log_in(client, "editor@example.com", role="editor")
    assert client.get("/admin/users").status_code == 403
    form = {"email": "x@example.com", "password": PASSWORD, "csrf_token": csrf}
    assert client.post("/admin/users", data=form).status_code == 403
    with unit_of_work() as session:
        assert [u.email for u in all_users(session)] == ["editor@example.com"]


def test_an_admin_adds_an_editor_who_can_then_log_in(admin: TestClient) -> None:
    form = {"email": "ed@example.com", "password": PASSWORD, "role": "editor", "name": "Ed"}
    assert post_form(admin, "/admin/users", form).status_code == 303
    other = TestClient(create_app())
    log_in(other, "ed@example.com", role="editor")
    assert other.get("/admin").status_code == 200
    with unit_of_work() as session:
        actions = [entry.action for entry in audit_trail(session, object_type="user")]
    assert "user.create" in actions


def test_forms_without_the_csrf_token_change_nothing(admin: TestClient) -> None:
    del admin.headers["X-CSRF-Token"]
    form = {"email": "ed@example.com", "password": PASSWORD, "role": "admin"}
    assert admin.post("/admin/users", data=form).status_code == 403
    with unit_of_work() as session:
        assert [u.email for u in all_users(session)] == ["admin@example.com"]


def test_api_tokens_act_as_their_user_and_only_a_digest_is_stored(admin: TestClient) -> None:
    page = post_form(admin, "/admin/account/tokens", {"name": "script"}).text
    found = re.search(r'<code id="new-token">(hrld_[^<]+)</code>', page)
    assert found is not None
    token = found.group(1)
    api = TestClient(create_app())
    answer = api.get("/api/campaigns", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    with unit_of_work() as session:
        assert token not in set(session.scalars(select(ApiToken.token_hash)))
    assert token not in admin.get("/admin/account").text  # shown once only


def test_changing_the_password_ends_every_session(admin: TestClient) -> None:
    other = TestClient(create_app())
    log_in(other)
    form = {"current": PASSWORD, "password": "a brand new password"}
    assert post_form(admin, "/admin/account/password", form).status_code == 303
    assert other.get("/admin", follow_redirects=False).status_code == 303
    fresh = TestClient(create_app())
    login = {"email": "admin@example.com", "password": "a brand new password"}
    assert fresh.post("/admin/login", data=login, follow_redirects=False).status_code == 303


def test_production_never_offers_the_setup_page(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, env="production", secret_key="k" * 40)
    client = TestClient(create_app())
    assert client.get("/admin/setup").status_code == 404
    form = {"email": "first@example.com", "password": "long enough password"}
    assert client.post("/admin/setup", data=form).status_code == 404
    assert client.get("/admin/login").status_code == 200  # the form, not a redirect to setup
    with unit_of_work() as session:
        assert all_users(session) == []


def test_migrate_creates_the_configured_first_admin_once(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(
        monkeypatch, database_url=db, admin_email="Boss@Example.org", admin_password=PASSWORD
    )
    runner = CliRunner()
    first = runner.invoke(cli_app, ["migrate"])
    assert first.exit_code == 0, first.output
    assert "created the first admin: boss@example.org" in first.output
    use_settings(monkeypatch, admin_email="other@example.org")
    again = runner.invoke(cli_app, ["migrate"])
    assert "created the first admin" not in again.output
    with unit_of_work() as session:
        assert [(u.email, u.role) for u in all_users(session)] == [("boss@example.org", "admin")]
    client = TestClient(create_app())
    log_in(client, "boss@example.org")
    assert client.get("/admin").status_code == 200


def test_users_cli_creates_lists_and_makes_tokens(db: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli_app,
        ["users", "create", "ed@example.com", "--role", "editor", "--password", PASSWORD],
    )
    assert created.exit_code == 0, created.output
    refused = runner.invoke(
        cli_app, ["users", "create", "x@example.com", "--role", "owner", "--password", PASSWORD]
    )
    assert refused.exit_code != 0
    assert "role must be one of" in refused.output
    listed = runner.invoke(cli_app, ["users", "list", "--json"])
    assert [(u["email"], u["role"]) for u in json.loads(listed.output)] == [
        ("ed@example.com", "editor")
    ]
    token = runner.invoke(cli_app, ["users", "token", "ed@example.com"]).output.strip()
    api = TestClient(create_app())
    assert (
        api.get("/api/campaigns", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
