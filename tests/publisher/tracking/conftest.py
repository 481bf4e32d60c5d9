"""Fixtures of the tracking tests: the links in an email are followed as a person's browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.tracking import BROWSER


@pytest.fixture
def client(client: TestClient) -> Iterator[TestClient]:
    """The shared anonymous client with a browser's user agent, which each hit records."""
    client.headers["user-agent"] = BROWSER
    with client:
        yield client
