"""Faults the sandbox injects into send requests: throttling, server errors, late answers.

One roll of the dice per request (never per message) picks at most one fault, so the three
rates are shares of the same requests and may add up to at most 1. A seed makes a run
repeatable. Bounces are drawn per accepted message, from their own dice, so turning webhooks on
does not change which requests fail.
"""

from __future__ import annotations

import random
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Fault(StrEnum):
    """What goes wrong with one send request."""

    THROTTLE = "throttle"  # 429 with Retry-After; nothing accepted
    ERROR = "error"  # 500; nothing accepted
    SLOW = "slow"  # accepted and recorded, answered after ``slow_seconds``


class FaultSettings(BaseModel):
    """The faults to inject and where to send delivery webhooks (all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    throttle_rate: float = Field(0.0, ge=0.0, le=1.0)
    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    slow_rate: float = Field(0.0, ge=0.0, le=1.0)
    slow_seconds: float = Field(5.0, ge=0.0)
    retry_after: int = Field(1, ge=0)
    seed: int | None = None
    webhook_url: str | None = None
    bounce_rate: float = Field(0.0, ge=0.0, le=1.0)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook_url must be an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _rates_share_one_roll(self) -> Self:
        if self.throttle_rate + self.error_rate + self.slow_rate > 1.0:
            raise ValueError("throttle_rate + error_rate + slow_rate must not exceed 1")
        return self


class Faults:
    """The current fault settings and the dice that apply them."""

    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._requests = random.Random(settings.seed)  # noqa: S311 - dice, not secrets
        self._bounces = random.Random(settings.seed)  # noqa: S311 - dice, not secrets

    def update(self, changes: dict[str, Any]) -> FaultSettings:
        """Apply ``changes`` (validated as a whole); a new ``seed`` restarts the dice."""
        self.settings = FaultSettings.model_validate({**self.settings.model_dump(), **changes})
        if "seed" in changes:
            self._requests.seed(self.settings.seed)
            self._bounces.seed(self.settings.seed)
        return self.settings

    def draw(self) -> Fault | None:
        """The fault for the next send request, if any."""
        settings = self.settings
        roll = self._requests.random()
        for fault, rate in (
            (Fault.THROTTLE, settings.throttle_rate),
            (Fault.ERROR, settings.error_rate),
            (Fault.SLOW, settings.slow_rate),
        ):
            if roll < rate:
                return fault
            roll -= rate
        return None

    def bounces(self) -> bool:
        """Whether the next accepted message hard-bounces (only asked when webhooks are on)."""
        return self._bounces.random() < self.settings.bounce_rate
