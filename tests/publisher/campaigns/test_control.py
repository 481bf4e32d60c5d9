"""Campaign control: pause, resume and cancel through the services and the worker's flows,
on SQLite and PostgreSQL.

Tasks are captured instead of going to a broker; every outcome is read back from the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from core.database import unit_of_work, utcnow
from core.tasks import TaskName
from publisher.campaigns import queries as campaign_queries
from publisher.campaigns import service as campaigns
from publisher.campaigns import sweeps as campaign_sweeps
from publisher.campaigns.models import CAMPAIGN_STATUSES, Campaign
from publisher.campaigns.service import (
    CampaignNotFound,
    CampaignStateError,
    start_sending,
)
from tests.fixtures.campaigns import ALLOWED, Dispatched, add_campaign, stored
from tests.fixtures.factories import (
    add_announcement,
    add_list,
    add_subscribers,
    counts_by_status,
)
from worker import planning, scheduled, sending

ACTIONS = ("pause", "resume", "cancel")
REFUSED = [(a, s) for a in ACTIONS for s in CAMPAIGN_STATUSES if (a, s) not in ALLOWED]
SERVICES: dict[str, Callable[[Session, int], Campaign]] = {
    "pause": campaigns.pause_campaign,
    "resume": campaigns.resume_campaign,
    "cancel": campaigns.cancel_campaign,
}


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
    assert counts_by_status(campaign_id) == {"queued": 2}
    assert dispatched == []


@pytest.mark.parametrize("action", ACTIONS)
def test_unknown_campaign_is_not_found(dispatched: Dispatched, action: str) -> None:
    with pytest.raises(CampaignNotFound, match="no campaign 424242"):
        control(action, 424242)


def test_cancel_stops_queued_deliveries_and_leaves_the_others(dispatched: Dispatched) -> None:
    mix = {"queued": 4, "sending": 2, "sent": 3, "failed": 1, "skipped": 1}
    campaign_id, other_id = add_campaign("sending", mix), add_campaign("sending", {"queued": 2})
    control("cancel", campaign_id)
    assert counts_by_status(campaign_id) == {
        "cancelled": 4,
        "sending": 2,
        "sent": 3,
        "failed": 1,
        "skipped": 1,
    }
    assert counts_by_status(other_id) == {"queued": 2}
    after = stored(campaign_id)
    assert after.status == "cancelled"
    assert after.finished_at is not None
    assert dispatched == []


def test_pause_enqueues_nothing_and_keeps_the_rows(dispatched: Dispatched) -> None:
    campaign_id = add_campaign("sending", {"queued": 3, "sent": 1})
    control("pause", campaign_id)
    assert counts_by_status(campaign_id) == {"queued": 3, "sent": 1}
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
        assert campaign_queries.sending_campaign_ids(session) == []
        assert campaign_sweeps.stalled_campaigns(session, progress_before=utcnow()) == []
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
    assert counts_by_status(planned) == {"queued": 5}
    scheduled.finish_done()
    assert stored(planned).status == "paused"
    control("resume", planned)
    assert dispatched == [(TaskName.ENQUEUE, [planned])]
    run_batches(dispatched)
    assert counts_by_status(planned) == {"sent": 5}
    assert stored(planned).status == "sent"


def test_batches_of_a_cancelled_campaign_send_nothing(planned: int, dispatched: Dispatched) -> None:
    control("cancel", planned)
    run_batches(dispatched)
    scheduled.finish_done()
    assert counts_by_status(planned) == {"cancelled": 5}
    assert stored(planned).status == "cancelled"
