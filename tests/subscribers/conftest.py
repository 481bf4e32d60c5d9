"""Fixtures of the subscriber tests: the public pages as a reader's client sees them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The shared anonymous client, not following redirects: the tests read each 303 itself."""
    client.follow_redirects = False
    return client

