"""SendGrid's v3 Mail Send endpoint: ``POST /v3/mail/send``; and ``GET /v3/scopes``, what
the key may do.

Answers as SendGrid documents them: ``Authorization: Bearer <key>``, else 401; a valid request
is answered ``202 Accepted`` with an empty body and an ``X-Message-Id`` header (the id of its
first email); an invalid one is refused as a whole, 400 with
``{"errors": [{"message", "field", "help"}]}`` listing what is wrong (nothing is sent). Each
personalization is one email to its ``to``, ``cc`` and ``bcc``; its campaign and our key for it
come from its ``custom_args``, merged over the request's own, ``campaign_id`` and
``herald_key``. A throttled request is answered 429 with SendGrid's ``X-RateLimit-*`` headers
(``X-RateLimit-Reset`` is the unix time the limit resets), an injected error 500.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.faults import Fault
from sandbox.mailroom import Envelope, Json, addresses
from sandbox.state import Sandbox, json_response, now_iso

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
RATE_LIMIT = 600
"""The ``X-RateLimit-Limit`` the sandbox reports; clients only need the reset."""
RESERVED_HEADERS = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)
_RECIPIENT_FIELDS = ("to", "cc", "bcc")
_ADDRESS_FORMAT = (
    "must at least have an `email` parameter with a valid email address and may also "
    "contain a `name` parameter."
)


class Problem(NamedTuple):
    """One of SendGrid's errors: what is wrong, and in which field."""

    message: str
    field: str | None


def sendgrid_routes(sandbox: Sandbox, api_key: str | None = None) -> APIRouter:
    """SendGrid's Mail Send endpoint, recording into ``sandbox``.

    It accepts ``api_key``, by default the bearer key of the sandbox's other bearer-key APIs
    (``SandboxConfig.resend_api_key``, the sandbox token unless configured otherwise).
    """
    router = APIRouter()
    key = sandbox.config.resend_api_key if api_key is None else api_key

    @router.post("/v3/mail/send")
    async def mail_send(request: Request) -> Response:
        return await _send(request, sandbox, key)

    @router.get("/v3/scopes")
    async def scopes(request: Request) -> Response:
        # The cheap authenticated read `herald doctor` makes: what the key may do.
        refusal = _unauthorised(request, key)
        return refusal or json_response({"scopes": ["mail.send", "user.profile.read"]})

    return router


async def _send(request: Request, sandbox: Sandbox, api_key: str) -> Response:
    refusal = _unauthorised(request, api_key)
    if refusal is not None:
        return refusal
    fault = sandbox.roll()
    if fault is Fault.THROTTLE:
        return _rate_limited(sandbox.faults.settings.retry_after)
    if fault is Fault.ERROR:
        return _errors(500, [Problem("internal server error", None)])
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _errors(400, [Problem("Bad Request", None)])
    problems = check(payload)
    if problems:
        return _errors(400, problems)
    message_id = _accept(sandbox, payload)
    await sandbox.linger(fault)
    return Response(status_code=202, headers={"X-Message-Id": message_id})


def check(payload: Any) -> list[Problem]:
    """Every problem SendGrid would report with ``payload``; empty when it is valid."""
    if not isinstance(payload, dict):
        return [Problem("Bad Request", None)]
    return [
        *_sender_problems(payload.get("from")),
        *_personalizations_problems(payload),
        *_content_problems(payload),
        *_headers_problems(payload.get("headers"), "headers"),
    ]


def _sender_problems(sender: Any) -> list[Problem]:
    if _address(sender) is None:
        return [Problem(f"The from object {_ADDRESS_FORMAT}", "from")]
    return []


def _personalizations_problems(payload: Json) -> list[Problem]:
    entries = payload.get("personalizations")
    if not isinstance(entries, list) or not entries:
        return [Problem("You must have at least one personalization.", "personalizations")]
    if len(entries) > MAX_PERSONALIZATIONS:
        return [
            Problem(
                f"The personalization block is limited to {MAX_PERSONALIZATIONS} "
                f"personalizations per API request. You have provided {len(entries)} "
                "personalizations. Please consider splitting this into multiple requests and "
                "resending your request.",
                "personalizations",
            )
        ]
    subject = payload.get("subject")
    problems = [
        problem
        for index, entry in enumerate(entries)
        for problem in _personalization_problems(entry, index, has_subject=bool(subject))
    ]
    return problems or _recipients_problems(entries)


def _personalization_problems(entry: Any, index: int, *, has_subject: bool) -> list[Problem]:
    field = f"personalizations.{index}"
    if not isinstance(entry, dict):
        return [Problem("The to parameter is required for all personalization objects.", field)]
    problems = _address_list_problems(entry, field)
    problems.extend(_subject_problems(entry.get("subject"), f"{field}.subject", has_subject))
    problems.extend(_headers_problems(entry.get("headers"), f"{field}.headers"))
    problems.extend(_custom_args_problems(entry.get("custom_args"), f"{field}.custom_args"))
    return problems


def _subject_problems(subject: Any, field: str, has_subject: bool) -> list[Problem]:
    """A personalization's subject, which may only be left out when the request has one."""
    if subject is None and not has_subject:
        message = (
            "The subject is required. You can get around this requirement if you use a "
            "template with a subject defined."
        )
        return [Problem(message, field)]
    if subject is not None and not _text(subject):
        message = "The subject of your email must be a string at least one character in length."
        return [Problem(message, field)]
    return []


def _address_list_problems(entry: Json, field: str) -> list[Problem]:
    problems = []
    if not isinstance(entry.get("to"), list) or not entry["to"]:
        problems.append(
            Problem("The to parameter is required for all personalization objects.", field)
        )
    for name in _RECIPIENT_FIELDS:
        value = entry.get(name)
        if value is None or (name == "to" and not value):
            continue
        if not isinstance(value, list) or any(_address(item) is None for item in value):
            problems.append(Problem(f"The {name} array {_ADDRESS_FORMAT}", f"{field}.{name}"))
    return problems


def _recipients_problems(entries: list[Json]) -> list[Problem]:
    """The limits across personalizations: 1000 recipients, each address once."""
    recipients = [address for entry in entries for address in _recipients(entry)]
    if len(recipients) > MAX_RECIPIENTS:
        message = (
            f"There is a limit of {MAX_RECIPIENTS} total recipients (to + cc + bcc) per request."
        )
        return [Problem(message, "personalizations")]
    seen: set[str] = set()
    for address in recipients:
        if address in seen:
            return [
                Problem(
                    "Each unique email address in the personalizations array should only be "
                    f"included once. You have included {address} more than once.",
                    "personalizations",
                )
            ]
        seen.add(address)
    return []


def _headers_problems(headers: Any, field: str) -> list[Problem]:
    if headers is None:
        return []
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return [Problem("The header values must be strings.", field)]
    problems = []
    if any(not name.isascii() or " " in name or not name for name in headers):
        problems.append(
            Problem("Header keys cannot contain non-ASCII characters and empty spaces.", field)
        )
    if any(name.lower() in RESERVED_HEADERS for name in headers):
        problems.append(Problem("Header can not be one of the reserved keys.", field))
    return problems


def _custom_args_problems(custom_args: Any, field: str) -> list[Problem]:
    if custom_args is None:
        return []
    if not isinstance(custom_args, dict) or not custom_args:
        return [Problem("`custom_args` cannot be empty.", field)]
    if not all(isinstance(value, str) for value in custom_args.values()):
        return [Problem("All values of custom arguments object must be strings", field)]
    return []


def _content_problems(payload: Json) -> list[Problem]:
    content = payload.get("content")
    if not isinstance(content, list) or not content:
        if payload.get("template_id"):
            return []
        return [
            Problem(
                "The content param is required unless you are using a transactional template "
                "and have defined a template_ID.",
                "content",
            )
        ]
    blocks = [block if isinstance(block, dict) else {} for block in content]
    if not all(_text(block.get("type")) and _text(block.get("value")) for block in blocks):
        message = "The content value must be a string at least one character in length."
        return [Problem(message, "content")]
    kinds = [block["type"] for block in blocks]
    if "text/plain" in kinds and "text/html" in kinds and kinds.index("text/plain") > 0:
        return [
            Problem(
                "Following RFC 1341, section 7.2, if either text/html or text/plain are to be "
                "sent in your email: text/plain needs to be first, followed by text/html, "
                "followed by any other content.",
                "content",
            )
        ]
    return []


def _accept(sandbox: Sandbox, payload: Json) -> str:
    """Record each personalization as one email; returns the request's ``X-Message-Id``."""
    entries: list[Json] = payload["personalizations"]
    common = payload.get("custom_args")
    shared = common if isinstance(common, dict) else {}
    ids = sandbox.mailroom.accept([_envelope(entry, shared) for entry in entries])
    at = now_iso()
    sandbox.mailroom.remember(
        {**payload, "personalizations": [entry], "id": message_id, "created_at": at}
        for entry, message_id in zip(entries, ids, strict=True)
    )
    return ids[0]


def _envelope(entry: Json, shared: Json) -> Envelope:
    custom_args = {**shared, **(entry.get("custom_args") or {})}
    campaign_id, herald_key = custom_args.get("campaign_id"), custom_args.get("herald_key")
    return Envelope(campaign_id, _recipients(entry), herald_key)


def _recipients(entry: Json) -> list[str]:
    found = (_address(item) for name in _RECIPIENT_FIELDS for item in entry.get(name) or [])
    return [address for address in found if address is not None]


def _address(value: Any) -> str | None:
    """The bare, lower-cased address of an ``{"email", "name"}`` object; None if invalid."""
    email = value.get("email") if isinstance(value, dict) else None
    if not isinstance(email, str) or "," in email or "<" in email:
        return None
    found = addresses(email)
    return found[0] if len(found) == 1 else None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _unauthorised(request: Request, api_key: str) -> Response | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _errors(401, [Problem("authorization required", None)])
    if token.strip() != api_key:
        message = "The provided authorization grant is invalid, expired, or revoked"
        return _errors(401, [Problem(message, None)])
    return None


def _rate_limited(retry_after: int) -> Response:
    reset = math.ceil(time.time()) + retry_after
    headers = {
        "X-RateLimit-Limit": str(RATE_LIMIT),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset),
    }
    return _errors(429, [Problem("too many requests", None)], headers)


def _errors(
    status: int, problems: list[Problem], headers: dict[str, str] | None = None
) -> Response:
    body = {
        "errors": [
            {"message": problem.message, "field": problem.field, "help": None}
            for problem in problems
        ]
    }
    return json_response(body, status, headers)
