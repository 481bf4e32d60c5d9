"""One sandbox's configuration and state, shared by its Postmark, Resend and control routes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi.responses import Response

from sandbox.faults import Fault, Faults, FaultSettings
from sandbox.idempotency import IdempotencyKeys
from sandbox.mailroom import Mailroom
from sandbox.webhooks import PostmarkWebhooks

SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox guards nothing


@dataclass(frozen=True)
class SandboxConfig:
    """How a sandbox starts: the credentials it accepts, what it keeps, the faults it injects."""

    server_token: str = SANDBOX_TOKEN
    resend_api_key: str = SANDBOX_TOKEN
    keep_messages: int = 100
    faults: FaultSettings = field(default_factory=FaultSettings)


class Sandbox:
    """The state of one sandbox app: what it accepted, its faults, webhooks, idempotency keys."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.mailroom = Mailroom(config.keep_messages)
        self.faults = Faults(config.faults)
        self.webhooks = PostmarkWebhooks(self.mailroom.count)
        self.idempotency = IdempotencyKeys()

    def roll(self) -> Fault | None:
        """The fault for this send request, counted if it refuses the request."""
        fault = self.faults.draw()
        if fault is Fault.THROTTLE:
            self.mailroom.count("throttled")
        elif fault is Fault.ERROR:
            self.mailroom.count("errors")
        return fault

    async def linger(self, fault: Fault | None) -> None:
        """Hold the answer back ``slow_seconds`` if ``fault`` is a slow one.

        Called after the messages were recorded: the provider has them, the client just does
        not hear back in time. Other requests go on meanwhile.
        """
        if fault is Fault.SLOW:
            self.mailroom.count("slow")
            await asyncio.sleep(self.faults.settings.slow_seconds)

    def reset(self) -> None:
        """Forget every message, count and idempotency key; the fault settings stay."""
        self.mailroom.reset()
        self.idempotency.clear()


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson (much faster than the standard library)."""
    return Response(
        orjson.dumps(content),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def now_iso() -> str:
    """The current UTC time in ISO 8601, computed once per request rather than per message."""
    return datetime.now(UTC).isoformat()
