"""The statistics as people and programs read them: pages with charts and tables, JSON, CSV,
``herald stats``, and /metrics."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from core.database import unit_of_work
from core.providers.events import ProviderEvent
from publisher.campaigns.models import Campaign
from publisher.cli.main import app as cli
from publisher.sending.deliveries import plan_deliveries
from publisher.sending.models import Delivery
from publisher.stats import health
from publisher.tracking.provider_events import record_events
from publisher.web.app import create_app
from subscribers.models import MailingList
from tests.fixtures.factories import add_announcement, add_list, add_subscribers, log_in

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUBJECT = "Форум «Відбудова» — 復興フォーラム"


@pytest.fixture
def campaign_id(db: str) -> int:
    """A sent campaign to four readers: 3 delivered, 1 hard bounce, 2 opens, 1 click."""
    with unit_of_work() as session:
        news = add_list(session, "news")
        add_subscribers(session, news, 4)
        campaign = add_announcement(session, "news", subject=SUBJECT)
        plan_deliveries(session, campaign.id)
        session.execute(update(Delivery).values(status="sent", sent_at=T0))
        session.execute(update(Campaign).values(status="sent", started_at=T0, finished_at=T0))
        ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
        events = [ProviderEvent(f"dl{i}", "delivered", i, "", T0) for i in ids[:3]]
        events += [
            ProviderEvent("b", "bounced", ids[3], "", T0, bounce="hard"),
            ProviderEvent("o1", "opened", ids[0], "", T0),
            ProviderEvent("o2", "opened", ids[1], "", T0),
            ProviderEvent("c1", "clicked", ids[0], "", T0, details={"url": "=cmd|' /C calc'!A0"}),
        ]
        record_events(session, "postmark", events)
        health.record_call(session, health.ProviderCall("postmark", 4, 4, 120), at=T0)
        return campaign.id


def test_pages_show_charts_and_tables_to_editors(campaign_id: int) -> None:
    client = TestClient(create_app())
    assert client.get("/admin/stats", follow_redirects=False).status_code in (302, 303, 307)
    assert client.get("/api/stats/campaigns").status_code == 401
    log_in(client, "editor@example.com", role="editor")
    dashboard = client.get("/admin/stats")
    assert dashboard.status_code == 200
    assert (
        "<svg" in dashboard.text and 'role="img"' in dashboard.text and "<table" in dashboard.text
    )
    assert SUBJECT in dashboard.text and "Bounce rate 25.00% is above 2%" in dashboard.text
    page = client.get(f"/admin/stats/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert "Events per hour" in page.text and "From recipients to clicks" in page.text
    assert "Outgoing webhooks" not in page.text  # admins only
    assert client.get("/admin/stats/providers").status_code == 200
    assert client.get("/admin/stats/campaigns/99999").status_code == 404


def test_the_api_cli_and_csv_give_the_same_numbers(campaign_id: int) -> None:
    client = TestClient(create_app())
    log_in(client)
    document = client.get(f"/api/stats/campaigns/{campaign_id}").json()
    report = document["report"]
    expected = {
        "recipients": 4,
        "sent": 4,
        "delivered": 3,
        "bounced_hard": 1,
        "opened": 2,
        "clicked": 1,
    }
    assert {name: report[name] for name in expected} == expected
    assert report["rates"]["opened"] == round(2 / 3, 4) and report["rates"]["bounced"] == 0.25
    assert document["timeline"][0]["counts"]["delivered"] == 3

    result = CliRunner().invoke(cli, ["stats", str(campaign_id), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["report"] == report
    text = CliRunner().invoke(cli, ["stats", str(campaign_id)]).output
    assert SUBJECT in text and "Opened (unique)" in text
    assert CliRunner().invoke(cli, ["stats", "99999"]).exit_code == 1

    exported = client.get("/admin/stats/campaigns.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert rows[0]["subject"] == SUBJECT and rows[0]["delivered"] == "3"
    assert rows[0]["opened_rate"] == str(round(2 / 3, 4))
    links = client.get(f"/admin/stats/campaigns/{campaign_id}/links.csv").text
    assert "'=cmd" in links  # never a live formula in a spreadsheet


def test_a_list_page_shows_its_days_and_campaigns(campaign_id: int) -> None:
    client = TestClient(create_app())
    log_in(client)
    with unit_of_work() as session:
        list_id = session.scalars(select(MailingList.id).where(MailingList.slug == "news")).one()
    page = client.get(f"/admin/stats/lists/{list_id}")
    assert page.status_code == 200 and "Engagement over recent campaigns" in page.text
    assert SUBJECT in page.text
    api = client.get(f"/api/stats/lists/{list_id}").json()
    assert len(api["days"]) == 30 and api["campaigns"][0]["delivered"] == 3
    assert client.get(f"/admin/stats/lists/{list_id}/days.csv").status_code == 200
