"""How long a task waits before its next try, and how many tries it gets.

Shared by the tasks of :mod:`worker.tasks` (batches, replays, transactional mail); kept
apart so the flows that raise "later" never need the module that registers the tasks.
"""

from __future__ import annotations

import random

MAX_RETRIES = 8
"""Tries after the first, for a batch, a replay or a transactional chunk: with the backoff
below, some four minutes in all; after that the sweeper picks the work up."""


def backoff(retries: int) -> float:
    """Exponential backoff with full jitter, capped at five minutes."""
    return random.uniform(0.5, 1.5) * min(300.0, 2.0**retries)  # noqa: S311 - not crypto
