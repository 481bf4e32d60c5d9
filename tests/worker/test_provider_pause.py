"""A worker that cannot build its provider pauses the campaign with the reason, instead of
raising on every try while the admin sees 0%; resumed once the settings are fixed, it sends.

Once through real processes (a Celery worker, the ``herald`` command, the sandbox's Postmark),
once through the flows the worker's tasks call (the in-memory dispatcher), the scheduler tick
included.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.database import unit_of_work
from core.tasks import TaskName
from publisher.campaigns.models import Campaign
from publisher.campaigns.service import resume_campaign, start_sending
from publisher.sending.deliveries import delivery_counts
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from tests.fixtures.processes import (
    celery_worker,
    herald,
    herald_env,
    sandbox_received,
    sandbox_server,
    wait_until,
)
from tests.fixtures.tasks import TaskRecorder
from worker import planning, scheduled

REASON = "HERALD_POSTMARK_SERVER_TOKEN must be set"


def _seed(recipients: int) -> int:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), recipients)
        return add_announcement(session, "news").id


def _campaign(campaign_id: int) -> tuple[str, str]:
    with unit_of_work() as session:
        row = session.execute(
            select(Campaign.status, Campaign.error).where(Campaign.id == campaign_id)
        ).one()
        return row.status, row.error


def test_a_real_worker_without_its_token_pauses_then_sends_after_a_resume(
    sqlite_db: str, tmp_path: Path
) -> None:
    campaign_id = _seed(30)
    with sandbox_server(tmp_path) as provider_url:
        settings = {
            "database_url": sqlite_db,
            "broker_url": f"sqla+sqlite:///{tmp_path}/broker.sqlite",
            "provider": "postmark",
            "provider_url": provider_url,
            "batch_size": "10",
            "env": "test",
        }
        # The command line was given the token; the worker's environment lacks it.
        cli_env = herald_env(**settings, postmark_server_token="sandbox-token")
        broken = herald_env(**settings, postmark_server_token="")
        with celery_worker(broken, tmp_path, name="broken"):
            sent = herald("campaigns", "send", str(campaign_id), env=cli_env, cwd=tmp_path)
            assert sent.returncode == 0, sent.stderr
            wait_until(lambda: _campaign(campaign_id)[0] == "paused", timeout=60, what="pause")
        error = _campaign(campaign_id)[1]
        assert REASON in error and error.startswith("paused: the email provider cannot send")
        shown = herald("campaigns", "show", str(campaign_id), env=cli_env, cwd=tmp_path)
        assert f"error     {error}" in shown.stdout
        with celery_worker(cli_env, tmp_path, name="fixed"):
            resumed = herald("campaigns", "resume", str(campaign_id), env=cli_env, cwd=tmp_path)
            assert resumed.returncode == 0, resumed.stderr
            wait_until(lambda: _campaign(campaign_id)[0] == "sent", timeout=120, what="sent")
        received = sandbox_received(provider_url, campaign_id)
    assert _campaign(campaign_id) == ("sent", "")
    assert len(received) == 30 and set(received.values()) == {1}


def _counts(campaign_id: int) -> dict[str, int]:
    with unit_of_work() as session:
        return delivery_counts(session, [campaign_id])[campaign_id]


def _break_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, provider="postmark", postmark_server_token="")
    planning.current_provider.cache_clear()  # as a worker restarted with these settings


def _fix_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, provider="outbox")
    planning.current_provider.cache_clear()


def _start(campaign_id: int) -> None:
    with unit_of_work() as session:
        start_sending(session, session.get_one(Campaign, campaign_id))


def _resume(campaign_id: int) -> None:
    with unit_of_work() as session:
        resume_campaign(session, campaign_id)


def test_planning_pauses_and_a_resume_plans_and_sends(
    tasks: TaskRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = _seed(3)
    _break_the_provider(monkeypatch)
    _start(campaign_id)
    tasks.run_all()
    status, error = _campaign(campaign_id)
    assert status == "paused" and REASON in error
    assert _counts(campaign_id) == {}
    _fix_the_provider(monkeypatch)
    _resume(campaign_id)
    tasks.run_all()
    assert _campaign(campaign_id) == ("sent", "")
    assert _counts(campaign_id) == {"sent": 3}


def test_a_batch_pauses_leaving_its_rows_queued_and_a_resume_sends_them(
    tasks: TaskRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = _seed(3)
    _start(campaign_id)
    tasks.run_one(*tasks.tasks.pop(0))  # planned with the outbox; its batch waits
    assert tasks.names() == [TaskName.SEND_BATCH]
    _break_the_provider(monkeypatch)
    tasks.run_all()
    status, error = _campaign(campaign_id)
    assert status == "paused" and REASON in error
    assert _counts(campaign_id) == {"queued": 3}
    _fix_the_provider(monkeypatch)
    _resume(campaign_id)
    tasks.run_all()
    assert _campaign(campaign_id) == ("sent", "")
    assert _counts(campaign_id) == {"sent": 3}


def test_the_scheduler_tick_pauses_sending_campaigns_instead_of_raising(
    tasks: TaskRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = _seed(2)
    _start(campaign_id)
    _break_the_provider(monkeypatch)
    scheduled.tick()
    status, error = _campaign(campaign_id)
    assert status == "paused" and REASON in error
    scheduled.tick()  # and again, quietly: nothing is sending any more
    assert _campaign(campaign_id) == (status, error)
