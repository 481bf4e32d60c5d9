"""A local stand-in for Postmark's email API, for tests, benchmarks and local development.

It answers ``POST /email/batch`` and ``POST /email`` the way Postmark documents them (token
header, per-message ``ErrorCode`` results in request order, ``{"ErrorCode", "Message"}`` bodies
for failed calls) and records what it accepted, so a test can ask how many messages arrived
and whether any recipient got the same campaign twice (``GET /_sandbox/stats``).

Nothing is delivered anywhere. Point ``HERALD_PROVIDER_URL`` at it with
``HERALD_PROVIDER=postmark`` and the sandbox token.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MAX_BATCH_MESSAGES = 500
TOKEN_HEADER = "X-Postmark-Server-Token"  # noqa: S105 - a header name
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox guards nothing

Json = dict[str, Any]


class SandboxMailroom:
    """What the sandbox has accepted so far (thread-safe; one per app)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Json] = []

    def accept(self, message: Json) -> Json:
        """Record ``message`` as accepted and return Postmark's answer for it."""
        answer: Json = {
            "ErrorCode": 0,
            "Message": "OK",
            "MessageID": str(uuid.uuid4()),
            "SubmittedAt": datetime.now(UTC).isoformat(),
            "To": message.get("To"),
        }
        with self._lock:
            self._messages.append({**message, **_answer_fields(answer)})
        return answer

    def messages(self) -> list[Json]:
        """Every accepted message, oldest first, with the MessageID it was given."""
        with self._lock:
            return list(self._messages)

    def stats(self) -> Json:
        """Counts of accepted messages, distinct recipients and repeated campaign deliveries."""
        messages = self.messages()
        recipients = [_address(message.get("To")) for message in messages]
        deliveries = Counter(
            (campaign, recipient)
            for message, recipient in zip(messages, recipients, strict=True)
            if (campaign := _campaign_id(message)) is not None
        )
        return {
            "messages": len(messages),
            "unique_recipients": len(set(recipients)),
            "duplicates": sum(count - 1 for count in deliveries.values()),
        }

    def reset(self) -> None:
        """Forget everything accepted so far."""
        with self._lock:
            self._messages.clear()


def create_sandbox_app(server_token: str = SANDBOX_TOKEN) -> FastAPI:
    """An ASGI app imitating Postmark's send endpoints; its state is ``app.state.mailroom``."""
    app = FastAPI(title="Herald provider sandbox", docs_url=None, redoc_url=None)
    mailroom = SandboxMailroom()
    app.state.mailroom = mailroom

    @app.post("/email/batch")
    async def send_batch(request: Request) -> JSONResponse:
        refusal, body = await _authorised_json(request, server_token)
        if refusal is not None:
            return refusal
        if not isinstance(body, list):
            return _api_error(422, 403, "Incompatible JSON: a batch must be a JSON array.")
        if len(body) > MAX_BATCH_MESSAGES:
            return _api_error(422, 410, f"Too many batch messages (max {MAX_BATCH_MESSAGES}).")
        return JSONResponse([_send_one(mailroom, message) for message in body])

    @app.post("/email")
    async def send_single(request: Request) -> JSONResponse:
        refusal, body = await _authorised_json(request, server_token)
        if refusal is not None:
            return refusal
        answer = _send_one(mailroom, body)
        return JSONResponse(answer, status_code=200 if answer["ErrorCode"] == 0 else 422)

    @app.get("/_sandbox/stats")
    async def stats() -> Json:
        return mailroom.stats()

    @app.get("/_sandbox/messages")
    async def messages() -> list[Json]:
        return mailroom.messages()

    @app.post("/_sandbox/reset")
    async def reset() -> Json:
        mailroom.reset()
        return {"reset": True}

    return app


def run_sandbox_in_thread(
    port: int = 0, *, server_token: str = SANDBOX_TOKEN
) -> tuple[str, Callable[[], None]]:
    """Serve a fresh sandbox on 127.0.0.1 in a daemon thread; returns (base_url, stop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        create_sandbox_app(server_token), log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    _wait_until_started(server, thread)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://127.0.0.1:{sock.getsockname()[1]}", stop


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the provider sandbox did not start")
        time.sleep(0.01)


async def _authorised_json(request: Request, server_token: str) -> tuple[JSONResponse | None, Any]:
    """The parsed body, or the response Postmark gives to a bad token or bad JSON."""
    if request.headers.get(TOKEN_HEADER) != server_token:
        return _api_error(401, 10, "Bad or missing Server API token."), None
    try:
        return None, json.loads(await request.body())
    except ValueError:
        return _api_error(422, 402, "Invalid JSON."), None


def _send_one(mailroom: SandboxMailroom, message: Any) -> Json:
    problem = _invalid_reason(message)
    if problem is not None:
        return {"ErrorCode": 300, "Message": f"Invalid email request: {problem}"}
    return mailroom.accept(message)


def _invalid_reason(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "each message must be a JSON object."
    for field in ("From", "To", "Subject"):
        if not _filled(message.get(field)):
            return f"the '{field}' field is required."
    if not (_filled(message.get("HtmlBody")) or _filled(message.get("TextBody"))):
        return "provide either a TextBody or an HtmlBody or both."
    if not _address(message["To"]):
        return f"invalid 'To' address: {message['To']!r}."
    return None


def _filled(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _address(value: Any) -> str:
    """The bare, lower-cased address of a ``To`` value such as ``Name <a@b.c>``."""
    _, address = parseaddr(value if isinstance(value, str) else "")
    return address.lower() if "@" in address else ""


def _campaign_id(message: Json) -> str | None:
    metadata = message.get("Metadata")
    if not isinstance(metadata, dict) or metadata.get("campaign_id") is None:
        return None
    return str(metadata["campaign_id"])


def _answer_fields(answer: Json) -> Json:
    return {"MessageID": answer["MessageID"], "SubmittedAt": answer["SubmittedAt"]}


def _api_error(status: int, error_code: int, message: str) -> JSONResponse:
    return JSONResponse({"ErrorCode": error_code, "Message": message}, status_code=status)
