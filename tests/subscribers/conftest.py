"""Fixtures of the subscriber tests: the public pages as a reader's client sees them, and the
lists to subscribe to."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.database import unit_of_work
from subscribers.lists import create_list
from tests.fixtures.subscribing import Lists


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The shared anonymous client, not following redirects: the tests read each 303 itself."""
    client.follow_redirects = False
    return client


@pytest.fixture
def lists(db: str) -> Lists:
    """A double opt-in list with topics (forum), a single opt-in list (alerts), a private one."""
    with unit_of_work() as session:
        forum = create_list(
            session,
            slug="forum",
            name="Find out first",
            opt_in="double",
            topics=["Events", "Research"],
            description="Events and research, first.",
        )
        alerts = create_list(session, slug="alerts", name="Alerts", opt_in="single")
        board = create_list(session, slug="board", name="Board", public=False)
        return Lists(forum.id, alerts.id, board.id)
