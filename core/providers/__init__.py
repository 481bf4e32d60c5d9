"""Email providers: adapters from :class:`~core.message.OutgoingMessage` to the outside world.

``outbox`` writes ``.eml`` files (the embedded default); ``postmark`` speaks Postmark's batch
API, or the local sandbox in :mod:`core.sandbox` that imitates it. The send pipeline only
sees the :class:`~core.providers.base.Provider` protocol and picks one with
:func:`get_provider`.
"""

from __future__ import annotations

from core.providers.base import Provider
from core.providers.outbox import OutboxProvider
from core.providers.postmark import PostmarkProvider
from core.settings import Settings


def get_provider(settings: Settings) -> Provider:
    """The provider ``settings.provider`` names, configured from ``settings``."""
    if settings.provider == "outbox":
        return OutboxProvider(settings.outbox_dir)
    if settings.provider == "postmark":
        if not settings.postmark_server_token:
            raise ValueError("HERALD_POSTMARK_SERVER_TOKEN must be set to send with postmark")
        return PostmarkProvider(
            base_url=settings.provider_url,
            server_token=settings.postmark_server_token,
            message_stream=settings.postmark_message_stream,
            timeout=settings.provider_timeout_seconds,
        )
    raise ValueError(f"unknown provider {settings.provider!r}")
