"""Privacy requests, on SQLite and PostgreSQL: everything Herald holds on one address as
JSON, and its erasure, after which no table holds the address or the name, only a hashed
suppression (CLI and the admins' JSON API)."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from core.activity import record_activity
from core.database import get_engine, unit_of_work
from core.providers.events import ProviderEvent
from publisher.cli.main import app as cli
from publisher.sending.models import Delivery
from publisher.tracking.models import DeliveryEvent
from publisher.tracking.provider_events import record_events
from publisher.web.app import create_app
from subscribers.imports import ImportJob, ImportRejection, create_import, run_import
from subscribers.lists import create_list
from subscribers.models import Subscriber, Subscription, Suppression
from subscribers.suppression import address_hash
from subscribers.unsubscribe import unsubscribe_token
from tests.fixtures.factories import add_announcement, log_in

EMAIL = "olena@example.org"
NAME = "Олена Коваленко"
AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def held(db: str) -> int:
    """A subscriber with a consent record, a delivery, tracked events and activity; also an
    event naming the address that matched no delivery (a bounced confirmation) and a row of
    an import report that rejected it."""
    with unit_of_work() as session:
        news = create_list(session, slug="news", name="News", topics=["Events"])
        person = Subscriber(email=EMAIL, name=NAME, language="uk", attributes={"city": "Київ"})
        session.add(person)
        session.flush()
        session.add(
            Subscription(
                subscriber_id=person.id,
                list_id=news.id,
                status="confirmed",
                consent_at=AT,
                consent_source="form",
                consent_ip="203.0.113.5",
                consent_page="https://example.org/subscribe",
                topics=["Events"],
            )
        )
        record_activity(session, "subscriber.subscribed", list_id=news.id, subscriber_id=person.id)
        job = ImportJob(list_id=news.id, file_name="members.csv")
        session.add(job)
        session.flush()
        session.add(ImportRejection(job_id=job.id, line=7, email=" Olena@Example.org", reason="x"))
        campaign = add_announcement(session, "news", subject="Forum «Відбудова»")
        delivery = Delivery(campaign_id=campaign.id, subscriber_id=person.id, status="sent")
        session.add(delivery)
        session.flush()
        session.add_all(
            [
                DeliveryEvent(
                    source="herald",
                    event_id=f"open:{delivery.id}",
                    delivery_id=delivery.id,
                    campaign_id=campaign.id,
                    type="opened",
                    occurred_at=AT,
                    details={"user_agent": "Thunderbird"},
                ),
                DeliveryEvent(
                    source="postmark",
                    event_id="bounce-1",
                    type="bounced",
                    bounce="hard",
                    recipient=EMAIL,
                    occurred_at=AT,
                    details={"Email": EMAIL},
                ),
            ]
        )
        return person.id


def _tables_mentioning(*needles: str) -> dict[str, int]:
    """How many rows of each table contain any of ``needles`` anywhere."""
    engine = get_engine()
    found: dict[str, int] = {}
    with engine.connect() as connection:
        for table in sa.inspect(engine).get_table_names():
            rows = connection.execute(sa.text(f'SELECT * FROM "{table}"')).all()
            hits = sum(1 for row in rows if any(needle in repr(tuple(row)) for needle in needles))
            if hits:
                found[table] = hits
    return found


def test_export_data_holds_everything_about_the_address(held: int) -> None:
    result = CliRunner().invoke(cli, ["subscribers", "export-data", "Olena@Example.org"])
    assert result.exit_code == 0, result.output
    assert NAME in result.output  # not escaped
    data = json.loads(result.output)
    assert data["email"] == EMAIL
    assert data["subscriber"]["name"] == NAME
    assert data["subscriber"]["attributes"] == {"city": "Київ"}
    [subscription] = data["subscriptions"]
    assert subscription["list"] == "news" and subscription["topics"] == ["Events"]
    assert subscription["consent"] == {
        "at": AT.isoformat(),
        "source": "form",
        "ip": "203.0.113.5",
        "page": "https://example.org/subscribe",
    }
    assert [event["kind"] for event in data["activity"]] == ["subscriber.subscribed"]
    [delivery] = data["deliveries"]
    assert delivery["status"] == "sent" and delivery["subject"] == "Forum «Відбудова»"
    assert {event["type"] for event in data["delivery_events"]} == {"opened", "bounced"}
    assert data["suppression"] == []
    assert data["import_rejections"] == [{"job_id": 1, "line": 7, "reason": "x"}]


def test_erasure_leaves_only_a_hashed_suppression(held: int) -> None:
    assert _tables_mentioning(EMAIL, NAME)  # the check finds what is there
    result = CliRunner().invoke(cli, ["subscribers", "erase", EMAIL, "--yes"])
    assert result.exit_code == 0, result.output
    assert _tables_mentioning(EMAIL, NAME, "Olena@Example", "203.0.113.5", "Thunderbird") == {}
    with unit_of_work() as session:
        [entry] = session.scalars(select(Suppression)).all()
        assert (entry.email, entry.email_hash, entry.reason) == (
            None,
            address_hash(EMAIL),
            "erased",
        )
        assert session.scalar(select(sa.func.count()).select_from(Delivery)) == 0
    exported = json.loads(CliRunner().invoke(cli, ["subscribers", "export-data", EMAIL]).output)
    assert exported["subscriber"] is None and exported["deliveries"] == []
    assert exported["suppression"][0]["reason"] == "erased"
    assert exported["suppression"][0]["hashed"] is True
    again = CliRunner().invoke(cli, ["subscribers", "erase", EMAIL, "--yes"])
    assert again.exit_code == 0
    with unit_of_work() as session:
        assert session.scalar(select(sa.func.count()).select_from(Suppression)) == 1


def test_erasure_asks_first_and_old_links_stop_working(held: int) -> None:
    declined = CliRunner().invoke(cli, ["subscribers", "erase", EMAIL], input="n\n")
    assert declined.exit_code == 1
    with unit_of_work() as session:
        assert session.get(Subscriber, held) is not None
    CliRunner().invoke(cli, ["subscribers", "erase", EMAIL], input="y\n")
    client = TestClient(create_app())
    token = unsubscribe_token(held, (1,), None)
    assert client.get(f"/preferences/{token}").status_code == 400
    assert client.post(f"/unsubscribe/{token}").status_code == 400


def test_erasing_an_unknown_address_still_suppresses_it(db: str) -> None:
    result = CliRunner().invoke(cli, ["subscribers", "erase", "never@example.org", "--yes"])
    assert result.exit_code == 0 and "no subscriber" in result.output
    with unit_of_work() as session:
        hashes = session.scalars(select(Suppression.email_hash)).all()
    assert hashes == [address_hash("never@example.org")]


def test_the_admin_api_exports_and_erases(held: int) -> None:
    client = TestClient(create_app())
    body = {"email": EMAIL}
    for path in ("/api/subscribers/export-data", "/api/subscribers/erase"):
        assert client.post(path, json=body).status_code == 401
    client.headers["X-CSRF-Token"] = log_in(client, "editor@example.com", "editor")
    assert client.post("/api/subscribers/erase", json=body).status_code == 403
    client.cookies.clear()
    client.headers["X-CSRF-Token"] = log_in(client)
    exported = client.post("/api/subscribers/export-data", json=body)
    assert exported.status_code == 200 and exported.json()["subscriber"]["id"] == held
    assert client.post("/api/subscribers/erase", json={"email": "nope"}).status_code == 422
    erased = client.post("/api/subscribers/erase", json=body)
    assert erased.status_code == 200
    assert erased.json() == {
        "erased": True,
        "subscriber_id": held,
        "email_hash": address_hash(EMAIL),
    }
    assert _tables_mentioning(EMAIL, NAME) == {}


def test_a_late_bounce_or_an_import_does_not_write_an_erased_address_back(db: str) -> None:
    assert CliRunner().invoke(cli, ["subscribers", "erase", EMAIL, "--yes"]).exit_code == 0
    bounce = ProviderEvent(
        event_id="late-1",
        type="bounced",
        delivery_id=None,
        recipient=EMAIL,
        occurred_at=AT,
        bounce="hard",
    )
    with unit_of_work() as session:
        create_list(session, slug="news", name="News")
        record_events(session, "postmark", [bounce])
    with unit_of_work() as session:
        job = create_import(session, list_slug="news", file_name="people.csv", path=_csv(EMAIL))
    with unit_of_work() as session:
        run_import(session, job.id)
    with unit_of_work() as session:
        suppressed = session.execute(select(Suppression.email, Suppression.email_hash)).all()
        rejected = session.scalars(select(ImportRejection.email)).all()
        people = session.scalars(select(Subscriber.email)).all()
    assert suppressed == [(None, address_hash(EMAIL))]
    assert rejected == [""]
    assert people == []


def _csv(*emails: str) -> Path:
    path = Path(tempfile.mkdtemp()) / "people.csv"
    path.write_text("email\n" + "".join(f"{email}\n" for email in emails), encoding="utf-8")
    return path
