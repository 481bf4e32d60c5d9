"""Suppression, on SQLite and PostgreSQL: hard bounces, complaints and erasures keep an
address out of every door (forms, the API, confirmation links, imports' check) until an
admin lifts it explicitly, with a reason, in the audit log (CLI or JSON API)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from core.audit import AuditEntry
from core.database import unit_of_work
from core.tasks import TaskName
from publisher.audience.privacy import erase_address
from publisher.cli.main import app as cli
from subscribers.lists import create_list
from subscribers.models import Suppression
from subscribers.suppression import address_hash, is_suppressed, suppressed_addresses
from tests.fixtures.factories import log_in
from tests.fixtures.mailroom import (
    Mailroom,
    confirm_url,
    everything,
    subscriber_id,
    subscription,
)


@pytest.fixture
def forum(db: str) -> int:
    with unit_of_work() as session:
        return create_list(session, slug="forum", name="Forum", opt_in="double").id


def _suppress(email: str, reason: str = "hard_bounce") -> None:
    with unit_of_work() as session:
        session.add(Suppression(email=email, reason=reason))


def _audit(action: str) -> list[AuditEntry]:
    with unit_of_work() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_suppressed_addresses_match_the_address_or_its_hash(db: str) -> None:
    _suppress("bounced@example.org")
    with unit_of_work() as session:
        erase_address(session, "erased@example.org", actor="test")
    with unit_of_work() as session:
        wanted = ["bounced@example.org", "erased@example.org", "fine@example.org"]
        assert suppressed_addresses(session, wanted) == {
            "bounced@example.org",
            "erased@example.org",
        }
        assert suppressed_addresses(session, []) == set()
        stored = session.execute(select(Suppression.email, Suppression.email_hash)).all()
    assert ("erased@example.org", None) not in stored
    assert (None, address_hash("erased@example.org")) in stored


def test_neither_form_nor_api_brings_back_a_suppressed_or_erased_address(
    client: TestClient, forum: int, mailroom: Mailroom
) -> None:
    _suppress("bounced@example.org")
    with unit_of_work() as session:
        erase_address(session, "erased@example.org", actor="test")
    before = everything()
    for email in ("Bounced@Example.org", "erased@example.org"):
        assert client.post("/subscribe/forum", data={"email": email}).status_code == 200
        assert client.post("/api/subscribe/forum", json={"email": email}).status_code == 202
    assert everything() == before
    assert mailroom.tasks == []


def test_a_confirmation_link_is_refused_once_the_address_is_suppressed(
    client: TestClient, forum: int, mailroom: Mailroom
) -> None:
    client.post("/subscribe/forum", data={"email": "anna@example.org"})
    mailroom.run()
    message = mailroom.message("confirm", forum, subscriber_id("anna@example.org"))
    assert message is not None
    _suppress("anna@example.org", "complaint")  # the confirmation bounced, say
    refused = client.post(confirm_url(message))
    assert refused.status_code == 400
    pending = subscription("anna@example.org", forum)
    assert pending is not None and pending.status == "unconfirmed"


def test_a_suppressed_address_gets_no_confirmation_already_queued(
    client: TestClient, forum: int, mailroom: Mailroom
) -> None:
    client.post("/subscribe/forum", data={"email": "anna@example.org"})
    _suppress("anna@example.org")
    mailroom.run()
    assert mailroom.sent() == []


def test_lifting_needs_a_reason_and_is_audited(
    client: TestClient, forum: int, mailroom: Mailroom
) -> None:
    _suppress("anna@example.org")
    runner = CliRunner()
    missing = runner.invoke(cli, ["subscribers", "unsuppress", "anna@example.org"])
    assert missing.exit_code == 2
    blank = runner.invoke(cli, ["subscribers", "unsuppress", "anna@example.org", "--reason", " "])
    assert blank.exit_code == 2
    with unit_of_work() as session:
        assert is_suppressed(session, "anna@example.org")
    lifted = runner.invoke(
        cli, ["subscribers", "unsuppress", "ANNA@example.org", "--reason", "asked us by phone"]
    )
    assert lifted.exit_code == 0, lifted.output
    assert "hard_bounce" in lifted.output
    [entry] = _audit("suppression.lift")
    assert (entry.actor, entry.object_id) == ("cli", address_hash("anna@example.org"))
    assert entry.details == {"reason": "asked us by phone", "was": ["hard_bounce"]}
    assert "anna@example.org" not in repr(entry.details)
    again = runner.invoke(cli, ["subscribers", "unsuppress", "anna@example.org", "--reason", "x"])
    assert again.exit_code == 1

    client.post("/subscribe/forum", data={"email": "anna@example.org"})
    # a fresh double opt-in
    assert [name for name, _ in mailroom.tasks] == [TaskName.SEND_CONFIRMATIONS]


def test_an_erased_address_can_come_back_only_after_an_admin_lifts_it(
    client: TestClient, forum: int, mailroom: Mailroom
) -> None:
    with unit_of_work() as session:
        erase_address(session, "anna@example.org", actor="test")
    client.post("/subscribe/forum", data={"email": "anna@example.org"})
    assert subscription("anna@example.org", forum) is None
    result = CliRunner().invoke(
        cli, ["subscribers", "unsuppress", "anna@example.org", "--reason", "came back in person"]
    )
    assert result.exit_code == 0 and "erased" in result.output
    client.post("/subscribe/forum", data={"email": "anna@example.org"})
    back = subscription("anna@example.org", forum)
    assert back is not None and back.status == "unconfirmed"


def test_the_admin_api_lifts_a_suppression(client: TestClient, forum: int) -> None:
    _suppress("anna@example.org", "complaint")
    body = {"email": "anna@example.org", "reason": "complained by mistake"}
    assert client.post("/api/subscribers/unsuppress", json=body).status_code == 401
    client.headers["X-CSRF-Token"] = log_in(client, "editor@example.com", "editor")
    assert client.post("/api/subscribers/unsuppress", json=body).status_code == 403
    client.cookies.clear()
    client.headers["X-CSRF-Token"] = log_in(client)
    assert (
        client.post("/api/subscribers/unsuppress", json={**body, "reason": "  "}).status_code == 422
    )
    lifted = client.post("/api/subscribers/unsuppress", json=body)
    assert lifted.status_code == 200
    assert lifted.json() == {"lifted": True, "was": ["complaint"]}
    [entry] = _audit("suppression.lift")
    assert entry.actor == "admin@example.com"
    assert client.post("/api/subscribers/unsuppress", json=body).status_code == 404
