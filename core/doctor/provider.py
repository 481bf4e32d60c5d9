"""The provider check of ``herald doctor``: the configured provider (and its fallback) built
from the settings as a worker builds it, then asked one cheap authenticated read that sends
nothing: the credentials are proved before the first campaign, not by its first batch."""

from __future__ import annotations

from core.doctor.checks import Check, fail, ok, warn
from core.providers.base import Checkable, ProviderError
from core.providers.registry import BUILD_ERRORS, build_provider
from core.settings import Settings


def provider_checks(settings: Settings) -> list[Check]:
    """One check for the provider, and one for the fallback provider when there is one."""
    checks = [provider_access("provider", settings.provider, settings)]
    if settings.fallback_provider:
        checks.append(provider_access("fallback", settings.fallback_provider, settings))
    return checks


def provider_access(name: str, provider_name: str, settings: Settings) -> Check:
    """Build the provider named ``provider_name`` and have it prove its credentials."""
    label = f"{name} {provider_name}"
    # The doctor's own timeout: a provider that does not answer soon is reported, not awaited.
    timeout = min(settings.provider_timeout_seconds, settings.doctor_timeout_seconds)
    try:
        provider = build_provider(
            provider_name, settings.model_copy(update={"provider_timeout_seconds": timeout})
        )
    except BUILD_ERRORS as error:
        return fail(label, f"cannot be built: {error}")
    try:
        if not isinstance(provider, Checkable):
            return warn(label, "built, but it has no way to prove its credentials")
        return ok(label, provider.check_access())
    except ProviderError as error:
        return fail(label, str(error))
    finally:
        provider.close()
