"""Email providers: adapters from :class:`~core.message.OutgoingMessage` to the outside world.

``outbox`` writes ``.eml`` files (the embedded default); ``postmark``, ``resend``,
``sendgrid``, ``mailgun`` and ``ses`` speak those providers' HTTP APIs (or the local sandbox
in :mod:`sandbox` that imitates them); ``smtp`` speaks to any mail server. An optional
fallback provider takes the batches the first cannot (it is down). The send pipeline only
sees the :class:`~core.providers.base.Provider` protocol and picks one with
:func:`get_provider`.
"""

from __future__ import annotations

from collections.abc import Callable

from core.providers import mailgun, postmark, resend, sendgrid, ses
from core.providers.base import Provider
from core.providers.fallback import FallbackProvider
from core.providers.outbox import OutboxProvider
from core.providers.smtp import DkimKey, SmtpProvider
from core.settings import Settings


def get_provider(settings: Settings) -> Provider:
    """The provider ``settings.provider`` names (and its fallback), configured from settings."""
    primary = build_provider(settings.provider, settings)
    if not settings.fallback_provider:
        return primary
    return FallbackProvider(primary, build_provider(settings.fallback_provider, settings))


def build_provider(name: str, settings: Settings) -> Provider:
    """One provider by name; refuses to start without the credentials it needs."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise ValueError(f"unknown provider {name!r}")
    return builder(settings)


def _require(settings: Settings, *names: str) -> None:
    missing = [f"HERALD_{name.upper()}" for name in names if not getattr(settings, name)]
    if missing:
        raise ValueError(f"{' and '.join(missing)} must be set to send with {settings.provider}")


def _postmark(settings: Settings) -> Provider:
    _require(settings, "postmark_server_token")
    return postmark.PostmarkProvider(
        base_url=settings.provider_url or postmark.DEFAULT_BASE_URL,
        server_token=settings.postmark_server_token,
        message_stream=settings.postmark_message_stream,
        timeout=settings.provider_timeout_seconds,
    )


def _resend(settings: Settings) -> Provider:
    _require(settings, "resend_api_key")
    return resend.ResendProvider(
        base_url=settings.provider_url or resend.DEFAULT_BASE_URL,
        api_key=settings.resend_api_key,
        timeout=settings.provider_timeout_seconds,
    )


def _sendgrid(settings: Settings) -> Provider:
    _require(settings, "sendgrid_api_key")
    return sendgrid.SendGridProvider(
        base_url=settings.provider_url or sendgrid.DEFAULT_BASE_URL,
        api_key=settings.sendgrid_api_key,
        timeout=settings.provider_timeout_seconds,
    )


def _mailgun(settings: Settings) -> Provider:
    _require(settings, "mailgun_api_key", "mailgun_domain")
    return mailgun.MailgunProvider(
        base_url=settings.provider_url or mailgun.DEFAULT_BASE_URL,
        api_key=settings.mailgun_api_key,
        domain=settings.mailgun_domain,
        timeout=settings.provider_timeout_seconds,
    )


def _ses(settings: Settings) -> Provider:
    _require(settings, "ses_access_key_id", "ses_secret_access_key")
    return ses.SesProvider(
        settings.ses_region,
        settings.ses_access_key_id,
        settings.ses_secret_access_key,
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
        password=settings.smtp_password,
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
