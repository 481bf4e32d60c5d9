"""Email providers: adapters from :class:`~core.message.OutgoingMessage` to the outside world.

``outbox`` writes ``.eml`` files (the embedded default); ``postmark``, ``resend``,
``sendgrid``, ``mailgun`` and ``ses`` speak those providers' HTTP APIs (or the local sandbox
in :mod:`sandbox` that imitates them); ``smtp`` speaks to any mail server. An optional
fallback provider takes the batches the first cannot (it is down). Each provider that sends
events back has a reader beside its sender (``<provider>_webhooks``), built on the shared
helpers of :mod:`core.providers.webhook_fields`.

The send pipeline only sees the :class:`~core.providers.base.Provider` protocol and the web
app the :class:`~core.providers.events.WebhookReader` protocol; both pick theirs in
:mod:`core.providers.registry`, the one module that imports every adapter. This package
itself imports nothing, so an adapter importing a sibling never runs the registry.
"""
