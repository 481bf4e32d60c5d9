"""A Celery app for chaos tests: Herald's own, with a pause at one point of sending.

Started as ``celery -A tests.fault_hooks worker`` with ``HERALD_TEST_HOLD_AT`` set to
``render`` or ``pace`` and ``HERALD_TEST_HOLD_DIR`` to a directory. Once a file named
``armed`` appears there, the next batch that reaches that point writes ``holding-<pid>`` and
sleeps, so a test can SIGKILL the worker exactly there. Nothing here is imported by Herald:
production paths are unchanged, the test only wraps two of their steps in this process.
"""

from __future__ import annotations

import os
import time
from functools import wraps
from pathlib import Path
from typing import Any

from worker import sending
from worker.app import app as app

HOLD_SECONDS = 120.0


def _hold_before(step: Any) -> Any:
    @wraps(step)
    def held(*args: Any, **kwargs: Any) -> Any:
        folder = Path(os.environ["HERALD_TEST_HOLD_DIR"])
        if (folder / "armed").exists():
            (folder / f"holding-{os.getpid()}").write_text(step.__name__)
            time.sleep(HOLD_SECONDS)
        return step(*args, **kwargs)

    return held


_point = os.environ.get("HERALD_TEST_HOLD_AT", "")
if _point == "render":
    # Rendering happens inside the claim's transaction: a kill here rolls the claim back.
    sending._render = _hold_before(sending._render)
elif _point == "pace":
    # Pacing comes after the claim's commit and before the dispatched mark.
    sending._pace = _hold_before(sending._pace)
