"""The page, the JSON API and the CLI make campaigns through the same service functions:
the same bad input is refused by each with the same message, and the same good input
makes the same campaign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from core.database import unit_of_work, utcnow
from publisher.audience.segments import create_segment
from publisher.campaigns.drafts import list_slugs_of
from publisher.campaigns.launch import PASSED
from publisher.campaigns.models import Campaign
from publisher.campaigns.queries import campaign_posts
from publisher.cli.main import app as cli
from publisher.web.app import app as web_app
from tests.fixtures.factories import add_announcement, add_list, add_post, add_subscribers, log_in

runner = CliRunner()


def _admin() -> tuple[TestClient, str]:
    client = TestClient(web_app)
    return client, log_in(client)


def _campaign_count() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Campaign)) or 0


def _draft() -> int:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 2)
        return add_announcement(session, "news").id


def test_a_segment_that_does_not_exist_is_refused_by_the_api_and_the_cli(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        post_id = add_post(session).id
    client, csrf = _admin()
    answer = client.post(
        "/api/campaigns",
        json={"kind": "announcement", "lists": ["news"], "post_ids": [post_id], "segment_id": 999},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 409 and answer.json()["detail"] == "no segment 999"
    args = ["campaigns", "create", "--kind", "announcement", "--list", "news"]
    result = runner.invoke(cli, [*args, "--post", str(post_id), "--segment", "999"])
    assert result.exit_code == 2 and "error: no segment 999" in result.output
    assert _campaign_count() == 0


def test_a_past_time_is_refused_by_the_page_the_api_and_the_cli(db: str) -> None:
    campaign_id = _draft()
    client, csrf = _admin()
    past = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    page = client.post(
        f"/admin/campaigns/{campaign_id}/schedule",
        data={"csrf_token": csrf, "at": past.strftime("%Y-%m-%dT%H:%M")},
    )
    assert page.status_code == 409 and PASSED in page.text
    api = client.post(
        f"/api/campaigns/{campaign_id}/schedule",
        json={"at": past.isoformat()},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 409 and api.json()["detail"] == PASSED
    args = ["campaigns", "schedule", str(campaign_id), "--at", past.isoformat()]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and f"error: {PASSED}" in result.output
    with unit_of_work() as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert (campaign.status, campaign.scheduled_at) == ("draft", None)


def test_a_local_hour_already_past_here_may_still_be_scheduled(db: str) -> None:
    campaign_id = _draft()
    with unit_of_work() as session:
        session.get_one(Campaign, campaign_id).local_time = True
    # A minute ago in UTC is still ahead on a clock further west.
    wall = (utcnow() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    args = ["campaigns", "schedule", str(campaign_id), "--at", wall, "--zone", "UTC"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output


def test_a_digest_without_posts_carries_the_same_posts_from_the_api_and_the_cli(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        recent = add_post(session, "Forum «Відбудова»")
        recent.published_at = datetime.now(UTC) - timedelta(days=1)
        old = add_post(session, "Last year's report")
        old.published_at = datetime.now(UTC) - timedelta(days=400)
    client, csrf = _admin()
    answer = client.post(
        "/api/campaigns",
        json={"kind": "digest", "lists": ["news"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 201, answer.text
    result = runner.invoke(
        cli, ["campaigns", "create", "--kind", "digest", "--list", "news", "--no-track-opens"]
    )
    assert result.exit_code == 0, result.output
    from_api, from_cli = answer.json()["id"], int(result.output.strip())
    with unit_of_work() as session:
        titles = [[post.title for post in campaign_posts(session, i)] for i in (from_api, from_cli)]
        assert titles == [["Forum «Відбудова»"], ["Forum «Відбудова»"]]
        assert session.get_one(Campaign, from_cli).track_opens is False


def test_a_segment_brings_its_lists_to_the_campaign_from_every_door(db: str) -> None:
    with unit_of_work() as session:
        add_list(session, "news")
        alerts = add_list(session, "alerts")
        post_id = add_post(session).id
        segment_id = create_segment(session, name="Alerts", list_ids=[alerts.id], rules={}).id
        used = add_announcement(session, "news").id
    client, csrf = _admin()
    answer = client.post(
        "/api/campaigns",
        json={
            "kind": "announcement",
            "lists": ["news"],
            "post_ids": [post_id],
            "segment_id": segment_id,
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 201, answer.text
    args = ["campaigns", "create", "--kind", "announcement", "--list", "news"]
    made = runner.invoke(cli, [*args, "--post", str(post_id), "--segment", str(segment_id)])
    assert made.exit_code == 0, made.output
    chosen = runner.invoke(cli, ["segments", "use", str(segment_id), "--campaign", str(used)])
    assert chosen.exit_code == 0, chosen.output
    with unit_of_work() as session:
        for campaign_id in (answer.json()["id"], int(made.output.strip()), used):
            campaign = session.get_one(Campaign, campaign_id)
            assert campaign.segment_id == segment_id
            assert list_slugs_of(session, campaign) == ["alerts", "news"]
