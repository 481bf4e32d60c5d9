"""Only reviewed content leaves: campaigns take approved or published posts only (page, API,
CLI alike), and planning re-checks, so a post sent back to review holds its campaign."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from core.database import unit_of_work, utcnow
from publisher.campaigns.launch import send_now
from publisher.campaigns.models import Campaign
from publisher.campaigns.service import CampaignError, create_campaign, resume_campaign, schedule
from publisher.cli.main import app as cli_app
from publisher.posts.input import PostInput
from publisher.posts.models import Post
from publisher.posts.service import update_post
from publisher.sending.models import Delivery
from publisher.web.app import create_app
from tests.fixtures.factories import ADMIN, add_draft, add_list, add_subscribers, log_in
from tests.fixtures.tasks import TaskRecorder
from worker import scheduled


def _campaign_count() -> int:
    with unit_of_work() as session:
        return int(session.scalar(select(func.count()).select_from(Campaign)) or 0)


@pytest.mark.parametrize("status", ["draft", "in_review"])
def test_a_campaign_refuses_an_unreviewed_post(db: str, status: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        post = add_draft(session, status=status)
        with pytest.raises(CampaignError, match="Only reviewed posts"):
            create_campaign(session, kind="announcement", list_slugs=["news"], post_ids=[post.id])
        approved = add_draft(session, status="approved")
        create_campaign(session, kind="announcement", list_slugs=["news"], post_ids=[approved.id])


def test_the_page_the_api_and_the_cli_refuse_a_draft_post_alike(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        post_id = add_draft(session, "Panel: a draft nobody approved").id
    client = TestClient(create_app())
    client.headers["X-CSRF-Token"] = log_in(client)
    page = client.post(
        "/admin/campaigns/new",
        data={"kind": "announcement", "list": "news", "post": str(post_id)},
    )
    assert page.status_code == 400
    assert "Only reviewed posts go out" in page.text and "is a draft" in page.text
    answer = client.post(
        "/api/campaigns", json={"kind": "announcement", "lists": ["news"], "post_ids": [post_id]}
    )
    assert answer.status_code == 409 and "Only reviewed posts" in answer.text
    result = CliRunner().invoke(
        cli_app,
        ["campaigns", "create", "--kind", "announcement", "--list", "news", "--post", str(post_id)],
    )
    assert result.exit_code != 0 and "Only reviewed posts" in result.output
    assert _campaign_count() == 0


def _send_back_to_review(post_id: int) -> None:
    with unit_of_work() as session:
        post = session.get(Post, post_id)
        assert post is not None
        data = PostInput.of(post)
        data.summary = "Edited after approval: the numbers changed."
        update_post(session, post=post, data=data, actor=ADMIN)
        assert post.status == "in_review"


def test_a_draft_whose_post_went_back_to_review_cannot_be_sent(db: str) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 1)
        post_id = add_draft(session, status="approved").id
        campaign_id = create_campaign(
            session, kind="announcement", list_slugs=["news"], post_ids=[post_id]
        ).id
    _send_back_to_review(post_id)
    result = CliRunner().invoke(cli_app, ["campaigns", "send", str(campaign_id)])
    assert result.exit_code != 0 and "in review" in result.output
    client = TestClient(create_app())
    client.headers["X-CSRF-Token"] = log_in(client)
    answer = client.post(f"/api/campaigns/{campaign_id}/send")
    assert answer.status_code == 409 and "in review" in " ".join(answer.json()["detail"]["reasons"])
    page = client.post(f"/admin/campaigns/{campaign_id}/send")
    assert "Not sent" in page.text and "in review" in page.text
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.status == "draft"
        with pytest.raises(CampaignError, match="in review"):
            send_now(session, campaign, actor="admin@example.com")


def test_planning_holds_a_scheduled_campaign_whose_post_went_back_to_review(
    tasks: TaskRecorder,
) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 3)
        post_id = add_draft(session, status="approved").id
        campaign = create_campaign(
            session, kind="announcement", list_slugs=["news"], post_ids=[post_id]
        )
        schedule(session, campaign, utcnow() + timedelta(minutes=5))
        campaign_id = campaign.id
    _send_back_to_review(post_id)
    client = TestClient(create_app())
    log_in(client)
    page = client.get(f"/admin/campaigns/{campaign_id}").text
    assert "Will be held when due, not sent" in page and "is in review" in page
    scheduled.start_due(utcnow() + timedelta(minutes=10))
    tasks.run_all()
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.status == "paused" and "in review" in campaign.error
        assert campaign.compiled is None
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    api = client.get(f"/api/campaigns/{campaign_id}").json()
    assert api["status"] == "paused" and "in review" in api["error"]
    assert "in review" in client.get(f"/admin/campaigns/{campaign_id}").text
    # Approved again, a resume plans and sends it.
    with unit_of_work() as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.status = "approved"
        resume_campaign(session, campaign_id)
    tasks.run_all()
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.status == "sent" and campaign.total == 3
