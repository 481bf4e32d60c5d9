"""Idempotency keys, as Resend documents them for ``POST /emails`` and ``POST /emails/batch``.

The same key with the same body replays the first answer without sending anything again; the
same key with another body is a conflict; the same key while its first request is still being
answered is a conflict too (safe to retry later). Only accepted requests (HTTP 200) are
remembered: a request refused as a whole sent nothing, so retrying it with its key is a first
try again. Keys are kept in memory for the life of the sandbox.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import NamedTuple


class Answer(NamedTuple):
    """An HTTP answer as it was first given."""

    status_code: int
    body: bytes


class Conflict(StrEnum):
    """Why a key cannot be used for this request (Resend's error names)."""

    DIFFERENT_BODY = "invalid_idempotent_request"
    STILL_RUNNING = "concurrent_idempotent_requests"


class IdempotencyKeys:
    """Remembered answers by key, and the keys whose first request is still running."""

    def __init__(self) -> None:
        self._answers: dict[str, tuple[bytes, Answer]] = {}
        self._running: dict[str, bytes] = {}

    def claim(self, key: str, body: bytes) -> Answer | Conflict | None:
        """The answer to replay, the conflict to report, or None: the caller may proceed.

        Proceeding claims the key until :meth:`release`; there is no await in between, so two
        requests on one event loop cannot both proceed with one key.
        """
        digest = hashlib.sha256(body).digest()
        if key in self._running:
            return Conflict.STILL_RUNNING
        remembered = self._answers.get(key)
        if remembered is not None:
            first_digest, answer = remembered
            return answer if first_digest == digest else Conflict.DIFFERENT_BODY
        self._running[key] = digest
        return None

    def release(self, key: str, answer: Answer) -> None:
        """End the claim on ``key``, remembering ``answer`` if the request was accepted."""
        digest = self._running.pop(key)
        if answer.status_code == 200:
            self._answers[key] = (digest, answer)

    def clear(self) -> None:
        """Forget every key (claims in progress stay until released)."""
        self._answers.clear()
