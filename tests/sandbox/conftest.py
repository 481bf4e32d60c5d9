"""Fixtures of the sandbox's tests: sandbox apps started per test and closed after it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from sandbox import SandboxConfig, create_sandbox_app
from tests.fixtures.sandbox import sandbox_config as _config


@pytest.fixture
def sandbox() -> Iterator[Callable[..., TestClient]]:
    """Start a sandbox app with the given config; every one started is closed after the test."""
    clients: list[TestClient] = []

    def start(config: SandboxConfig | None = None) -> TestClient:
        client = TestClient(create_sandbox_app(config or _config()))
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(sandbox: Callable[..., TestClient]) -> TestClient:
    """One sandbox app with the default test configuration."""
    return sandbox()
