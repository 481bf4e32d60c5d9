"""Checks before sending: what blocks and what warns, enforced by the API and the CLI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from core.database import unit_of_work
from publisher.campaigns import checks
from publisher.campaigns.checks import run_checks
from publisher.campaigns.models import Campaign
from publisher.campaigns.service import create_campaign
from publisher.cli.main import app
from publisher.posts.models import Post
from publisher.sending.messages import compile_campaign
from publisher.web.app import app as web_app
from tests.fixtures.factories import add_announcement, add_list, add_subscribers, log_in


def _findings(campaign_id: int) -> dict[str, str]:
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return {finding.code: finding.level for finding in run_checks(session, campaign)}


def test_a_plain_announcement_passes(db: str) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 3)
        campaign_id = add_announcement(session, "news").id
    assert _findings(campaign_id) == {}


def test_an_empty_digest_blocks(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        campaign_id = create_campaign(session, kind="digest", list_slugs=["news"], post_ids=[]).id
    assert _findings(campaign_id) == {"empty": "block"}


def test_subject_too_long_warns_and_empty_blocks(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        long_one = add_announcement(session, "news", subject="Відбудова " * 9).id
        empty = add_announcement(session, "news").id
        post = session.scalars(select(Post).order_by(Post.id.desc())).first()
        assert post is not None
        post.title = "   "
    assert _findings(long_one) == {"subject": "warn"}
    assert _findings(empty)["subject"] == "block"


def test_images_without_alt_and_broken_post_links_warn(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        campaign = add_announcement(session, "news")
        post = session.scalars(select(Post)).one()
        post.body = (
            "![](https://cdn.example.org/photo.jpg)\n\n"
            "See [the forum](http://testserver/posts/forum) and "
            "[the missing one](http://testserver/posts/no-such-post)."
        )
        campaign_id = campaign.id
    assert _findings(campaign_id) == {"alt": "warn", "link": "warn"}
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        messages = [finding.message for finding in run_checks(session, campaign)]
    assert any("no-such-post" in message for message in messages)
    assert not any("/posts/forum" in message for message in messages)


def test_a_missing_unsubscribe_link_blocks(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with unit_of_work() as session:
        add_list(session)
        campaign_id = add_announcement(session, "news").id
    real = checks.compile_campaign

    def template_without_unsubscribe(*args: Any, **kwargs: Any) -> dict[str, Any]:
        snapshot = real(*args, **kwargs)
        for version in snapshot["languages"].values():
            for part in ("html", "text"):
                version[part] = version[part].replace("{{ unsubscribe_url }}", "https://x.example/")
        return snapshot

    monkeypatch.setattr(checks, "compile_campaign", template_without_unsubscribe)
    assert _findings(campaign_id) == {"unsubscribe": "block"}


def test_send_and_schedule_are_refused_with_the_reasons(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        campaign_id = create_campaign(session, kind="digest", list_slugs=["news"], post_ids=[]).id
    client = TestClient(web_app)
    csrf = log_in(client)
    headers = {"X-CSRF-Token": csrf}
    answer = client.post(f"/api/campaigns/{campaign_id}/send", headers=headers)
    assert answer.status_code == 409
    assert "empty" in " ".join(answer.json()["detail"]["reasons"])
    answer = client.post(
        f"/api/campaigns/{campaign_id}/schedule",
        json={"at": "2030-01-01T09:00+02:00"},
        headers=headers,
    )
    assert answer.status_code == 409
    result = CliRunner().invoke(app, ["campaigns", "send", str(campaign_id)])
    assert result.exit_code != 0
    assert "blocked" in result.output and "empty" in result.output
    with unit_of_work() as session:
        assert session.get(Campaign, campaign_id).status == "draft"  # type: ignore[union-attr]


def test_a_warning_does_not_block_sending(db: str) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 1)
        campaign_id = add_announcement(session, "news", subject="x" * 90).id
    result = CliRunner().invoke(app, ["campaigns", "send", str(campaign_id)])
    assert result.exit_code == 0, result.output
    assert "warn" in result.output
    with unit_of_work() as session:
        assert session.get(Campaign, campaign_id).status == "sending"  # type: ignore[union-attr]


def _inflated(monkeypatch: pytest.MonkeyPatch, cyrillic_bytes: int) -> None:
    """Every compiled HTML grows by a Ukrainian paragraph of about ``cyrillic_bytes``."""
    real = compile_campaign
    paragraph = "<p>" + "Відбудова та безпека. " * (cyrillic_bytes // 40) + "</p>"

    def inflated(*args: Any, **kwargs: Any) -> dict[str, Any]:
        snapshot = real(*args, **kwargs)
        for version in snapshot["languages"].values():
            version["html"] = version["html"].replace("</body>", paragraph + "</body>", 1)
        return snapshot

    monkeypatch.setattr(checks, "compile_campaign", inflated)


def _sized_campaign() -> int:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 1)
        return add_announcement(session, "news").id


def test_html_is_judged_by_its_size_as_sent(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id = _sized_campaign()
    _inflated(monkeypatch, 55_000)
    assert _findings(campaign_id) == {"size": "warn"}
    # Under 100 KB as written, over it once base64-encoded: what travels is what counts.
    _inflated(monkeypatch, 70_000)
    with unit_of_work() as session:
        report = checks.check_campaign(session, session.get(Campaign, campaign_id))  # type: ignore[arg-type]
    (size,) = report.sizes
    assert size.decoded_bytes < 100_000 < size.encoded_bytes
    assert size.encoding == "base64"
    assert {finding.code: finding.level for finding in report.findings} == {"size": "block"}


def test_sizes_show_in_the_api_and_cli_and_a_large_html_blocks_sending(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = _sized_campaign()
    client = TestClient(web_app)
    headers = {"X-CSRF-Token": log_in(client)}
    plain = client.get(f"/api/campaigns/{campaign_id}/checks").json()
    assert plain["findings"] == []
    (size,) = plain["sizes"]
    assert size["language"] == "en" and 0 < size["decoded_bytes"] <= size["encoded_bytes"]
    page = client.get(f"/admin/campaigns/{campaign_id}")
    assert 'data-language="en"' in page.text and "as sent" in page.text

    _inflated(monkeypatch, 120_000)
    answer = client.post(f"/api/campaigns/{campaign_id}/send", headers=headers)
    assert answer.status_code == 409
    assert "Gmail clips it" in " ".join(answer.json()["detail"]["reasons"])
    checked = CliRunner().invoke(app, ["campaigns", "check", str(campaign_id)])
    assert checked.exit_code == 1
    assert "html en:" in checked.output and "KB as sent (base64)" in checked.output
    previewed = CliRunner().invoke(app, ["campaigns", "preview", str(campaign_id)])
    assert previewed.exit_code == 0 and "html en: " in previewed.output
    scheduled = CliRunner().invoke(
        app, ["campaigns", "schedule", str(campaign_id), "--at", "2030-01-01T09:00+02:00"]
    )
    assert scheduled.exit_code == 2 and "blocked" in scheduled.output
    with unit_of_work() as session:
        assert session.get(Campaign, campaign_id).status == "draft"  # type: ignore[union-attr]
