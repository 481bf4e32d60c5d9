"""The one registry of providers: which adapter sends for a provider, which reads its webhooks.

:func:`get_provider` builds the sender ``settings.provider`` names (with its fallback, if
any) and refuses to start without the credentials it needs; :func:`webhook_reader` maps the
provider named in a webhook URL to its reader. This module imports every adapter and no
adapter imports it, so adding a provider is an adapter module and a line in each table here.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from core.providers import mailgun, postmark, resend, sendgrid, ses
from core.providers.base import Provider
from core.providers.dkim import DkimKey
from core.providers.events import WebhookReader
from core.providers.fallback import FallbackProvider
from core.providers.mailgun_webhooks import MailgunWebhooks, shared_tokens
from core.providers.outbox import OutboxProvider
from core.providers.postmark_webhooks import PostmarkWebhooks
from core.providers.resend_webhooks import ResendWebhooks
from core.providers.sendgrid_webhooks import SendGridWebhooks
from core.providers.ses_webhooks import SesWebhooks
from core.providers.smtp import SmtpProvider
from core.settings import Settings

# --- senders ----------------------------------------------------------------------------


def get_provider(settings: Settings) -> Provider:
    """The provider ``settings.provider`` names (and its fallback), configured from settings."""
    primary = build_provider(settings.provider, settings)
    if not settings.fallback_provider:
        return primary
    return FallbackProvider(primary, build_provider(settings.fallback_provider, settings))


BUILD_ERRORS = (ValueError, OSError)
"""What building a provider from settings raises when it cannot: a missing credential, an
unknown name (ValueError), a DKIM key file that cannot be read (OSError)."""


def provider_problem(settings: Settings) -> str | None:
    """Why the provider (and its fallback) cannot be built from ``settings``, or None."""
    try:
        provider = get_provider(settings)
    except BUILD_ERRORS as error:
        return str(error)
    provider.close()  # only built to see that it can be: no client is kept
    return None


def build_provider(name: str, settings: Settings) -> Provider:
    """One provider by name; refuses to start without the credentials it needs."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise ValueError(f"unknown provider {name!r}")
    return builder(settings)


def _require(settings: Settings, *names: str) -> None:
    missing = [f"HERALD_{name.upper()}" for name in names if not _revealed(settings, name)]
    if missing:
        raise ValueError(f"{' and '.join(missing)} must be set to send with {settings.provider}")


def _revealed(settings: Settings, name: str) -> str:
    """A setting's value as the adapter needs it: a secret's plain text, else the string."""
    value = getattr(settings, name)
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def _postmark(settings: Settings) -> Provider:
    _require(settings, "postmark_server_token")
    return postmark.PostmarkProvider(
        base_url=settings.provider_url or postmark.DEFAULT_BASE_URL,
        server_token=settings.postmark_server_token.get_secret_value(),
        message_stream=settings.postmark_message_stream,
        timeout=settings.provider_timeout_seconds,
    )


def _resend(settings: Settings) -> Provider:
    _require(settings, "resend_api_key")
    return resend.ResendProvider(
        base_url=settings.provider_url or resend.DEFAULT_BASE_URL,
        api_key=settings.resend_api_key.get_secret_value(),
        timeout=settings.provider_timeout_seconds,
    )


def _sendgrid(settings: Settings) -> Provider:
    _require(settings, "sendgrid_api_key")
    return sendgrid.SendGridProvider(
        base_url=settings.provider_url or sendgrid.DEFAULT_BASE_URL,
        api_key=settings.sendgrid_api_key.get_secret_value(),
        timeout=settings.provider_timeout_seconds,
    )


def _mailgun(settings: Settings) -> Provider:
    _require(settings, "mailgun_api_key", "mailgun_domain")
    return mailgun.MailgunProvider(
        base_url=settings.provider_url or mailgun.DEFAULT_BASE_URL,
        api_key=settings.mailgun_api_key.get_secret_value(),
        domain=settings.mailgun_domain,
        timeout=settings.provider_timeout_seconds,
    )


def _ses(settings: Settings) -> Provider:
    _require(settings, "ses_access_key_id", "ses_secret_access_key")
    return ses.SesProvider(
        settings.ses_region,
        settings.ses_access_key_id,
        settings.ses_secret_access_key.get_secret_value(),
        settings.provider_timeout_seconds,
        settings.ses_configuration_set,
        base_url=settings.provider_url or None,
    )


def _smtp(settings: Settings) -> Provider:
    dkim = None
    if settings.dkim_domain and settings.dkim_selector and settings.dkim_private_key_path:
        dkim = DkimKey.from_file(
            settings.dkim_domain, settings.dkim_selector, settings.dkim_private_key_path
        )
    return SmtpProvider(
        settings.smtp_host,
        settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        starttls=settings.smtp_starttls,
        timeout=settings.provider_timeout_seconds,
        dkim=dkim,
    )


_BUILDERS: dict[str, Callable[[Settings], Provider]] = {
    "outbox": lambda settings: OutboxProvider(settings.outbox_dir),
    "postmark": _postmark,
    "resend": _resend,
    "sendgrid": _sendgrid,
    "mailgun": _mailgun,
    "ses": _ses,
    "smtp": _smtp,
}


# --- webhook readers --------------------------------------------------------------------


def webhook_reader(provider: str, settings: Settings) -> WebhookReader | None:
    """The reader of ``provider``'s webhooks, or None for a provider Herald does not know."""
    build = _READERS.get(provider)
    return None if build is None else build(settings)


def known_providers() -> list[str]:
    """The providers whose webhooks Herald reads."""
    return sorted(_READERS)


def _mailgun_webhooks(settings: Settings) -> WebhookReader:
    # Seen tokens in Redis when there is one (several web processes), else in this process.
    return MailgunWebhooks(
        settings.mailgun_webhook_signing_key.get_secret_value(),
        shared_tokens(settings.shared_redis_url),
    )


_READERS: dict[str, Callable[[Settings], WebhookReader]] = {
    "postmark": lambda settings: PostmarkWebhooks(
        settings.postmark_webhook_user, settings.postmark_webhook_password.get_secret_value()
    ),
    "resend": lambda settings: ResendWebhooks(settings.resend_webhook_secret.get_secret_value()),
    "sendgrid": lambda settings: SendGridWebhooks(settings.sendgrid_webhook_public_key),
    "mailgun": _mailgun_webhooks,
    "ses": lambda settings: SesWebhooks(settings.ses_sns_topic_arn),
}
