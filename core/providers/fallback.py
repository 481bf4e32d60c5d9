"""A second provider for batches the first one cannot take because it is down.

Only a failure that proves nothing went out moves a batch to the fallback: a retryable
:class:`ProviderError` that is not throttling (the provider is unreachable or failing, and
accepted nothing). Everything else is raised as it came: a 429 asks every worker to slow
down, not to send elsewhere; a non-retryable error will not be cured by another provider
(a malformed batch); and after :class:`OutcomeUnknown` the messages may already be on their
way, so sending them elsewhere could deliver them twice.

The pair is never idempotent, even when both providers are: a replay of an attempt may go
to the other provider than its first try did, and neither knows what the other sent (the
primary gave no answer, the replay finds it down, the fallback sends the batch again). An
attempt whose outcome is unknown therefore stays unknown rather than being replayed.

Deliveries record one provider name per batch, and :class:`SendResult` names none, so the
pair is named after the primary: a delivery sent through the fallback still shows the
primary's name in its provider column (its ``provider_message_id`` is the fallback's).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from core.message import OutgoingMessage
from core.providers.base import Provider, ProviderError, SendResult

log = logging.getLogger(__name__)


class FallbackProvider:
    """Sends through ``primary``, and through ``fallback`` when the primary is down."""

    def __init__(self, primary: Provider, fallback: Provider) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.max_batch_size = min(primary.max_batch_size, fallback.max_batch_size)
        self.idempotent = False

    def send_batch(
        self, messages: Sequence[OutgoingMessage], *, attempt_key: str = ""
    ) -> list[SendResult]:
        """Send through the primary; the same batch through the fallback if the primary is down.

        The fallback's own failures are raised as they are, like the primary's would be.
        """
        try:
            return self.primary.send_batch(messages, attempt_key=attempt_key)
        except ProviderError as error:
            if not is_down(error):
                raise
            log.warning(
                "%s is down (%s); sending %d messages through %s",
                self.primary.name,
                error,
                len(messages),
                self.fallback.name,
            )
        return self.fallback.send_batch(messages, attempt_key=attempt_key)

    def close(self) -> None:
        """Close both providers, the fallback even if closing the primary fails."""
        try:
            self.primary.close()
        finally:
            self.fallback.close()


def is_down(error: ProviderError) -> bool:
    """Whether ``error`` says the provider could not take the call at all, and took nothing."""
    return error.retryable and not error.throttled
