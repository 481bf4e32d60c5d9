"""The sandbox as an ASGI app, and a way to serve it (or any app) from a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from sandbox.control import control_routes
from sandbox.mailgun import mailgun_routes
from sandbox.postmark import postmark_routes
from sandbox.resend import resend_routes
from sandbox.sendgrid import sendgrid_routes
from sandbox.ses import ses_routes
from sandbox.state import SANDBOX_TOKEN, Sandbox, SandboxConfig


def create_sandbox_app(config: SandboxConfig | None = None) -> FastAPI:
    """An ASGI app speaking the HTTP providers' send APIs; state in ``app.state.sandbox``."""
    sandbox = Sandbox(config or SandboxConfig())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await sandbox.webhooks.close()

    app = FastAPI(
        title="Herald provider sandbox",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    app.include_router(postmark_routes(sandbox))
    app.include_router(resend_routes(sandbox))
    app.include_router(sendgrid_routes(sandbox))
    app.include_router(mailgun_routes(sandbox))
    app.include_router(ses_routes(sandbox))
    app.include_router(control_routes(sandbox))
    return app


def run_sandbox_in_thread(
    port: int = 0, *, server_token: str = SANDBOX_TOKEN, config: SandboxConfig | None = None
) -> tuple[str, Callable[[], None]]:
    """Serve a fresh sandbox on 127.0.0.1 in a daemon thread; returns (base_url, stop).

    ``config`` wins over ``server_token`` when both are given.
    """
    return serve_in_thread(
        create_sandbox_app(config or SandboxConfig(server_token=server_token)), port
    )


def serve_in_thread(app: FastAPI, port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` on 127.0.0.1 (any free port by default) in a daemon thread.

    Returns (base_url, stop). Stopping waits at most a couple of seconds for requests still
    being answered, such as a slow fault's.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=2
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
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
