"""Errors reported to Sentry when HERALD_SENTRY_DSN is set: the real SDK, posting its
envelope to a local HTTP server that keeps what it receives; and a clear line without it.

Each case runs in a child process: the SDK, once started, hooks the whole process.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fixtures.processes import herald_env

pytest.importorskip("sentry_sdk")

PROGRAM = """
import logging, sys
if sys.argv[1] == "without-sdk":
    sys.modules["sentry_sdk"] = None  # as if the extra were not installed
from core.logs import configure_logging
from core.settings import get_settings
configure_logging(get_settings())
try:
    raise RuntimeError("the provider said no")
except RuntimeError:
    logging.getLogger("worker.sending").exception("batch 7 failed")
if sys.argv[1] == "with-sdk":
    import sentry_sdk
    sentry_sdk.flush(timeout=10)
"""


@contextmanager
def _sentry_ingest() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Ingest(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            gzipped = self.headers.get("Content-Encoding") == "gzip"
            received.append(gzip.decompress(body) if gzipped else body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_address[1]}/42", received
    finally:
        server.shutdown()
        server.server_close()


def _run(case: str, dsn: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, case],
        env=herald_env(sentry_dsn=dsn, env="test"),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_an_error_logged_with_a_dsn_reaches_sentry(tmp_path: Path) -> None:
    with _sentry_ingest() as (dsn, received):
        _run("with-sdk", dsn, tmp_path)
    envelope = b"".join(received)
    assert b"batch 7 failed" in envelope and b"the provider said no" in envelope
    assert b'"environment":"test"' in envelope.replace(b" ", b"")


def test_a_dsn_without_the_sdk_says_so_and_sends_nothing(tmp_path: Path) -> None:
    with _sentry_ingest() as (dsn, received):
        done = _run("without-sdk", dsn, tmp_path)
    assert received == []
    assert "sentry-sdk is not installed" in done.stderr and "herald[sentry]" in done.stderr
