"""The campaign editor pages and API: editors draft, admins send and schedule."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from core.database import unit_of_work
from publisher.accounts.models import User
from publisher.campaigns.models import Campaign
from publisher.campaigns.queries import campaign_posts
from publisher.web.app import app
from tests.fixtures.factories import add_announcement, add_list, add_post, add_subscribers, log_in


def _draft() -> int:
    with unit_of_work() as session:
        people = add_subscribers(session, add_list(session), 3)
        people[0].timezone = "Asia/Tokyo"
        return add_announcement(session, "news", subject="Forum «Відбудова»").id


def _status(campaign_id: int) -> str:
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.status


def test_an_editor_can_draft_but_not_send_or_schedule(db: str) -> None:
    campaign_id = _draft()
    client = TestClient(app)
    csrf = log_in(client, "editor@example.com", "editor")
    page = client.get(f"/admin/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert (
        "Send now" not in page.text and f"/admin/campaigns/{campaign_id}/schedule" not in page.text
    )
    form = {"csrf_token": csrf, "at": "2030-01-01T09:00"}
    assert client.post(f"/admin/campaigns/{campaign_id}/send", data=form).status_code == 403
    assert client.post(f"/admin/campaigns/{campaign_id}/schedule", data=form).status_code == 403
    headers = {"X-CSRF-Token": csrf}
    assert client.post(f"/api/campaigns/{campaign_id}/send", headers=headers).status_code == 403
    answer = client.post(
        f"/api/campaigns/{campaign_id}/schedule", json={"at": "2030-01-01T09:00Z"}, headers=headers
    )
    assert answer.status_code == 403
    assert _status(campaign_id) == "draft"
    saved = client.post(
        f"/admin/campaigns/{campaign_id}/edit",
        data={
            "csrf_token": csrf,
            "list": "news",
            "post": "1",
            "subject": "New subject",
            "language": "uk",
            "track_clicks": "on",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert (campaign.subject, campaign.language) == ("New subject", "uk")
        assert (campaign.track_opens, campaign.track_clicks) == (False, True)


def test_an_admin_schedules_in_their_own_zone_and_sees_the_recipients_zones(db: str) -> None:
    campaign_id = _draft()
    client = TestClient(app)
    csrf = log_in(client)
    with unit_of_work() as session:
        session.execute(update(User).values(timezone="Europe/Kyiv"))
    page = client.get(f"/admin/campaigns/{campaign_id}")
    assert "Asia/Tokyo" in page.text and "All checks pass" in page.text
    answer = client.post(
        f"/admin/campaigns/{campaign_id}/schedule",
        data={"csrf_token": csrf, "at": "2030-12-01T09:00"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.status == "scheduled"
        assert campaign.scheduled_at == datetime(2030, 12, 1, 7, 0, tzinfo=UTC)
    page = client.get(f"/admin/campaigns/{campaign_id}")
    assert "Sun 01 Dec 2030, 09:00" in page.text  # Kyiv
    assert "Sun 01 Dec 2030, 16:00" in page.text  # Tokyo


def test_a_digest_is_created_from_the_page_in_the_chosen_order(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        first, second = add_post(session, "First"), add_post(session, "Second")
        ids = (first.id, second.id)
    client = TestClient(app)
    csrf = log_in(client, "editor@example.com", "editor")
    form = {
        "csrf_token": csrf,
        "kind": "digest",
        "list": "news",
        "post": [str(i) for i in ids],
        f"order_{ids[0]}": "2",
        f"order_{ids[1]}": "1",
        "subject": "Weekly",
    }
    answer = client.post("/admin/campaigns/new", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    with unit_of_work() as session:
        campaign = session.scalars(select(Campaign)).one()
        assert [post.title for post in campaign_posts(session, campaign.id)] == ["Second", "First"]
    page = client.get(answer.headers["location"])
    assert page.status_code == 200 and "Weekly" in page.text
    preview = client.get(f"/admin/campaigns/{campaign.id}/preview.html")
    assert preview.status_code == 200 and "Second" in preview.text
    text = client.get(f"/admin/campaigns/{campaign.id}/preview.txt")
    assert text.text.startswith("Subject: Weekly")


def test_the_api_sends_for_an_admin(db: str) -> None:
    campaign_id = _draft()
    client = TestClient(app)
    csrf = log_in(client)
    answer = client.post(f"/api/campaigns/{campaign_id}/send", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "sending"
    again = client.post(f"/api/campaigns/{campaign_id}/send", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409
