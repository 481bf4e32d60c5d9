"""Fixtures of the campaign tests: the tasks a test enqueues, kept instead of sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.campaigns import Dispatched
from tests.fixtures.tasks import TaskRecorder, recording


@pytest.fixture
def dispatched(db: str) -> Iterator[Dispatched]:
    """The tasks enqueued after each commit, in order, instead of a broker."""
    with recording(TaskRecorder()) as recorder:
        yield recorder.tasks
