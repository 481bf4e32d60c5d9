"""Mailgun, one message per request to ``POST /v3/<domain>/messages.mime``.

Mailgun's batch sending takes up to 1,000 recipients in one call, but with one body for all
of them: the differences between recipients travel as ``recipient-variables``, a JSON object
keyed by plain address, substituted wherever the body or a header says ``%recipient.x%``.
Herald's messages reach the adapter already rendered per recipient (name, unsubscribe token,
tracked links, a per-recipient ``List-Unsubscribe``), so the only way to carry them through
that mechanism would be a body of ``%recipient.html%`` with every recipient's whole HTML and
text as variables: a template the pipeline does not produce. A batch call would also answer
with one message id for every recipient, so ours could not be told apart in its answer. So
each message is its own request, over one pooled keep-alive connection.

The message goes as MIME, written by :func:`~core.mime.to_wire`: the same bytes the outbox
writes, with our Message-ID and Date, RFC 2047 subject and names, the plain-text part, and the
``List-Unsubscribe`` / ``List-Unsubscribe-Post`` headers exactly as rendered. The component
endpoint (``/messages``) would have Mailgun build the MIME and documents no way to keep our
Message-ID. Next to the MIME file go the options Mailgun documents for this endpoint:

- ``to``: the recipient (Mailgun's envelope; the MIME's To header is what the reader sees);
- ``v:<name>``: custom variables, which Mailgun hands back in every event's
  ``user-variables``: the message's metadata (``campaign_id``, ``delivery_id``) and our
  ``herald_key``; events find their delivery through them;
- ``o:tracking``, ``o:tracking-clicks``, ``o:tracking-opens`` set to ``no``: Herald tracks
  opens and clicks itself, and the per-message setting overrides the domain's.

Mailgun answers 200 ``{"id": "<...>", "message": "Queued. Thank you."}``. It has no
idempotency key, so ``idempotent = False``: a request that got no answer is reported as
:class:`OutcomeUnknown` and never resent. A 400 (a parameter Mailgun refuses, such as an
invalid address) or 413 (too large) is about that one message: it is refused and the batch
goes on. 429 is throttling (``Retry-After`` when given), other 5xx are retryable, 504 means a
gateway gave up waiting for Mailgun, which may have queued the message, so it is unknown too;
anything else (401 bad key, 404 unknown domain) concerns every message. Such a failure raises
when nothing of the batch was accepted yet; after that it cannot be raised without losing the
accepted results, so it is reported on that message and the rest of the batch is not
attempted (hammering on after a 429 or an outage would only make it worse).

Calls are sequential, so the batch is sized by time, not by Mailgun's limits: 50 requests
finish well within a delivery's lease.

What became of a message whose answer never came, Mailgun's events can tell
(:meth:`MailgunProvider.reconcile`): ``GET /v3/<domain>/events`` with ``event=accepted``
and a ``user-variables`` filter on the ``delivery_id`` and ``campaign_id`` we sent as ``v:``
variables, from a little before the dispatch. Mailgun keeps events for days, well beyond
the sweeper's window.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from core.message import OutgoingMessage
from core.mime import to_wire
from core.providers.base import Dispatched, OutcomeUnknown, ProviderError, SendResult, Sighting
from core.providers.http import NEVER_SENT, read_json, refused, retry_after, send_one_by_one

DEFAULT_BASE_URL = "https://api.mailgun.net"
MAX_BATCH_SIZE = 50
API_USER = "api"
NO_TRACKING = {"o:tracking": "no", "o:tracking-clicks": "no", "o:tracking-opens": "no"}

# Refusals that concern only the message sent: the rest of the batch may go on.
_MESSAGE_REFUSALS = frozenset({httpx.codes.BAD_REQUEST, httpx.codes.REQUEST_ENTITY_TOO_LARGE})
# Names of custom variables we send; others are left out rather than rewritten.
_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")


class MailgunProvider:
    """Sends messages to Mailgun's HTTP API, one request each, over one connection pool."""

    name = "mailgun"
    max_batch_size = MAX_BATCH_SIZE
    idempotent = False

    def __init__(
        self,
        base_url: str,
        api_key: str,
        domain: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._path = messages_mime_path(domain)
        self._events_path = self._path.removesuffix("/messages.mime") + "/events"
        self._client = httpx.Client(
            base_url=api_root(base_url),
            timeout=timeout,
            transport=transport,
            auth=(API_USER, api_key),
            headers={"Accept": "application/json"},
        )

    def send_batch(
        self, messages: Sequence[OutgoingMessage], *, attempt_key: str = ""
    ) -> list[SendResult]:
        """Send each message in its own request; one result per message, in order.

        ``attempt_key`` is not used: Mailgun has no idempotency key. A failure that concerns
        every message raises while nothing was accepted; after an acceptance it ends the
        batch, reported on that message and the ones not attempted.
        """
        return send_one_by_one(messages, self._send)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def check_access(self) -> str:
        """Prove the API key and the domain: Mailgun's ``GET /v4/domains/<domain>``."""
        path = self._path.removesuffix("/messages.mime").replace("/v3/", "/v4/domains/", 1)
        answer = read_json(self._client, path, "Mailgun")
        domain = answer.get("domain", {}) if isinstance(answer, dict) else {}
        state = domain.get("state") if isinstance(domain, dict) else None
        if state not in (None, "active"):
            raise ProviderError(
                f"Mailgun domain {domain.get('name')!r} is {state}", retryable=False
            )
        return f"Mailgun accepts the API key for domain {domain.get('name')!r}"

    def reconcile(self, messages: Sequence[Dispatched]) -> list[Sighting]:
        """Ask Mailgun's events whether each dispatched message was accepted, one query each.

        Stops at the first query that fails: the sightings so far are returned (the rest
        stay in doubt), or :class:`ProviderError` is raised when not even one answered.
        """
        sightings: list[Sighting] = []
        for message in messages:
            try:
                sightings.append(accepted_event(self._client, self._events_path, message))
            except ProviderError:
                if not sightings:
                    raise
                break
        return sightings

    def _send(self, message: OutgoingMessage) -> SendResult:
        try:
            response = self._client.post(
                self._path, data=form_fields(message), files={"message": mime_file(message)}
            )
        except NEVER_SENT as error:
            raise ProviderError(f"Mailgun unreachable: {error!r}", retryable=True) from error
        except httpx.TransportError as error:
            raise OutcomeUnknown(f"Mailgun did not answer: {error!r}", resendable=False) from error
        if response.status_code == httpx.codes.OK:
            return _accepted(message, response)
        if response.status_code in _MESSAGE_REFUSALS:
            return refused(message, _detail(response))
        raise _call_failed(response)


def form_fields(message: OutgoingMessage) -> dict[str, str]:
    """The form fields sent next to the MIME file: recipient, custom variables, no tracking."""
    return {"to": message.to.email, **custom_variables(message), **NO_TRACKING}


def custom_variables(message: OutgoingMessage) -> dict[str, str]:
    """``v:`` fields for the metadata and ``herald_key``; badly named ones are left out."""
    values: Mapping[str, str] = {**message.metadata, "herald_key": message.key}
    return {f"v:{name}": value for name, value in values.items() if _VARIABLE_NAME.fullmatch(name)}


def mime_file(message: OutgoingMessage) -> tuple[str, bytes, str]:
    """The ``message`` upload: the MIME with CRLF line endings, as on the wire."""
    return ("message.mime", to_wire(message), "message/rfc822")


def messages_mime_path(domain: str) -> str:
    """``/v3/<domain>/messages.mime``; a domain that could change the path is refused."""
    if not domain or "/" in domain or domain.strip() != domain or not domain.isprintable():
        raise ValueError(f"not a Mailgun sending domain: {domain!r}")
    return f"/v3/{quote(domain, safe='')}/messages.mime"


def api_root(base_url: str) -> str:
    """The API's root URL, accepting the ``.../v3`` form older documentation gives."""
    root = base_url.rstrip("/")
    return root.removesuffix("/v3")


def _accepted(message: OutgoingMessage, response: httpx.Response) -> SendResult:
    answer = _json(response)
    message_id = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(message_id, str) or not message_id:
        # Mailgun answered, so the message may be queued: sending it again could duplicate it.
        raise OutcomeUnknown(
            f"Mailgun answered 200 without a message id: {response.text[:300]}",
            resendable=False,
        )
    return SendResult(key=message.key, accepted=True, provider_message_id=message_id)


def _call_failed(response: httpx.Response) -> ProviderError | OutcomeUnknown:
    status = response.status_code
    detail = _detail(response)
    if status == httpx.codes.GATEWAY_TIMEOUT:
        return OutcomeUnknown(f"{detail} (Mailgun may have queued the message)", resendable=False)
    if status == httpx.codes.TOO_MANY_REQUESTS:
        return ProviderError(
            detail, retryable=True, retry_after=retry_after(response), throttled=True
        )
    return ProviderError(detail, retryable=status >= httpx.codes.INTERNAL_SERVER_ERROR)


def _detail(response: httpx.Response) -> str:
    """``Mailgun HTTP <status>: <message>``, or the start of whatever came instead."""
    body = _json(response)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = body["message"]
    else:
        text = response.text[:500]
    return f"Mailgun HTTP {response.status_code}: {text}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


EVENTS_LOOKBACK = timedelta(minutes=5)
"""How long before the dispatch the events query starts (clocks differ between machines)."""


def accepted_event(client: httpx.Client, path: str, message: Dispatched) -> Sighting:
    """Whether Mailgun accepted ``message``: its ``accepted`` events by our variables."""
    variables = {"delivery_id": message.key, "campaign_id": message.campaign_id}
    query = {
        "event": "accepted",
        "user-variables": json.dumps(variables, separators=(",", ":")),
        "begin": str(int((message.dispatched_at - EVENTS_LOOKBACK).timestamp())),
        "ascending": "yes",
        "limit": "1",
    }
    try:
        response = client.get(path, params=query)
    except httpx.TransportError as error:
        raise ProviderError(f"Mailgun events failed: {error!r}", retryable=True) from error
    if response.status_code != httpx.codes.OK:
        failed = _call_failed(response)
        raise (
            failed
            if isinstance(failed, ProviderError)
            else ProviderError(str(failed), retryable=True)
        )
    items = _json(response)
    items = items.get("items") if isinstance(items, dict) else None
    if not isinstance(items, list):
        raise ProviderError(f"Mailgun events answered {response.text[:200]!r}", retryable=True)
    if not items:
        return Sighting(key=message.key, seen=False)
    return Sighting(key=message.key, seen=True, provider_message_id=_event_message_id(items[0]))


def _event_message_id(event: Any) -> str | None:
    """The message id as the send call answered it (``<...>``); events leave out the brackets."""
    message = event.get("message") if isinstance(event, dict) else None
    headers = message.get("headers") if isinstance(message, dict) else None
    found = headers.get("message-id") if isinstance(headers, dict) else None
    return f"<{found.strip('<>')}>" if isinstance(found, str) and found else None
