"""Fixtures of the campaign tests: the tasks a test enqueues, kept instead of sent."""

from __future__ import annotations

import pytest

import core.celery_app
from tests.fixtures.campaigns import Dispatched


@pytest.fixture
def dispatched(db: str, monkeypatch: pytest.MonkeyPatch) -> Dispatched:
    """The tasks enqueued after each commit, in order, instead of a broker."""
    tasks: Dispatched = []
    monkeypatch.setattr(core.celery_app, "_dispatch", lambda name, args: tasks.append((name, args)))
    return tasks
