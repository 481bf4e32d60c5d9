"""Campaign progress: counts, rate and ETA read from the delivery rows, and durations in prose."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from core.database import unit_of_work
from publisher.campaigns.models import Campaign
from publisher.campaigns.progress import campaign_progress, duration_text
from tests.fixtures.campaigns import MIX, NOW, PROGRESS_FIELDS, Dispatched, add_campaign, sent_at


def progress_at(campaign_id: int, now: datetime = NOW) -> dict[str, Any]:
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign_progress(session, [campaign], now=now)[0].model_dump(mode="json")


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
