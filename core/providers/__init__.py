"""Email providers: adapters from :class:`~core.message.OutgoingMessage` to the outside world.

``outbox`` writes ``.eml`` files (the embedded default); ``postmark`` speaks Postmark's batch
API, or the local sandbox in :mod:`core.sandbox` that imitates it; ``resend`` speaks Resend's
batch API with idempotency keys. The send pipeline only sees the
:class:`~core.providers.base.Provider` protocol and picks one with :func:`get_provider`.
"""

from __future__ import annotations

from core.providers.base import Provider
from core.providers.outbox import OutboxProvider
from core.providers.postmark import PostmarkProvider
from core.providers.resend import DEFAULT_BASE_URL as RESEND_BASE_URL
from core.providers.resend import ResendProvider
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
    if settings.provider == "resend":
        if not settings.resend_api_key:
            raise ValueError("HERALD_RESEND_API_KEY must be set to send with resend")
        return ResendProvider(
            base_url=provider_url(settings),
            api_key=settings.resend_api_key,
            timeout=settings.provider_timeout_seconds,
        )
    raise ValueError(f"unknown provider {settings.provider!r}")


def provider_url(settings: Settings) -> str:
    """The API base URL: ``provider_url`` when it was set, else the provider's own API.

    ``provider_url`` defaults to Postmark's API, so for Resend only a value that was actually
    given (environment, ``.env`` or argument) may replace Resend's.
    """
    if settings.provider == "resend" and "provider_url" not in settings.model_fields_set:
        return RESEND_BASE_URL
    return settings.provider_url
