"""Amazon SES's API v2 ``SendEmail`` (``POST /v2/email/outbound-emails``), raw messages only,
and ``GetAccount`` (``GET /v2/email/account``), the account's quota.

Requests must be signed with Signature Version 4 for the service ``ses`` (any region) with the
sandbox's key pair, :data:`SANDBOX_ACCESS_KEY_ID` and :data:`SANDBOX_SECRET_ACCESS_KEY`. The
body carries ``Content.Raw.Data`` (base64 MIME); the recipients are ``Destination``'s
addresses, or the MIME ``To`` when there is no ``Destination``. A message's campaign and our
key for it come from its ``EmailTags`` (``campaign_id``, ``herald_key``). The answer is
``{"MessageId"}``. A raw message needs a header and a body and no line over 1,000
characters, as SES's ``RawMessage`` requires. Errors are AWS's REST-JSON errors: the code in
``x-amzn-ErrorType`` and a ``{"message"}`` body. Faults: a throttled call gets 429
``TooManyRequestsException`` (with ``Retry-After``), an injected error 500
``InternalServiceErrorException``.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.providers.sigv4 import SignatureRefused, check
from sandbox.faults import Fault
from sandbox.mailroom import Envelope, Json, addresses
from sandbox.state import Sandbox, json_response, now_iso

SANDBOX_ACCESS_KEY_ID = "sandbox-key"
SANDBOX_SECRET_ACCESS_KEY = "sandbox-secret"  # noqa: S105 - the sandbox guards nothing
SIGNING_SERVICE = "ses"
MAX_RECIPIENTS = 50
MAX_LINE_LENGTH = 1000  # RFC 5321, counting the CRLF
_TAG_TEXT = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Problem(Exception):
    """Why SES refuses a request: HTTP status, AWS error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def ses_routes(sandbox: Sandbox) -> APIRouter:
    """SES's ``SendEmail`` endpoint, recording into ``sandbox``."""
    router = APIRouter()

    @router.post("/v2/email/outbound-emails")
    async def send_email(request: Request) -> Response:
        body = await request.body()
        try:
            _authenticate(request, body)
        except SignatureRefused as refused:
            return _error(Problem(403, refused.code, str(refused)))
        fault = sandbox.roll()
        if fault is Fault.THROTTLE:
            retry_after = str(sandbox.faults.settings.retry_after)
            problem = Problem(429, "TooManyRequestsException", "Too many requests.")
            return _error(problem, {"Retry-After": retry_after})
        if fault is Fault.ERROR:
            return _error(Problem(500, "InternalServiceErrorException", "Internal error."))
        try:
            answer = _send(sandbox, body)
        except Problem as problem:
            return _error(problem)
        await sandbox.linger(fault)
        return json_response(answer)

    @router.get("/v2/email/account")
    async def get_account(request: Request) -> Response:
        # ``GetAccount``, the cheap signed read `herald doctor` makes.
        try:
            _authenticate(request, await request.body())
        except SignatureRefused as refused:
            return _error(Problem(403, refused.code, str(refused)))
        quota = {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 0.0}
        return json_response({"SendQuota": quota, "SendingEnabled": True})

    return router


def _authenticate(request: Request, body: bytes) -> None:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    check(
        method=request.method,
        path=raw_path.decode("ascii", "replace").partition("?")[0],
        query=request.scope.get("query_string", b"").decode("ascii", "replace"),
        headers=[
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
        ],
        payload=body,
        secrets={SANDBOX_ACCESS_KEY_ID: SANDBOX_SECRET_ACCESS_KEY},
        service=SIGNING_SERVICE,
        now=datetime.now(UTC),
    )


def _send(sandbox: Sandbox, body: bytes) -> Json:
    """Record the message of a ``SendEmail`` body; SES's answer."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Problem(400, "BadRequestException", "The request body is not valid JSON.") from None
    if not isinstance(request, dict):
        raise Problem(400, "BadRequestException", "The request body must be a JSON object.")
    raw = _raw_message(request.get("Content"))
    mime = BytesParser(policy=policy.default).parsebytes(raw)
    recipients = _recipients(request.get("Destination"), mime.get("To"))
    tags = _tags(request.get("EmailTags"))
    [message_id] = sandbox.mailroom.accept(
        [Envelope(tags.get("campaign_id"), recipients, tags.get("herald_key"))]
    )
    sandbox.mailroom.remember(
        [
            {
                "id": message_id,
                "created_at": now_iso(),
                "to": recipients,
                "subject": str(mime.get("Subject", "")),
                "tags": tags,
                "configuration_set": request.get("ConfigurationSetName"),
                "raw": raw.decode("utf-8", "replace"),
            }
        ]
    )
    return {"MessageId": message_id}


def _raw_message(content: Any) -> bytes:
    raw = content.get("Raw") if isinstance(content, dict) else None
    data = raw.get("Data") if isinstance(raw, dict) else None
    if not isinstance(data, str) or not data:
        raise Problem(400, "BadRequestException", "Content.Raw.Data is required.")
    try:
        message = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise Problem(400, "BadRequestException", "Content.Raw.Data is not base64.") from None
    if b"\r\n\r\n" not in message and b"\n\n" not in message:
        raise Problem(400, "MessageRejected", "The message has no header and body.")
    if any(len(line) > MAX_LINE_LENGTH for line in message.split(b"\n")):
        raise Problem(400, "MessageRejected", "A line of the message exceeds 1,000 characters.")
    return message


def _recipients(destination: Any, to_header: Any) -> list[str]:
    given = destination.get("ToAddresses") if isinstance(destination, dict) else None
    recipients = addresses(given) if given else addresses(str(to_header or ""))
    if not recipients:
        raise Problem(400, "BadRequestException", "No valid recipient address.")
    if len(recipients) > MAX_RECIPIENTS:
        raise Problem(400, "MessageRejected", f"At most {MAX_RECIPIENTS} recipients.")
    return recipients


def _tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    tags: dict[str, str] = {}
    for tag in value if isinstance(value, list) else [None]:
        name = tag.get("Name") if isinstance(tag, dict) else None
        text = tag.get("Value") if isinstance(tag, dict) else None
        if not (isinstance(name, str) and isinstance(text, str)):
            raise Problem(400, "BadRequestException", "EmailTags must be {Name, Value} objects.")
        if not (_TAG_TEXT.fullmatch(name) and _TAG_TEXT.fullmatch(text)):
            raise Problem(
                400,
                "BadRequestException",
                "Tag names and values are ASCII letters, numbers, underscores or dashes "
                "(at most 256 characters).",
            )
        tags[name] = text
    return tags


def _error(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    return json_response(
        {"message": str(problem)},
        problem.status,
        {"x-amzn-ErrorType": problem.code, **(headers or {})},
    )
