"""Campaign control and progress from the command line: ``herald campaigns show|pause|...``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from core.tasks import TaskName
from publisher.cli.main import app as cli_app
from tests.fixtures.campaigns import (
    ALLOWED,
    MIX,
    PROGRESS_FIELDS,
    Dispatched,
    add_campaign,
    sent_at,
    stored,
)


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
