"""Amazon SES, through the SES API v2 ``SendEmail`` operation (``POST /v2/email/outbound-emails``).

Every Herald message differs per recipient (name, unsubscribe token, tracked links, and the
``List-Unsubscribe`` headers), so each one goes as its own ``SendEmail`` call with
``Content.Raw``: the base64 of the message as :func:`core.mime.to_wire` writes it, whose parts
are always 7-bit with lines of at most 1,000 characters, as SES wants. ``SendBulkEmail`` is not
used: it only sends SES templates, rendered by SES from template data, which would mean moving
Herald's rendering into SES's template language and giving up the raw MIME our headers live in.

A batch is therefore a loop of calls, each signed with Signature Version 4 (service ``ses``).
A call answers 200 ``{"MessageId"}``; an error is named by the ``x-amzn-ErrorType`` header (or
the body's ``__type``/``code``) with a ``message``. ``MessageRejected`` and
``BadRequestException`` concern that one message: it is reported refused and the loop goes
on. Every other error concerns the account or the service (throttling, suspension, paused
sending, unverified domain, bad credentials, server errors): the first message's call raises it,
as a failure of the whole batch; after that, the message it hit is reported with the reason
and the rest of the batch is not sent, so a throttled or suspended account is not hammered.

SES has no idempotency key: a call whose answer never came is :class:`OutcomeUnknown`. Events
come back through the configuration set's SNS destination (see
:mod:`core.providers.ses_webhooks`) and find their delivery by the ``delivery_id`` tag.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from core.message import OutgoingMessage
from core.mime import to_wire
from core.providers.base import OutcomeUnknown, ProviderError, SendResult
from core.providers.http import NEVER_SENT, read_json, refused, retry_after, send_one_by_one
from core.providers.sigv4 import Credentials, SigV4Auth

SEND_EMAIL_PATH = "/v2/email/outbound-emails"
ACCOUNT_PATH = "/v2/email/account"
SIGNING_SERVICE = "ses"
MAX_BATCH_SIZE = 50
# Errors about one message; any other error is about the account or the service.
MESSAGE_ERRORS = frozenset({"MessageRejected", "BadRequestException"})
THROTTLING_ERRORS = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling"})

# SES's rule for message tag names and values.
_TAG_TEXT = re.compile(r"[A-Za-z0-9_-]{1,256}")


def default_base_url(region: str) -> str:
    """SES's API v2 endpoint for ``region``."""
    return f"https://email.{region}.amazonaws.com"


class SesProvider:
    """Sends messages one ``SendEmail`` call each over one reusable, signed connection pool."""

    name = "ses"
    max_batch_size = MAX_BATCH_SIZE
    idempotent = False

    def __init__(
        self,
        region: str,
        access_key_id: str,
        secret_access_key: str,
        timeout: float,
        configuration_set: str = "",
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.configuration_set = configuration_set
        self._client = httpx.Client(
            base_url=base_url or default_base_url(region),
            timeout=timeout,
            transport=transport,
            auth=SigV4Auth(Credentials(access_key_id, secret_access_key), region, SIGNING_SERVICE),
            headers={"Accept": "application/json", "Content-Type": "application/json"},
        )

    def send_batch(
        self, messages: Sequence[OutgoingMessage], *, attempt_key: str = ""
    ) -> list[SendResult]:
        """Send ``messages`` one call each, in order (``attempt_key`` is unused: SES has none).

        A failure of a whole call raises while nothing was accepted; after an acceptance it is
        reported on its message, and the messages after it go back to the queue.
        """
        return send_one_by_one(messages, self._send)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def check_access(self) -> str:
        """Prove the key pair: SES's ``GetAccount`` (``GET /v2/email/account``), with the quota."""
        account = read_json(self._client, ACCOUNT_PATH, "SES")
        quota = account.get("SendQuota", {}) if isinstance(account, dict) else {}
        if isinstance(account, dict) and account.get("SendingEnabled") is False:
            raise ProviderError("SES accepts the keys, but sending is disabled", retryable=False)
        return (
            f"SES accepts the keys; sent {quota.get('SentLast24Hours', '?')} of "
            f"{quota.get('Max24HourSend', '?')} in 24 h, {quota.get('MaxSendRate', '?')}/s"
        )

    def request_json(self, message: OutgoingMessage) -> dict[str, Any]:
        """The ``SendEmail`` request body for ``message``."""
        body: dict[str, Any] = {
            "Content": {"Raw": {"Data": raw_data(message)}},
            "Destination": {"ToAddresses": [message.to.email]},
            "EmailTags": email_tags({**message.metadata, "herald_key": message.key}),
        }
        if self.configuration_set:
            body["ConfigurationSetName"] = self.configuration_set
        return body

    def _send(self, message: OutgoingMessage) -> SendResult:
        content = orjson.dumps(self.request_json(message))
        try:
            response = self._client.post(SEND_EMAIL_PATH, content=content)
        except NEVER_SENT as error:
            raise ProviderError(f"SES unreachable: {error!r}", retryable=True) from error
        except httpx.TransportError as error:
            raise OutcomeUnknown(f"SES did not answer: {error!r}") from error
        if response.status_code == httpx.codes.OK:
            return SendResult(
                key=message.key, accepted=True, provider_message_id=_message_id(response)
            )
        code, text = error_of(response)
        detail = f"SES HTTP {response.status_code} {code}: {text}"
        if code in MESSAGE_ERRORS:
            return refused(message, detail)
        raise _call_failed(response, code, detail)


def raw_data(message: OutgoingMessage) -> str:
    """The message as 7-bit MIME with CRLF line ends, base64-encoded for ``Content.Raw``."""
    return base64.b64encode(to_wire(message)).decode()


def email_tags(values: Mapping[str, str]) -> list[dict[str, str]]:
    """SES message tags for ``values``, leaving out any pair outside SES's tag characters.

    A pair is left out rather than rewritten: a rewritten id could point events at another
    delivery.
    """
    return [
        {"Name": name, "Value": value}
        for name, value in values.items()
        if _TAG_TEXT.fullmatch(name) and _TAG_TEXT.fullmatch(value)
    ]


def error_of(response: httpx.Response) -> tuple[str, str]:
    """The AWS error code and message of a failed call, or the start of whatever came."""
    body = _json(response)
    body = body if isinstance(body, dict) else {}
    code = response.headers.get("x-amzn-ErrorType", "") or str(
        body.get("__type") or body.get("code") or body.get("Code") or ""
    )
    # The code may carry a namespace ("...#Name") or a suffix ("Name:http://...").
    code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    text = body.get("message") or body.get("Message")
    return code, str(text) if text is not None else response.text[:500]


def _call_failed(response: httpx.Response, code: str, detail: str) -> ProviderError:
    status = response.status_code
    if status == httpx.codes.TOO_MANY_REQUESTS or code in THROTTLING_ERRORS:
        return ProviderError(
            detail, retryable=True, retry_after=retry_after(response), throttled=True
        )
    return ProviderError(detail, retryable=status >= httpx.codes.INTERNAL_SERVER_ERROR)


def _message_id(response: httpx.Response) -> str | None:
    body = _json(response)
    message_id = body.get("MessageId") if isinstance(body, dict) else None
    return message_id if isinstance(message_id, str) and message_id else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
