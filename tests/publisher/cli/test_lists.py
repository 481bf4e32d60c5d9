"""The ``herald lists`` and ``herald subscribers show`` commands, on SQLite and PostgreSQL:
text for people, ``--json`` for scripts, counts by status read back from the database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from core.database import unit_of_work
from publisher.cli.main import app as cli
from subscribers.models import MailingList, Suppression
from tests.fixtures.factories import add_subscribers

runner = CliRunner()


def herald(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def forum(db: str) -> str:
    code, output = herald(
        "lists",
        "create",
        "forum",
        "--name",
        "Find out first",
        "--double-opt-in",
        "--topic",
        "Events",
        "--topic",
        "Research",
        "--language",
        "uk",
    )
    assert code == 0, output
    with unit_of_work() as session:
        mailing_list = session.scalars(select(MailingList).where(MailingList.slug == "forum")).one()
        add_subscribers(session, mailing_list, 3, prefix="yes")
        add_subscribers(session, mailing_list, 2, status="unconfirmed", prefix="maybe")
        add_subscribers(session, mailing_list, 1, status="unsubscribed", prefix="gone")
        session.add(Suppression(email="yes0@example.com", reason="complaint"))
    return "forum"


def test_create_then_show_counts_by_status(forum: str) -> None:
    code, output = herald("lists", "show", forum, "--json")
    assert code == 0, output
    shown = json.loads(output)
    assert shown["slug"] == "forum" and shown["name"] == "Find out first"
    assert (shown["opt_in"], shown["public"], shown["language"]) == ("double", True, "uk")
    assert shown["topics"] == ["Events", "Research"]
    assert shown["counts"] == {"confirmed": 3, "unconfirmed": 2, "unsubscribed": 1, "suppressed": 1}
    assert shown["subscribe_url"] == "http://testserver/subscribe/forum"
    code, text = herald("lists", "show", forum)
    assert code == 0
    assert "confirmed   3" in text and "unconfirmed 2" in text and "suppressed  1" in text


def test_create_defaults_and_refusals(db: str) -> None:
    code, output = herald("lists", "create", "board", "--name", "Board", "--private", "--json")
    assert code == 0, output
    created = json.loads(output)
    assert (created["opt_in"], created["public"]) == ("single", False)
    assert "subscribe_url" not in created
    assert herald("lists", "create", "board", "--name", "Again")[0] == 1
    assert herald("lists", "create", "Not A Slug", "--name", "X")[0] == 1
    assert herald("lists", "create", "x", "--name", "X", "--language", "fr")[0] == 1
    assert herald("lists", "create", "y")[0] == 2  # --name is required
    assert herald("lists", "show", "nowhere")[0] == 1


def test_list_every_list(forum: str) -> None:
    herald("lists", "create", "alerts", "--name", "Alerts")
    code, output = herald("lists", "list", "--json")
    assert code == 0
    assert [(item["slug"], item["counts"]["confirmed"]) for item in json.loads(output)] == [
        ("alerts", 0),
        ("forum", 3),
    ]
    code, text = herald("lists", "list")
    assert code == 0 and "forum" in text and "3 confirmed" in text


def test_show_one_subscriber(forum: str) -> None:
    code, output = herald("subscribers", "show", "YES0@example.com", "--json")
    assert code == 0, output
    shown = json.loads(output)
    assert shown["subscriber"]["email"] == "yes0@example.com"
    assert shown["subscriber"]["status"] == "active"
    assert [(s["list"], s["status"]) for s in shown["subscriptions"]] == [("forum", "confirmed")]
    assert shown["suppression"][0]["reason"] == "complaint"
    assert "consent" in shown["subscriptions"][0] and "deliveries" in shown
    code, text = herald("subscribers", "show", "yes0@example.com")
    assert code == 0
    assert "list        forum: confirmed" in text and "suppressed  complaint" in text
    assert herald("subscribers", "show", "nobody@example.com")[0] == 1
    assert herald("subscribers", "show", "not-an-address")[0] == 2
