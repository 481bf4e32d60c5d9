"""Resend's send endpoints: ``POST /emails/batch`` (up to 100 emails) and ``POST /emails``;
and ``GET /domains``, the key's sending domains.

Answers as Resend documents them: ``Authorization: Bearer <key>``; ``{"data": [{"id"}, ...]}``
in request order; errors as ``{"statusCode", "message", "name"}``. A batch is validated as a
whole (one invalid email refuses it) unless ``x-batch-validation: permissive``, where the
valid emails are sent and the invalid ones listed in ``errors`` by index. ``Idempotency-Key``
works as described in :mod:`sandbox.idempotency`. A message's campaign and our key for it
come from its tags ``campaign_id`` and ``herald_key``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.faults import Fault
from sandbox.idempotency import Answer, Conflict
from sandbox.mailroom import Envelope, Json, addresses
from sandbox.state import Sandbox, json_response, now_iso

MAX_BATCH_EMAILS = 100
MAX_RECIPIENTS = 50
MAX_IDEMPOTENCY_KEY = 256
_TAG_TEXT = re.compile(r"[A-Za-z0-9_-]{1,256}")
_ADDRESS_FORMAT = "needs to follow the `email@example.com` or `Name <email@example.com>` format"
_CONFLICTS = {
    Conflict.DIFFERENT_BODY: "Same idempotency key used with a different request payload.",
    Conflict.STILL_RUNNING: "Same idempotency key used while original request is still in "
    "progress.",
}


class Problem(NamedTuple):
    """Why Resend refuses an email: its error name and message."""

    name: str
    message: str


def resend_routes(sandbox: Sandbox) -> APIRouter:
    """Resend's send endpoints, recording into ``sandbox``."""
    router = APIRouter()

    @router.post("/emails/batch")
    async def send_batch(request: Request) -> Response:
        return await _send(request, sandbox, batch=True)

    @router.post("/emails")
    async def send_email(request: Request) -> Response:
        return await _send(request, sandbox, batch=False)

    @router.get("/domains")
    async def domains(request: Request) -> Response:
        # The cheap authenticated read `herald doctor` makes.
        refusal = _unauthorised(request, sandbox.config.resend_api_key)
        if refusal is not None:
            return refusal
        domain = {"id": "sandbox-domain", "name": "herald.test", "status": "verified"}
        return json_response({"object": "list", "data": [domain]})

    return router


async def _send(request: Request, sandbox: Sandbox, *, batch: bool) -> Response:
    refusal = _unauthorised(request, sandbox.config.resend_api_key)
    if refusal is not None:
        return refusal
    fault = sandbox.roll()
    if fault is Fault.THROTTLE:
        return _rate_limited(sandbox.faults.settings.retry_after)
    if fault is Fault.ERROR:
        return _error(500, Problem("application_error", "An unexpected error occurred."))
    body = await request.body()
    permissive = request.headers.get("x-batch-validation", "").lower() == "permissive"
    key = request.headers.get("Idempotency-Key")
    if key is None:
        answer = _answer(sandbox, body, batch=batch, permissive=permissive)
        await sandbox.linger(fault)
        return _respond(answer)
    return await _send_once(sandbox, key, body, fault, batch=batch, permissive=permissive)


async def _send_once(
    sandbox: Sandbox, key: str, body: bytes, fault: Fault | None, *, batch: bool, permissive: bool
) -> Response:
    """Answer a request carrying an idempotency key: replay, refuse, or send and remember."""
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        return _error(
            400, Problem("invalid_idempotency_key", "The key must be between 1-256 chars.")
        )
    prior = sandbox.idempotency.claim(key, body)
    if isinstance(prior, Answer):
        sandbox.mailroom.count("replayed")
        return _respond(prior)
    if isinstance(prior, Conflict):
        return _error(409, Problem(prior.value, _CONFLICTS[prior]))
    answer = Answer(500, b"")
    try:
        answer = _answer(sandbox, body, batch=batch, permissive=permissive)
        await sandbox.linger(fault)
    finally:
        sandbox.idempotency.release(key, answer)
    return _respond(answer)


def _answer(sandbox: Sandbox, body: bytes, *, batch: bool, permissive: bool) -> Answer:
    """Resend's answer to ``body``, after recording the emails it accepts."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _error_answer(400, Problem("validation_error", "Invalid JSON body."))
    if not batch:
        return _single(sandbox, payload)
    if not isinstance(payload, list) or not payload:
        problem = Problem("validation_error", "The body must be a non-empty array of emails.")
        return _error_answer(422, problem)
    return _batch(sandbox, payload, permissive=permissive)


def _single(sandbox: Sandbox, email: Any) -> Answer:
    checked = _check(email, batch=False)
    if isinstance(checked, Problem):
        return _error_answer(422, checked)
    [message_id] = _accept(sandbox, [(email, checked)])
    return Answer(200, orjson.dumps({"id": message_id}))


def _batch(sandbox: Sandbox, emails: list[Any], *, permissive: bool) -> Answer:
    checked = [
        _check(email, batch=True)
        if index < MAX_BATCH_EMAILS
        else Problem("validation_error", f"The batch contains more than {MAX_BATCH_EMAILS} emails.")
        for index, email in enumerate(emails)
    ]
    problems = [(index, found) for index, found in enumerate(checked) if isinstance(found, Problem)]
    if problems and not permissive:
        index, problem = problems[0]
        return _error_answer(422, problem._replace(message=f"emails[{index}]: {problem.message}"))
    valid = [
        (email, envelope)
        for email, envelope in zip(emails, checked, strict=True)
        if isinstance(envelope, Envelope)
    ]
    answer: Json = {"data": [{"id": message_id} for message_id in _accept(sandbox, valid)]}
    if permissive:
        answer["errors"] = [
            {"index": index, "message": problem.message} for index, problem in problems
        ]
    return Answer(200, orjson.dumps(answer))


def _check(email: Any, *, batch: bool) -> Envelope | Problem:
    """What the sandbox keeps of a valid ``email``, or the problem Resend reports with it."""
    if not isinstance(email, dict):
        return Problem("validation_error", "Each email must be a JSON object.")
    for field in ("from", "to", "subject"):
        if email.get(field) in (None, "", []):
            return Problem("missing_required_field", f"Missing `{field}` field.")
    if len(addresses(email["from"])) != 1:
        return Problem(
            "validation_error", f"Invalid `from` field. The email address {_ADDRESS_FORMAT}."
        )
    recipients = addresses(email["to"])
    if not recipients:
        return Problem(
            "validation_error", f"Invalid `to` field. The email address {_ADDRESS_FORMAT}."
        )
    if len(recipients) > MAX_RECIPIENTS:
        return Problem(
            "validation_error", f"The `to` field accepts at most {MAX_RECIPIENTS} addresses."
        )
    problem = _content_problem(email, batch=batch)
    if problem is not None:
        return problem
    tags = _tags(email.get("tags"))
    if tags is None:
        return Problem(
            "validation_error",
            "Invalid `tags` field: a list of {name, value} made of ASCII letters, numbers, "
            "underscores or dashes (at most 256 characters each).",
        )
    return Envelope(tags.get("campaign_id"), recipients, tags.get("herald_key"))


def _content_problem(email: Json, *, batch: bool) -> Problem | None:
    if not isinstance(email.get("subject"), str):
        return Problem("validation_error", "Invalid `subject` field.")
    if not (email.get("html") or email.get("text")):
        return Problem("validation_error", "Missing `html` or `text` field.")
    headers = email.get("headers")
    if headers is not None and not (
        isinstance(headers, dict) and all(isinstance(value, str) for value in headers.values())
    ):
        return Problem("validation_error", "Invalid `headers` field: an object of strings.")
    for unsupported in ("attachments", "scheduled_at"):
        if batch and email.get(unsupported) is not None:
            return Problem(
                "validation_error", f"The `{unsupported}` field is not supported in a batch."
            )
    return None


def _tags(value: Any) -> dict[str, str] | None:
    """Tags as a dict, or None if any tag breaks Resend's rules."""
    if value is None:
        return {}
    if not isinstance(value, list):
        return None
    tags = {}
    for tag in value:
        if not isinstance(tag, dict):
            return None
        name, text = tag.get("name"), tag.get("value")
        if not (isinstance(name, str) and isinstance(text, str)):
            return None
        if not (_TAG_TEXT.fullmatch(name) and _TAG_TEXT.fullmatch(text)):
            return None
        tags[name] = text
    return tags


def _accept(sandbox: Sandbox, valid: list[tuple[Json, Envelope]]) -> list[str]:
    at = now_iso()
    ids = sandbox.mailroom.accept([envelope for _, envelope in valid])
    sandbox.mailroom.remember(
        {**email, "id": message_id, "created_at": at}
        for (email, _), message_id in zip(valid, ids, strict=True)
    )
    return ids


def _unauthorised(request: Request, api_key: str) -> Response | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(
            401, Problem("missing_api_key", "Missing API key in the authorization header.")
        )
    if token.strip() != api_key:
        return _error(403, Problem("invalid_api_key", "API key is invalid."))
    return None


def _rate_limited(retry_after: int) -> Response:
    problem = Problem(
        "rate_limit_exceeded",
        "Too many requests. Please limit the number of requests per second.",
    )
    return _error(429, problem, {"Retry-After": str(retry_after)})


def _error_answer(status: int, problem: Problem) -> Answer:
    return Answer(
        status,
        orjson.dumps({"statusCode": status, "message": problem.message, "name": problem.name}),
    )


def _error(status: int, problem: Problem, headers: dict[str, str] | None = None) -> Response:
    return _respond(_error_answer(status, problem), headers)


def _respond(answer: Answer, headers: dict[str, str] | None = None) -> Response:
    return Response(
        answer.body, status_code=answer.status_code, media_type="application/json", headers=headers
    )
