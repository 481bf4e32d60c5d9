"""Postmark's send endpoints: ``POST /email/batch`` (up to 500 messages) and ``POST /email``,
its outbound message search (``GET /messages/outbound``) by ``metadata_<field>``, and the
server the token belongs to (``GET /server``).

Answers as Postmark documents them: the server token in ``X-Postmark-Server-Token``, one result
per message in request order with its own ``ErrorCode`` (0: accepted), and a
``{"ErrorCode", "Message"}`` body when the whole call fails. A message's campaign and our key
for it come from its ``Metadata`` (``campaign_id``, ``herald_key``).

Injected faults look like Postmark's: a throttled call gets HTTP 429 with Postmark's error code
429 and a ``Retry-After`` header; an injected error is a bare 500, as from a failing server.
The search is never faulted: it answers from the records of what was accepted, and only by
the ``delivery_id`` and ``campaign_id`` metadata (what Herald searches by).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from sandbox.faults import Fault
from sandbox.mailroom import Envelope, Found, Json, addresses
from sandbox.state import Sandbox, json_response, now_iso

MAX_BATCH_MESSAGES = 500
MAX_SEARCH_COUNT = 500
MAX_SEARCH_WINDOW = 10_000
TOKEN_HEADER = "X-Postmark-Server-Token"  # noqa: S105 - a header name


def postmark_routes(sandbox: Sandbox) -> APIRouter:
    """Postmark's send endpoints, recording into ``sandbox``."""
    router = APIRouter()

    @router.post("/email/batch")
    async def send_batch(request: Request) -> Response:
        refusal, fault, body = await _admit(request, sandbox)
        if refusal is not None:
            return refusal
        if not isinstance(body, list):
            return _api_error(422, 403, "Incompatible JSON: a batch must be a JSON array.")
        if len(body) > MAX_BATCH_MESSAGES:
            return _api_error(422, 410, f"Too many batch messages (max {MAX_BATCH_MESSAGES}).")
        response = json_response(_send(sandbox, body))
        await sandbox.linger(fault)
        return response

    @router.post("/email")
    async def send_single(request: Request) -> Response:
        refusal, fault, body = await _admit(request, sandbox)
        if refusal is not None:
            return refusal
        [answer] = _send(sandbox, [body])
        response = json_response(answer, 200 if answer["ErrorCode"] == 0 else 422)
        await sandbox.linger(fault)
        return response

    @router.get("/messages/outbound")
    async def search_outbound(request: Request) -> Response:
        if request.headers.get(TOKEN_HEADER) != sandbox.config.server_token:
            return _api_error(401, 10, "Bad or missing Server API token.")
        return _search(sandbox, dict(request.query_params))

    @router.get("/server")
    async def server(request: Request) -> Response:
        # The cheap authenticated read `herald doctor` makes: the token's server.
        if request.headers.get(TOKEN_HEADER) != sandbox.config.server_token:
            return _api_error(401, 10, "Bad or missing Server API token.")
        return json_response({"ID": 1, "Name": "Herald sandbox", "DeliveryType": "Live"})

    return router


def _search(sandbox: Sandbox, query: dict[str, str]) -> Response:
    """Postmark's outbound message search, filtered by ``metadata_delivery_id`` (required
    here) and ``metadata_campaign_id``; ``count`` and ``offset`` as Postmark checks them."""
    try:
        count, offset = int(query["count"]), int(query["offset"])
    except (KeyError, ValueError):
        return _api_error(422, 1301, "The 'count' and 'offset' parameters are required.")
    if not 0 < count <= MAX_SEARCH_COUNT or offset < 0 or count + offset > MAX_SEARCH_WINDOW:
        return _api_error(422, 1301, "count must be 1-500 and count + offset at most 10,000.")
    delivery_id = query.get("metadata_delivery_id")
    if delivery_id is None:
        return _api_error(422, 1301, "This sandbox searches by metadata_delivery_id only.")
    found = sandbox.mailroom.find(delivery_id, query.get("metadata_campaign_id"))
    page = [_summary(message) for message in found[offset : offset + count]]
    return json_response({"TotalCount": len(found), "Messages": page})


def _summary(message: Found) -> Json:
    """A search result as Postmark shapes it (the fields the sandbox kept; others empty)."""
    metadata = {"delivery_id": message.delivery_id}
    if message.campaign_id is not None:
        metadata["campaign_id"] = message.campaign_id
    at = datetime.fromtimestamp(message.accepted_at, UTC).isoformat()
    return {
        "Tag": "",
        "MessageID": message.message_id,
        "MessageStream": "broadcast",
        "To": [{"Email": message.recipient, "Name": None}],
        "Cc": [],
        "Bcc": [],
        "Recipients": [message.recipient],
        "ReceivedAt": at,
        "From": "",
        "Subject": "",
        "Attachments": [],
        "Status": "Sent",
        "TrackOpens": False,
        "TrackLinks": "None",
        "Metadata": metadata,
        "Sandboxed": False,
    }


async def _admit(request: Request, sandbox: Sandbox) -> tuple[Response | None, Fault | None, Any]:
    """The refusal for a bad token, an injected fault or bad JSON; else the fault and body."""
    if request.headers.get(TOKEN_HEADER) != sandbox.config.server_token:
        return _api_error(401, 10, "Bad or missing Server API token."), None, None
    fault = sandbox.roll()
    if fault is Fault.THROTTLE:
        retry_after = str(sandbox.faults.settings.retry_after)
        refusal = _api_error(429, 429, "Rate limit exceeded.", {"Retry-After": retry_after})
        return refusal, fault, None
    if fault is Fault.ERROR:
        return PlainTextResponse("Internal Server Error", status_code=500), fault, None
    try:
        return None, fault, orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _api_error(422, 402, "Invalid JSON."), fault, None


def _send(sandbox: Sandbox, messages: list[Any]) -> list[Json]:
    """Record the valid ``messages``; Postmark's answer for each, in order."""
    at = now_iso()
    checked = [_check(message) for message in messages]
    accepted = [
        (message, envelope)
        for message, envelope in zip(messages, checked, strict=True)
        if isinstance(envelope, Envelope)
    ]
    ids = sandbox.mailroom.accept([envelope for _, envelope in accepted])
    sandbox.mailroom.remember(
        {**message, "MessageID": message_id, "SubmittedAt": at}
        for (message, _), message_id in zip(accepted, ids, strict=True)
    )
    _announce(sandbox, accepted, ids, at)
    issued = iter(ids)
    return [
        _accepted(message, next(issued), at)
        if isinstance(envelope, Envelope)
        else {"ErrorCode": 300, "Message": f"Invalid email request: {envelope}"}
        for message, envelope in zip(messages, checked, strict=True)
    ]


def _check(message: Any) -> Envelope | str:
    """What the sandbox keeps of a valid ``message``, or why it is invalid."""
    if not isinstance(message, dict):
        return "each message must be a JSON object."
    for field in ("From", "To", "Subject"):
        if not _filled(message.get(field)):
            return f"the '{field}' field is required."
    if not (_filled(message.get("HtmlBody")) or _filled(message.get("TextBody"))):
        return "provide either a TextBody or an HtmlBody or both."
    recipients = addresses(message["To"])
    if not recipients:
        return f"invalid 'To' address: {message['To']!r}."
    metadata = message.get("Metadata")
    if not isinstance(metadata, dict):
        return Envelope(None, recipients, None)
    return Envelope(
        _text(metadata.get("campaign_id")),
        recipients,
        _text(metadata.get("herald_key")),
        _text(metadata.get("delivery_id")),
    )


def _accepted(message: Json, message_id: str, at: str) -> Json:
    return {
        "ErrorCode": 0,
        "Message": "OK",
        "MessageID": message_id,
        "SubmittedAt": at,
        "To": message["To"],
    }


def _announce(
    sandbox: Sandbox, accepted: list[tuple[Json, Envelope]], ids: list[str], at: str
) -> None:
    url = sandbox.faults.settings.webhook_url
    if url and accepted:
        sandbox.webhooks.announce(
            url,
            (
                (message, message_id, envelope.recipients)
                for (message, envelope), message_id in zip(accepted, ids, strict=True)
            ),
            at,
            sandbox.faults.bounces,
        )


def _filled(value: Any) -> bool:
    # isspace() rather than strip(): no copy of a 20 KB body just to look at it.
    return isinstance(value, str) and bool(value) and not value.isspace()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _api_error(
    status: int, error_code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response({"ErrorCode": error_code, "Message": message}, status, headers)
