"""The one small interface every email provider implements.

A provider sends a batch of messages in as few calls as its API allows and reports one
:class:`SendResult` per message. Failures of the whole call are exceptions whose class says
what the send pipeline may safely do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from core.message import OutgoingMessage


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said about one message of a batch."""

    key: str
    accepted: bool
    provider_message_id: str | None = None
    error: str | None = None
    retry: bool = False
    """Not accepted, but nothing went out (not attempted, or refused for now): send again."""
    unknown: bool = False
    """The request for it left and no answer came: never re-send it blindly."""


class ProviderError(Exception):
    """The whole call failed and nothing was accepted.

    ``retryable`` says whether trying the same call again may help; ``throttled`` that the
    provider asked us to slow down (a 429), which must pace every worker, not just this one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        throttled: bool = False,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.throttled = throttled


class OutcomeUnknown(Exception):
    """The request may have reached the provider, but no answer came (a timeout after sending).

    Re-sending may duplicate messages unless the provider is idempotent on our keys.
    ``resendable`` is False when even an idempotent provider refuses to replay the attempt
    (its payload changed since the first try): the outcome then stays unknown for good.
    """

    def __init__(self, message: str, *, resendable: bool = True):
        super().__init__(message)
        self.resendable = resendable


class Provider(Protocol):
    """An email provider adapter."""

    name: str
    max_batch_size: int
    idempotent: bool
    """True when re-sending the same attempt (same ``attempt_key``, same messages) can never
    deliver a message twice."""

    def send_batch(
        self, messages: Sequence[OutgoingMessage], *, attempt_key: str
    ) -> list[SendResult]:
        """Send ``messages``; one result per message, in the same order.

        ``attempt_key`` names this attempt; a retry of the same attempt passes the same key
        and the same messages (idempotent providers use it as their idempotency key).
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True, slots=True)
class Dispatched:
    """A message whose request left but whose answer never came: what we know of it."""

    key: str
    """Our key for the message (the delivery id), sent as its ``delivery_id`` metadata."""
    campaign_id: str
    recipient: str
    dispatched_at: datetime


@dataclass(frozen=True, slots=True)
class Sighting:
    """What the provider's records say about one dispatched message."""

    key: str
    seen: bool
    """True: the provider accepted it (``provider_message_id`` names it); False: it never did."""
    provider_message_id: str | None = None


@runtime_checkable
class Reconciling(Protocol):
    """The optional capability of a provider whose API can say what it accepted.

    Only providers that can tell "never got it" apart from "cannot say" implement it.
    """

    def reconcile(self, messages: Sequence[Dispatched]) -> list[Sighting]:
        """What the provider knows of each message; one sighting per message it can answer
        for (a message left out stays in doubt). Raises :class:`ProviderError` when the
        look-up itself fails."""
        ...


def can_reconcile(provider: object) -> bool:
    """Whether ``provider`` can be asked what became of a dispatched message."""
    return isinstance(provider, Reconciling)


@runtime_checkable
class Checkable(Protocol):
    """The optional capability of a provider that can prove its credentials without sending:
    one cheap authenticated read (``herald doctor`` asks it)."""

    def check_access(self) -> str:
        """What the provider says of the account (a line for the operator); raises
        :class:`ProviderError` when it cannot be reached or refuses the credentials."""
        ...


def can_check(provider: object) -> bool:
    """Whether ``provider`` can be asked to prove its credentials."""
    return isinstance(provider, Checkable)
