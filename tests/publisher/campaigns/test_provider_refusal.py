"""A campaign cannot start while the email provider cannot be built from the settings: the
page, the JSON API and the CLI refuse alike, with the reason, and the campaign stays a draft."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.database import unit_of_work, utcnow
from publisher.campaigns.models import Campaign
from publisher.cli.main import app as cli
from publisher.web.app import app as web_app
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers, log_in

REASON = "HERALD_POSTMARK_SERVER_TOKEN must be set"


@pytest.fixture
def broken_provider(db: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """A draft ready to send, and settings naming Postmark without its token."""
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 2)
        campaign_id = add_announcement(session, "news").id
    use_settings(monkeypatch, provider="postmark", postmark_server_token="")
    return campaign_id


def _status(campaign_id: int) -> tuple[str, object]:
    with unit_of_work() as session:
        campaign = session.get_one(Campaign, campaign_id)
        return campaign.status, campaign.scheduled_at


def test_the_page_the_api_and_the_cli_refuse_to_send(broken_provider: int) -> None:
    campaign_id = broken_provider
    client = TestClient(web_app)
    csrf = log_in(client)
    page = client.post(f"/admin/campaigns/{campaign_id}/send", data={"csrf_token": csrf})
    assert page.status_code == 409 and REASON in page.text
    api = client.post(f"/api/campaigns/{campaign_id}/send", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 409, api.text
    assert api.json()["detail"].startswith("the email provider cannot send: " + REASON)
    result = CliRunner().invoke(cli, ["campaigns", "send", str(campaign_id)])
    assert result.exit_code == 2 and f"error: the email provider cannot send: {REASON}" in (
        result.stderr
    )
    assert "is sending" not in result.stdout
    assert _status(campaign_id) == ("draft", None)


def test_the_page_the_api_and_the_cli_refuse_to_schedule(broken_provider: int) -> None:
    campaign_id = broken_provider
    client = TestClient(web_app)
    csrf = log_in(client)
    later = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    page = client.post(
        f"/admin/campaigns/{campaign_id}/schedule",
        data={"csrf_token": csrf, "at": later.strftime("%Y-%m-%dT%H:%M")},
    )
    assert page.status_code == 409 and REASON in page.text
    api = client.post(
        f"/api/campaigns/{campaign_id}/schedule",
        json={"at": later.isoformat()},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 409 and REASON in api.json()["detail"]
    result = CliRunner().invoke(
        cli, ["campaigns", "schedule", str(campaign_id), "--at", later.isoformat()]
    )
    assert result.exit_code == 2 and REASON in result.stderr
    assert _status(campaign_id) == ("draft", None)


def test_a_fallback_that_cannot_be_built_is_refused_too(
    broken_provider: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, provider="outbox", fallback_provider="resend", resend_api_key="")
    result = CliRunner().invoke(cli, ["campaigns", "send", str(broken_provider)])
    assert result.exit_code == 2 and "HERALD_RESEND_API_KEY must be set" in result.stderr
    assert _status(broken_provider) == ("draft", None)


def test_with_the_token_set_the_same_campaign_sends(
    broken_provider: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, postmark_server_token="a-token")
    result = CliRunner().invoke(cli, ["campaigns", "send", str(broken_provider)])
    assert result.exit_code == 0, result.output
    assert _status(broken_provider)[0] == "sending"


def test_a_test_send_is_refused_too_at_every_door(broken_provider: int) -> None:
    campaign_id = broken_provider
    client = TestClient(web_app)
    csrf = log_in(client)
    page = client.post(
        f"/admin/campaigns/{campaign_id}/test", data={"csrf_token": csrf, "to": "ed@example.org"}
    )
    assert page.status_code == 409 and REASON in page.text
    api = client.post(
        f"/api/campaigns/{campaign_id}/test",
        json={"to": ["ed@example.org"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 409 and REASON in api.json()["detail"]
    result = CliRunner().invoke(cli, ["campaigns", "test", str(campaign_id), "--to", "ed@x.org"])
    assert result.exit_code == 2 and REASON in result.stderr
    assert "queued" not in result.stdout
