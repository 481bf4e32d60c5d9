"""A local stand-in for email providers' HTTP APIs, for tests, benchmarks and local development.

Nothing is delivered anywhere. It speaks:

- Postmark: ``POST /email/batch`` and ``POST /email`` (token in ``X-Postmark-Server-Token``);
- Resend: ``POST /emails/batch`` and ``POST /emails`` (``Authorization: Bearer <key>``, with
  ``Idempotency-Key`` and ``x-batch-validation: permissive``);
- SendGrid: ``POST /v3/mail/send`` (``Authorization: Bearer <key>``);
- Mailgun: ``POST /v3/{domain}/messages`` and ``/messages.mime`` (basic auth ``api:<key>``);
- Amazon SES v2: ``POST /v2/email/outbound-emails`` (SigV4 with the sandbox's keys);

and answers about itself under ``/_sandbox``: ``GET stats`` (counts, O(1)), ``GET messages``
(the latest full messages), ``GET recipients?campaign_id=X`` (``{recipient: count}``),
``GET``/``POST faults`` (throttling, errors, slow answers, webhooks), ``POST reset``.

It scales to millions of messages: every accepted message leaves a compact record, only the
latest ``keep_messages`` are kept whole. Faults are drawn once per send request. Accepted
Postmark messages can be reported back as Postmark delivery or bounce webhooks.

Point ``HERALD_PROVIDER_URL`` at it with ``HERALD_PROVIDER`` set and the sandbox token as
the provider's key (``sandbox-token``; SES: ``sandbox-key`` / ``sandbox-secret``).
"""

from sandbox.app import create_sandbox_app, run_sandbox_in_thread, serve_in_thread
from sandbox.faults import Fault, FaultSettings
from sandbox.state import SANDBOX_TOKEN, SandboxConfig

__all__ = [
    "SANDBOX_TOKEN",
    "Fault",
    "FaultSettings",
    "SandboxConfig",
    "create_sandbox_app",
    "run_sandbox_in_thread",
    "serve_in_thread",
]
