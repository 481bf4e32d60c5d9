"""Campaign control and progress: pause, resume, cancel and what admins see, on SQLite and
PostgreSQL, through the services, the worker's flows, the CLI, the JSON API and the admin page.

Tasks are captured instead of going to a broker; every outcome is read back from the database.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.database import unit_of_work, utcnow
from core.tasks import TaskName
from publisher.accounts.users import create_api_token
from publisher.campaigns import service as campaigns
from publisher.campaigns.models import CAMPAIGN_STATUSES, Campaign
from publisher.campaigns.progress import campaign_progress, duration_text
from publisher.campaigns.service import (
    CampaignNotFound,
    CampaignStateError,
    start_sending,
)
from publisher.cli.main import app as cli_app
from publisher.sending.deliveries import delivery_counts
from publisher.sending.models import Delivery
from publisher.web.app import create_app
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers, add_user, log_in
from tests.fixtures.tasks import TaskRecorder, recording
from worker import planning, scheduled, sending

Dispatched = list[tuple[str, list[Any]]]

ALLOWED = {
    ("pause", "sending"): "paused",
    ("resume", "paused"): "sending",
    ("cancel", "draft"): "cancelled",
    ("cancel", "scheduled"): "cancelled",
    ("cancel", "sending"): "cancelled",
    ("cancel", "paused"): "cancelled",
}
ACTIONS = ("pause", "resume", "cancel")
REFUSED = [(a, s) for a in ACTIONS for s in CAMPAIGN_STATUSES if (a, s) not in ALLOWED]
SERVICES: dict[str, Callable[[Session, int], Campaign]] = {
    "pause": campaigns.pause_campaign,
    "resume": campaigns.resume_campaign,
    "cancel": campaigns.cancel_campaign,
}
PROGRESS_FIELDS = {
    "id", "kind", "subject", "status", "error", "total", "queued", "sending", "sent", "failed",
    "unknown", "skipped", "cancelled", "percent_done", "rate_per_s", "eta_seconds",
    "created_at", "started_at", "finished_at",
}  # fmt: skip
OWN = {"Origin": "http://testserver"}
FOREIGN = {"Origin": "https://evil.example"}
_names = itertools.count()


@pytest.fixture
def dispatched(db: str) -> Iterator[Dispatched]:
    """The tasks enqueued after each commit, in order, instead of a broker."""
    with recording(TaskRecorder()) as recorder:
        yield recorder.tasks


@pytest.fixture
def client(dispatched: Dispatched) -> TestClient:
    """A client of the web app on the test database, logged in as an admin.

    It sends the session's CSRF token as a header on every request, as the page's scripts do;
    tests of the token itself take it away.
    """
    client = TestClient(create_app())
    client.headers["X-CSRF-Token"] = log_in(client)
    return client


def add_campaign(
    status: str = "sending",
    mix: dict[str, int] | None = None,
    *,
    planned: bool = True,
    error: str = "",
    failures: int = 0,
) -> int:
    """A campaign in ``status`` with deliveries per status as in ``mix`` (ids in that order)."""
    mix = mix or {}
    with unit_of_work() as session:
        name = f"list{next(_names)}"
        people = iter(
            add_subscribers(session, add_list(session, name), sum(mix.values()), prefix=name)
        )
        campaign = add_announcement(session, name, subject=f"Forum «Відбудова» {name}")
        campaign.status, campaign.total, campaign.error = status, sum(mix.values()), error
        campaign.consecutive_failures = failures
        campaign.started_at = utcnow() - timedelta(minutes=5)
        campaign.planned_at = campaign.started_at if planned else None
        for delivery_status, count in mix.items():
            session.add_all(
                Delivery(
                    campaign_id=campaign.id, subscriber_id=next(people).id, status=delivery_status
                )
                for _ in range(count)
            )
        return campaign.id


def stored(campaign_id: int) -> Campaign:
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign


def counts(campaign_id: int) -> dict[str, int]:
    with unit_of_work() as session:
        return delivery_counts(session, [campaign_id])[campaign_id]


def control(action: str, campaign_id: int) -> Campaign:
    with unit_of_work() as session:
        return SERVICES[action](session, campaign_id)


# Services: which transitions are allowed


@pytest.mark.parametrize(("action", "before"), sorted(ALLOWED))
def test_allowed_transitions_change_the_status(
    dispatched: Dispatched, action: str, before: str
) -> None:
    campaign_id = add_campaign(before)
    returned = control(action, campaign_id)
    assert returned.id == campaign_id
    assert returned.status == stored(campaign_id).status == ALLOWED[action, before]


@pytest.mark.parametrize(("action", "before"), REFUSED)
def test_refused_transitions_say_why_and_change_nothing(
    dispatched: Dispatched, action: str, before: str
) -> None:
    campaign_id = add_campaign(before, {"queued": 2}, error="kept")
    with pytest.raises(CampaignStateError) as refused:
        control(action, campaign_id)
    assert isinstance(refused.value, ValueError)
    assert f"campaign {campaign_id} is {before}" in str(refused.value)
    after = stored(campaign_id)
    assert (after.status, after.error, after.finished_at) == (before, "kept", None)
    assert counts(campaign_id) == {"queued": 2}
    assert dispatched == []


@pytest.mark.parametrize("action", ACTIONS)
def test_unknown_campaign_is_not_found(dispatched: Dispatched, action: str) -> None:
    with pytest.raises(CampaignNotFound, match="no campaign 424242"):
        control(action, 424242)


def test_cancel_stops_queued_deliveries_and_leaves_the_others(dispatched: Dispatched) -> None:
    mix = {"queued": 4, "sending": 2, "sent": 3, "failed": 1, "skipped": 1}
    campaign_id, other_id = add_campaign("sending", mix), add_campaign("sending", {"queued": 2})
    control("cancel", campaign_id)
    assert counts(campaign_id) == {
        "cancelled": 4,
        "sending": 2,
        "sent": 3,
        "failed": 1,
        "skipped": 1,
    }
    assert counts(other_id) == {"queued": 2}
    after = stored(campaign_id)
    assert after.status == "cancelled"
    assert after.finished_at is not None
    assert dispatched == []


def test_pause_enqueues_nothing_and_keeps_the_rows(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("sending", {"queued": 3, "sent": 1})
    control("pause", campaign_id)
    assert counts(campaign_id) == {"queued": 3, "sent": 1}
    assert dispatched == []


def test_resume_clears_the_error_and_enqueues_only_after_commit(dispatched: Dispatched) -> None:
    campaign_id = add_campaign(
        "paused", {"queued": 3}, error="paused after 10 failed batches", failures=10
    )
    with unit_of_work() as session:
        campaigns.resume_campaign(session, campaign_id)
        session.flush()
        assert dispatched == []
    assert TaskName.ENQUEUE == "herald.campaigns.enqueue"
    assert dispatched == [(TaskName.ENQUEUE, [campaign_id])]
    after = stored(campaign_id)
    assert (after.status, after.error, after.consecutive_failures) == ("sending", "", 0)


def test_resume_rolled_back_enqueues_nothing(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("paused", {"queued": 1})
    with pytest.raises(RuntimeError), unit_of_work() as session:
        campaigns.resume_campaign(session, campaign_id)
        raise RuntimeError("the request failed after resuming")
    assert dispatched == []
    assert stored(campaign_id).status == "paused"


def test_resume_before_planning_asks_for_planning(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("paused", planned=False)
    control("resume", campaign_id)
    assert dispatched == [(TaskName.PLAN, [campaign_id])]


def test_pause_for_failures_pauses_only_a_sending_campaign(dispatched: Dispatched) -> None:
    sending_id, sent_id = add_campaign("sending"), add_campaign("sent", error="")
    with unit_of_work() as session:
        assert campaigns.pause_for_failures(session, sending_id, "paused after 10 failed: 503")
        assert not campaigns.pause_for_failures(session, sent_id, "paused after 10 failed: 503")
    assert (stored(sending_id).status, stored(sending_id).error) == (
        "paused",
        "paused after 10 failed: 503",
    )
    assert (stored(sent_id).status, stored(sent_id).error) == ("sent", "")


# The worker and the scheduler respect the status


@pytest.mark.parametrize("status", ["paused", "cancelled"])
def test_finish_and_the_sweeps_leave_stopped_campaigns_alone(
    dispatched: Dispatched, status: str
) -> None:
    stopped = add_campaign(status, {"sent": 2})
    sending_id = add_campaign("sending", {"sent": 2})
    stalled = add_campaign(status, {"queued": 1})
    with unit_of_work() as session:
        session.execute(update(Campaign).values(last_progress_at=utcnow() - timedelta(days=1)))
        assert not campaigns.finish_if_done(session, stopped)
        assert campaigns.finish_if_done(session, sending_id)
        assert campaigns.sending_campaign_ids(session) == []
        assert campaigns.stalled_campaigns(session, progress_before=utcnow()) == []
    assert stored(stopped).status == status
    assert stored(stalled).status == status
    assert stored(sending_id).status == "sent"


@pytest.fixture
def planned(dispatched: Dispatched) -> int:
    """A real campaign to 5 subscribers, planned by the worker; its batch tasks are waiting."""
    planning.current_provider.cache_clear()
    planning._emails_cache.clear()
    with unit_of_work() as session:
        add_subscribers(session, add_list(session, "news"), 5)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    planning.plan_campaign(dispatched.pop(0)[1][0])
    assert {name for name, _ in dispatched} == {TaskName.SEND_BATCH}
    return campaign.id


def run_batches(dispatched: Dispatched) -> None:
    """Run the waiting tasks (and those they enqueue) as a worker would."""
    while dispatched:
        name, args = dispatched.pop(0)
        if name == TaskName.SEND_BATCH:
            sending.send_batch(*args)
        elif name == TaskName.ENQUEUE:
            planning.enqueue_campaign(*args)
        else:
            raise AssertionError(f"unexpected task {name}")


def test_batches_of_a_paused_campaign_wait_for_the_resume(
    planned: int, dispatched: Dispatched
) -> None:
    control("pause", planned)
    run_batches(dispatched)  # tasks already in the broker become no-ops
    assert counts(planned) == {"queued": 5}
    scheduled.finish_done()
    assert stored(planned).status == "paused"
    control("resume", planned)
    assert dispatched == [(TaskName.ENQUEUE, [planned])]
    run_batches(dispatched)
    assert counts(planned) == {"sent": 5}
    assert stored(planned).status == "sent"


def test_batches_of_a_cancelled_campaign_send_nothing(planned: int, dispatched: Dispatched) -> None:
    control("cancel", planned)
    run_batches(dispatched)
    scheduled.finish_done()
    assert counts(planned) == {"cancelled": 5}
    assert stored(planned).status == "cancelled"


# Progress


NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def sent_at(campaign_id: int, *ages_in_seconds: float) -> None:
    """Give the campaign's sent rows, by id, these ages at ``NOW``."""
    with unit_of_work() as session:
        ids = session.scalars(
            select(Delivery.id)
            .where(Delivery.campaign_id == campaign_id, Delivery.status == "sent")
            .order_by(Delivery.id)
        ).all()
        for delivery_id, age in zip(ids, ages_in_seconds, strict=True):
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(sent_at=NOW - timedelta(seconds=age))
            )


def progress_at(campaign_id: int, now: datetime = NOW) -> dict[str, Any]:
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign_progress(session, [campaign], now=now)[0].model_dump(mode="json")


MIX = {
    "sent": 6,
    "failed": 2,
    "unknown": 1,
    "skipped": 1,
    "cancelled": 1,
    "queued": 7,
    "sending": 2,
}


def test_progress_counts_rate_and_eta_come_from_the_rows(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("sending", MIX, error="")
    sent_at(campaign_id, 1, 20, 59, 61, 300, 3600)  # three sent in the last minute
    progress = progress_at(campaign_id)
    assert set(progress) == PROGRESS_FIELDS
    assert {status: progress[status] for status in MIX} == MIX
    assert (progress["total"], progress["status"], progress["error"]) == (20, "sending", "")
    assert progress["percent_done"] == 55.0  # 11 of 20 reached an end state
    assert progress["rate_per_s"] == 0.05  # 3 messages / 60 s
    assert progress["eta_seconds"] == 180  # 9 remaining / 0.05 per second
    assert progress["started_at"] is not None
    assert progress["finished_at"] is None


def test_no_eta_without_a_rate_or_without_anything_left(dispatched: Dispatched) -> None:
    idle = add_campaign("sending", {"sent": 1, "queued": 4})
    sent_at(idle, 600)
    assert (progress_at(idle)["rate_per_s"], progress_at(idle)["eta_seconds"]) == (0.0, None)
    done = add_campaign("sending", {"sent": 2})
    sent_at(done, 5, 10)
    assert progress_at(done)["rate_per_s"] > 0
    assert progress_at(done)["eta_seconds"] is None
    assert progress_at(done)["percent_done"] == 100.0


def test_a_paused_campaign_has_no_rate(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("paused", {"sent": 2, "queued": 2}, error="stopped by an admin")
    sent_at(campaign_id, 5, 10)
    progress = progress_at(campaign_id)
    assert (progress["rate_per_s"], progress["eta_seconds"]) == (0.0, None)
    assert (progress["status"], progress["error"]) == ("paused", "stopped by an admin")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0, "0 s"), (59, "59 s"), (60, "1 min"), (61, "2 min"), (7500, "2 h 5 min")],
)
def test_durations_read_as_prose(seconds: int | None, text: str) -> None:
    assert duration_text(seconds) == text


# The command line


def herald(*args: str) -> Any:
    return CliRunner().invoke(cli_app, ["campaigns", *args])


def test_show_json_has_the_progress_fields(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("sending", MIX)
    sent_at(campaign_id, *([1] * 6))
    result = herald("show", str(campaign_id), "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert set(shown) == PROGRESS_FIELDS
    assert {status: shown[status] for status in MIX} == MIX


def test_show_prints_a_readable_block(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("paused", MIX, error="paused after 10 failed batches: 503")
    result = herald("show", str(campaign_id))
    assert result.exit_code == 0, result.output
    assert f"campaign {campaign_id} · announcement · paused" in result.stdout
    assert re.search(r"\[#+\.+\] 55\.0%  6/20 sent", result.stdout), result.stdout
    assert "7 queued · 2 in flight" in result.stdout
    assert "ETA —" in result.stdout
    assert "error     paused after 10 failed batches: 503" in result.stdout


@pytest.mark.parametrize(("action", "before"), sorted(ALLOWED))
def test_cli_controls_confirm_in_one_line(dispatched: Dispatched, action: str, before: str) -> None:
    campaign_id = add_campaign(before)
    result = herald(action, str(campaign_id))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith(f"campaign {campaign_id} is ")
    assert len(result.stdout.strip().splitlines()) == 1
    assert stored(campaign_id).status == ALLOWED[action, before]


def test_cli_refuses_a_disallowed_transition_and_an_unknown_id(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("sent")
    refused = herald("pause", str(campaign_id))
    assert refused.exit_code == 1
    assert f"campaign {campaign_id} is sent; only a sending campaign can be paused" in (
        refused.stderr
    )
    assert stored(campaign_id).status == "sent"
    missing = herald("cancel", "424242")
    assert missing.exit_code == 1
    assert "no campaign 424242" in missing.stderr


def test_cli_resume_enqueues_the_campaign(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("paused", {"queued": 1})
    assert herald("resume", str(campaign_id)).exit_code == 0
    assert dispatched == [(TaskName.ENQUEUE, [campaign_id])]


# The JSON API


@pytest.mark.parametrize(("action", "before"), sorted(ALLOWED))
def test_api_controls_answer_with_the_progress(
    client: TestClient, action: str, before: str
) -> None:
    campaign_id = add_campaign(before, {"queued": 2, "sent": 1})
    answer = client.post(f"/api/campaigns/{campaign_id}/{action}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == PROGRESS_FIELDS
    assert body["status"] == stored(campaign_id).status == ALLOWED[action, before]
    assert body["cancelled"] == (2 if action == "cancel" else 0)
    assert client.get(f"/api/campaigns/{campaign_id}").json()["status"] == body["status"]


def test_api_refuses_with_409_and_404(client: TestClient) -> None:
    campaign_id = add_campaign("sent")
    refused = client.post(f"/api/campaigns/{campaign_id}/resume")
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": f"campaign {campaign_id} is sent; only a paused campaign can be resumed"
    }
    assert client.post("/api/campaigns/424242/pause").status_code == 404
    assert client.post(f"/api/campaigns/{campaign_id}/restart").status_code == 422
    assert stored(campaign_id).status == "sent"


def test_api_progress_of_one_campaign(client: TestClient) -> None:
    campaign_id = add_campaign("sending", {"sent": 3, "queued": 3})
    with unit_of_work() as session:
        session.execute(update(Delivery).where(Delivery.status == "sent").values(sent_at=utcnow()))
    body = client.get(f"/api/campaigns/{campaign_id}").json()
    assert set(body) == PROGRESS_FIELDS
    assert (body["rate_per_s"], body["eta_seconds"], body["percent_done"]) == (0.05, 60, 50.0)


def test_api_controls_need_a_login_or_a_token(dispatched: Dispatched) -> None:
    client = TestClient(create_app())
    campaign_id = add_campaign("sending")
    for headers in ({}, {"Authorization": "Bearer hrld_forged"}):
        assert (
            client.post(f"/api/campaigns/{campaign_id}/pause", headers=headers).status_code == 401
        )
    page_form = client.post(f"/admin/campaigns/{campaign_id}/pause", headers=OWN)
    assert page_form.status_code == 401
    assert stored(campaign_id).status == "sending"
    with unit_of_work() as session:
        admin = add_user(session)
        token = create_api_token(session, admin, name="script")
    answer = client.post(
        f"/api/campaigns/{campaign_id}/pause", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert stored(campaign_id).status == "paused"


def test_an_editor_cannot_control_campaigns(dispatched: Dispatched) -> None:
    client = TestClient(create_app())
    csrf = log_in(client, "editor@example.com", role="editor")
    campaign_id = add_campaign("sending")
    answer = client.post(f"/api/campaigns/{campaign_id}/cancel", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 403
    assert stored(campaign_id).status == "sending"


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"], ids=["absent", "empty", "wrong"])
def test_cookie_requests_without_the_csrf_token_change_nothing(
    client: TestClient, csrf: str | None
) -> None:
    campaign_id = add_campaign("sending", {"queued": 2})
    del client.headers["X-CSRF-Token"]
    form = {} if csrf is None else {"csrf_token": csrf}
    url = f"/admin/campaigns/{campaign_id}/cancel"
    assert client.post(url, data=form, headers=OWN, follow_redirects=False).status_code == 403
    headers = {} if csrf is None else {"X-CSRF-Token": csrf}
    assert client.post(f"/api/campaigns/{campaign_id}/cancel", headers=headers).status_code == 403
    assert stored(campaign_id).status == "sending"
    assert counts(campaign_id) == {"queued": 2}


def test_the_page_form_carries_the_csrf_token(client: TestClient) -> None:
    campaign_id = add_campaign("sending", {"queued": 1})
    csrf = client.headers.pop("X-CSRF-Token")
    page = client.get("/admin").text
    assert f'name="csrf_token" value="{csrf}"' in page
    answer = post_form(client, campaign_id, "pause", OWN, data={"csrf_token": csrf})
    assert answer.status_code == 303
    assert stored(campaign_id).status == "paused"


def test_api_refuses_calls_from_another_sites_page(client: TestClient) -> None:
    campaign_id = add_campaign("sending")
    answer = client.post(f"/api/campaigns/{campaign_id}/cancel", headers=FOREIGN)
    assert answer.status_code == 403
    assert stored(campaign_id).status == "sending"


# The admin page


def post_form(
    client: TestClient,
    campaign_id: int,
    action: str,
    headers: dict[str, str],
    data: dict[str, str] | None = None,
) -> Any:
    """Press a control button of the admin page (the POST only, not the redirect after)."""
    url = f"/admin/campaigns/{campaign_id}/{action}"
    return client.post(url, headers=headers, data=data, follow_redirects=False)


def visible_controls(html: str, campaign_id: int) -> set[str]:
    """The control buttons shown (forms not hidden) in the campaign's row."""
    row = re.search(rf'<tr data-campaign-id="{campaign_id}".*?</tr>', html, re.S)
    assert row is not None
    forms = re.findall(r'<form method="post"[^>]*data-action="(\w+)"[^>]*>', row.group(0))
    hidden = re.findall(r'<form method="post"[^>]*data-action="(\w+)"[^>]* hidden>', row.group(0))
    return set(forms) - set(hidden)


def test_admin_page_shows_progress_and_only_the_allowed_controls(client: TestClient) -> None:
    sending_id = add_campaign("sending", MIX)
    with unit_of_work() as session:  # six sent just now: 0.1 per second
        session.execute(update(Delivery).values(sent_at=utcnow()).where(Delivery.status == "sent"))
    paused_id = add_campaign("paused", {"queued": 1}, error="paused after 10 failed batches: 503")
    sent_id = add_campaign("sent", {"sent": 1})
    page = client.get("/admin").text
    row = re.search(rf'<tr data-campaign-id="{sending_id}".*?</tr>', page, re.S)
    assert row is not None
    assert '<progress max="100" value="55"' in row.group(0)
    assert 'aria-label="Progress of campaign #' in row.group(0)
    assert '<span data-field="sent-of-total">6/20</span>' in row.group(0)
    assert '<span data-field="rate">0.1</span> messages/s' in row.group(0)
    assert '<span data-field="eta">2 min</span>' in row.group(0)  # 9 left at 0.1/s: 90 s
    assert "paused after 10 failed batches: 503" in page
    assert visible_controls(page, sending_id) == {"pause", "cancel"}
    assert visible_controls(page, paused_id) == {"resume", "cancel"}
    assert visible_controls(page, sent_id) == set()
    assert 'data-confirm="Cancel campaign' in page


def test_admin_buttons_post_and_come_back_to_the_page(client: TestClient) -> None:
    campaign_id = add_campaign("sending", {"queued": 1})
    answer = post_form(client, campaign_id, "pause", OWN)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin?")
    assert stored(campaign_id).status == "paused"
    page = client.get(answer.headers["location"]).text
    assert f"Campaign #{campaign_id} paused." in page
    again = client.post(f"/admin/campaigns/{campaign_id}/pause", headers=OWN)
    assert f"Campaign #{campaign_id} could not be paused: it is paused." in again.text
    assert client.post("/admin/campaigns/424242/pause", headers=OWN).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        FOREIGN,
        {"Origin": "null"},
        {"Referer": "https://evil.example/admin"},
        {"Origin": "http://testserver.evil.example"},
    ],
    ids=["foreign origin", "null origin", "foreign referer", "look-alike origin"],
)
def test_admin_forms_refuse_cross_site_posts(client: TestClient, headers: dict[str, str]) -> None:
    campaign_id = add_campaign("sending", {"queued": 2})
    assert post_form(client, campaign_id, "cancel", headers).status_code == 403
    assert stored(campaign_id).status == "sending"
    assert counts(campaign_id) == {"queued": 2}


def test_admin_forms_accept_the_configured_base_url_and_own_referer(
    dispatched: Dispatched, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, base_url="https://news.example.org")
    client = TestClient(create_app(), base_url="https://testserver")  # the cookie is Secure
    client.headers["X-CSRF-Token"] = log_in(client)
    first, second = add_campaign("sending"), add_campaign("sending")
    behind_proxy = {"Origin": "https://news.example.org"}
    assert post_form(client, first, "pause", behind_proxy).status_code == 303
    own_referer = {"Referer": "https://testserver/admin"}
    assert post_form(client, second, "pause", own_referer).status_code == 303
    assert (stored(first).status, stored(second).status) == ("paused", "paused")
