"""Mailgun's send endpoints: ``POST /v3/<domain>/messages`` and ``/v3/<domain>/messages.mime``,
its events (``GET /v3/<domain>/events``) filtered by ``user-variables``, and the domain
itself (``GET /v4/domains/<domain>``).

Answers as Mailgun documents them: HTTP basic auth with user ``api`` and the API key as the
password (here the key the Resend routes accept); a form (urlencoded or multipart) with ``to``
(repeatable, or comma-separated) and either the message's parts (``from``, ``subject``,
``text`` and/or ``html``) or, for ``messages.mime``, the whole MIME as the ``message`` upload;
``v:<name>`` custom variables, ``o:`` options and ``h:`` headers alongside. A message is
answered 200 with ``{"id": "<...>", "message": "Queued. Thank you."}``, a refusal with an HTTP
error and ``{"message": ...}``. Every sending domain is accepted. A message's campaign and our
key for it come from its ``v:campaign_id`` and ``v:herald_key``.

Faults are drawn once per request, as for the other providers: 429 with ``Retry-After``, a
500, or an answer held back after the message was recorded.

The events endpoint answers ``accepted`` events only, found by the ``delivery_id`` (and
``campaign_id``) of the ``user-variables`` filter, a JSON object as Mailgun takes it, in
Mailgun's shape: ``{"items": [...], "paging": {...}}``, one page. It is never faulted.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from sandbox.faults import Fault
from sandbox.mailroom import Envelope, Found, Json, addresses
from sandbox.state import Sandbox, json_response, now_iso

API_USER = "api"
QUEUED = "Queued. Thank you."
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
"""Mailgun's documented limit on a message, here on any one form field."""
MAX_OPTIONS_BYTES = 16 * 1024
"""Mailgun's documented limit on ``o:``, ``h:``, ``v:`` and ``t:`` options together."""
_OPTION_PREFIXES = ("o:", "h:", "v:", "t:")


class Refusal(Exception):
    """Mailgun refuses the request: answer ``status`` with ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def mailgun_routes(sandbox: Sandbox) -> APIRouter:
    """Mailgun's send endpoints, recording into ``sandbox``."""
    router = APIRouter()

    @router.post("/v3/{domain}/messages")
    async def send_message(domain: str, request: Request) -> Response:
        return await _send(request, sandbox, domain, mime=False)

    @router.post("/v3/{domain}/messages.mime")
    async def send_mime(domain: str, request: Request) -> Response:
        return await _send(request, sandbox, domain, mime=True)

    @router.get("/v3/{domain}/events")
    async def events(domain: str, request: Request) -> Response:
        try:
            _authorise(request, sandbox.config.resend_api_key)
            found = _find(sandbox, dict(request.query_params))
        except Refusal as refusal:
            return json_response({"message": refusal.message}, refusal.status)
        items = [_accepted_event(message, domain) for message in found]
        page = str(request.url)
        return json_response({"items": items, "paging": dict.fromkeys(PAGES, page)})

    @router.get("/v4/domains/{domain}")
    async def domain(domain: str, request: Request) -> Response:
        # The cheap authenticated read `herald doctor` makes; every domain is active here.
        try:
            _authorise(request, sandbox.config.resend_api_key)
        except Refusal as refusal:
            return json_response({"message": refusal.message}, refusal.status)
        return json_response({"domain": {"name": domain, "state": "active"}})

    return router


PAGES = ("first", "last", "next", "previous")


def _find(sandbox: Sandbox, query: dict[str, str]) -> list[Found]:
    """The accepted messages the query's ``user-variables`` filter names."""
    if query.get("event", "accepted") != "accepted":
        return []
    try:
        variables = json.loads(query["user-variables"])
    except (KeyError, ValueError) as error:
        raise Refusal(400, "this sandbox filters events by user-variables only") from error
    if not isinstance(variables, dict) or "delivery_id" not in variables:
        raise Refusal(400, "user-variables must be a JSON object with a delivery_id")
    campaign = variables.get("campaign_id")
    limit = min(int(query.get("limit", "300") or 300), 300)
    found = sandbox.mailroom.find(str(variables["delivery_id"]), _text(campaign))
    return found[:limit]


def _accepted_event(message: Found, domain: str) -> Json:
    """An ``accepted`` event as Mailgun shapes it (what the sandbox kept of the message)."""
    variables = {"delivery_id": message.delivery_id}
    if message.campaign_id is not None:
        variables["campaign_id"] = message.campaign_id
    return {
        "id": f"sandbox-{message.message_id}",
        "event": "accepted",
        "timestamp": message.accepted_at,
        "recipient": message.recipient,
        "message": {"headers": {"message-id": f"{message.message_id}@{domain}"}},
        "user-variables": variables,
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def _send(request: Request, sandbox: Sandbox, domain: str, *, mime: bool) -> Response:
    try:
        _authorise(request, sandbox.config.resend_api_key)
        fault = _admit(sandbox)
        async with request.form(max_part_size=MAX_MESSAGE_BYTES) as form:
            message = await _message(form, mime=mime)
    except Refusal as refusal:
        return _refusal(refusal, sandbox)
    message_id = _accept(sandbox, message, domain)
    await sandbox.linger(fault)
    return json_response({"id": message_id, "message": QUEUED})


def _authorise(request: Request, api_key: str) -> None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    user, _, password = decoded.partition(":")
    if scheme.lower() != "basic" or user != API_USER or password != api_key:
        raise Refusal(401, "Invalid private key")


def _admit(sandbox: Sandbox) -> Fault | None:
    """The fault for this request, raised as a refusal if it refuses the request."""
    fault = sandbox.roll()
    if fault is Fault.THROTTLE:
        raise Refusal(429, "Too many requests")
    if fault is Fault.ERROR:
        raise Refusal(500, "Internal Server Error")
    return fault


async def _message(form: FormData, *, mime: bool) -> Json:
    """What the sandbox keeps of a valid message; a :class:`Refusal` names what is wrong."""
    fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
    recipients = [value for value in form.getlist("to") if isinstance(value, str)]
    if not recipients:
        raise Refusal(400, "'to' parameter is missing")
    if not addresses(recipients):
        raise Refusal(400, "to parameter is not a valid address. please check documentation")
    _check_options(fields)
    message = {**fields, "to": recipients}
    if mime:
        message["message"] = await _mime(form.get("message"))
    else:
        _check_parts(fields)
    return message


async def _mime(upload: Any) -> str:
    if isinstance(upload, UploadFile):
        return (await upload.read()).decode("utf-8", errors="replace")
    if isinstance(upload, str) and upload:
        return upload
    raise Refusal(400, "'message' parameter is missing")


def _check_parts(fields: dict[str, str]) -> None:
    for name in ("from", "subject"):
        if not fields.get(name):
            raise Refusal(400, f"'{name}' parameter is missing")
    if len(addresses(fields["from"])) != 1:
        raise Refusal(400, "from parameter is not a valid address. please check documentation")
    if not (fields.get("text") or fields.get("html")):
        raise Refusal(400, "Need at least one of 'text' or 'html' parameters specified")


def _check_options(fields: dict[str, str]) -> None:
    size = sum(
        len(name.encode()) + len(value.encode())
        for name, value in fields.items()
        if name.startswith(_OPTION_PREFIXES)
    )
    if size > MAX_OPTIONS_BYTES:
        raise Refusal(400, "Send options (o:, h:, v:, t:) are limited to 16 kB total")


def _accept(sandbox: Sandbox, message: Json, domain: str) -> str:
    envelope = Envelope(
        message.get("v:campaign_id"),
        addresses(message["to"]),
        message.get("v:herald_key"),
        message.get("v:delivery_id"),
    )
    [stored_id] = sandbox.mailroom.accept([envelope])
    message_id = f"<{stored_id}@{domain}>"
    sandbox.mailroom.remember([{**message, "id": message_id, "created_at": now_iso()}])
    return message_id


def _refusal(refusal: Refusal, sandbox: Sandbox) -> Response:
    headers = None
    if refusal.status == 429:
        headers = {"Retry-After": str(sandbox.faults.settings.retry_after)}
    return json_response({"message": refusal.message}, refusal.status, headers)
