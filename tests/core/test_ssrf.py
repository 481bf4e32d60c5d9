"""Feed URLs and outgoing webhooks reach only checked public addresses, as connected.

Loopback spellings go through the system resolver against a real local server that must
see nothing; DNS rebinding uses an injected resolver and an injected inner transport that
records where the request would have gone.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.activity import record_activity
from core.database import unit_of_work
from core.netguard import AddressRefused, GuardedTransport, guarded_client
from publisher.posts.feeds import fetch_url
from publisher.posts.import_items import ImportRejected
from publisher.posts.models import Post
from publisher.web.app import create_app
from publisher.webhooks import outgoing as webhooks
from publisher.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import use_settings
from tests.fixtures.factories import log_in
from worker.webhooks import deliver_webhook

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
PUBLIC = "93.184.215.14"


class LocalServer:
    """A real HTTP server on 127.0.0.1 that records every request it gets."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                hits.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Length", str(len(FEED)))
                self.end_headers()
                self.wfile.write(FEED)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "0x7f.1",
    "2130706433",
    "[::ffff:127.0.0.1]",
    "0.0.0.0",
    "[::1]",
    "localhost",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_feeds_from_loopback_spellings_are_refused(local: LocalServer, host: str) -> None:
    with pytest.raises(ImportRejected, match="is not a public address"):
        fetch_url(f"http://{host}:{local.port}/feed", public_only=True)
    assert local.hits == []


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.7", "192.168.1.1", "100.64.0.1"])
def test_metadata_and_private_addresses_are_refused_before_any_connection(host: str) -> None:
    seen: list[httpx.Request] = []
    inner = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200))
    client = guarded_client(timeout=1, follow_redirects=True, inner=inner)
    with client, pytest.raises(AddressRefused, match="not a public address"):
        client.get(f"http://{host}/latest/meta-data/")
    assert seen == []


class Rebinding:
    """A resolver whose first answer is public and every later one 127.0.0.1."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return [PUBLIC] if len(self.asked) == 1 else ["127.0.0.1"]


def test_dns_rebinding_connects_to_the_address_that_was_checked() -> None:
    resolve, seen = Rebinding(), []
    inner = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200))
    transport = GuardedTransport(resolve=resolve, allow_private=False, inner=inner)
    with httpx.Client(transport=transport) as client:
        assert client.get("https://feeds.example.org/rss").status_code == 200
        with pytest.raises(AddressRefused, match=r"127\.0\.0\.1"):
            client.get("https://feeds.example.org/rss")  # the rebinding answer: refused
    assert resolve.asked == ["feeds.example.org", "feeds.example.org"]  # once per request
    [sent] = seen
    assert sent.url.host == PUBLIC  # the checked address, never a second lookup
    assert sent.headers["Host"] == "feeds.example.org"
    assert sent.extensions["sni_hostname"] == "feeds.example.org"  # TLS checks the name


def test_one_private_answer_among_public_ones_refuses_the_host() -> None:
    seen: list[httpx.Request] = []
    inner = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200))
    transport = GuardedTransport(
        resolve=lambda host, port: [PUBLIC, "127.0.0.1"], allow_private=False, inner=inner
    )
    with httpx.Client(transport=transport) as client, pytest.raises(AddressRefused):
        client.get("http://mixed.example.org/")
    assert seen == []


def test_a_redirect_is_checked_again() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "http://internal.example.org/admin"})

    addresses = {"feeds.example.org": [PUBLIC], "internal.example.org": ["10.1.2.3"]}
    client = guarded_client(
        timeout=1,
        follow_redirects=True,
        resolve=lambda host, port: addresses[host],
        inner=httpx.MockTransport(answer),
    )
    with client, pytest.raises(ImportRejected, match=r"internal\.example\.org is not a public"):
        fetch_url("http://feeds.example.org/rss", client)
    assert [request.headers["Host"] for request in seen] == ["feeds.example.org"]


def test_private_feeds_are_fetched_when_the_setting_allows(
    local: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, allow_private_addresses="true")
    assert fetch_url(f"http://127.1:{local.port}/feed", public_only=True) == FEED
    assert local.hits == ["GET /feed"]


def test_an_unparsable_feed_url_is_422_and_imports_nothing(db: str) -> None:
    client = TestClient(create_app())
    csrf = log_in(client)
    answer = client.post(
        "/admin/posts/import", data={"csrf_token": csrf, "feed_url": "http://[::1"}
    )
    assert answer.status_code == 422
    assert "must start with http:// or https://" in answer.text
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 0


def _delivery_to(url: str) -> int:
    with unit_of_work() as session:
        webhooks.create_endpoint(session, url=url)
        record_activity(session, "campaign.sent", campaign_id=1)
    with unit_of_work() as session:
        webhooks.fan_out(session)
    with unit_of_work() as session:
        return session.scalars(select(WebhookDelivery.id)).one()


def _delivery(delivery_id: int) -> WebhookDelivery:
    with unit_of_work() as session:
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_webhook_to_loopback_is_refused_with_a_logged_reason(
    db: str, local: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    delivery_id = _delivery_to(f"http://127.0.0.1:{local.port}/hook")
    with caplog.at_level(logging.WARNING, logger="worker.webhooks"):
        deliver_webhook(delivery_id)
    assert local.hits == []
    row = _delivery(delivery_id)
    assert row.response_code is None and row.status == "pending"
    assert row.error == "refused: 127.0.0.1 is not a public address (127.0.0.1)"
    assert "not sent: refused: 127.0.0.1 is not a public address" in caplog.text


def test_a_webhook_to_the_metadata_address_never_shows_its_answer(db: str) -> None:
    delivery_id = _delivery_to("http://169.254.169.254/latest/meta-data/")
    deliver_webhook(delivery_id)
    row = _delivery(delivery_id)
    assert (row.response_code, row.error.split(" is ")[0]) == (None, "refused: 169.254.169.254")


def test_a_webhook_to_loopback_is_delivered_when_the_setting_allows(
    db: str, local: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, allow_private_addresses="true")
    delivery_id = _delivery_to(f"http://127.0.0.1:{local.port}/hook")
    assert deliver_webhook(delivery_id) is None
    assert local.hits == ["POST /hook"]
    row = _delivery(delivery_id)
    assert (row.status, row.response_code) == ("delivered", 200)


def test_an_unparsable_webhook_url_is_422_and_stores_nothing(db: str) -> None:
    client = TestClient(create_app())
    csrf = log_in(client)
    answer = client.post(
        "/api/stats/webhooks", json={"url": "http://[::1"}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 422
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def _certificate(name: str, folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (and no IP address), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_is_checked_against_the_name_while_connecting_to_the_pinned_address(
    local: LocalServer, tmp_path: Path
) -> None:
    cert, key = _certificate("feeds.example.org", tmp_path)
    names: list[str | None] = []
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)

    def remember(_socket: Any, name: str | None, _context: Any) -> None:
        names.append(name)

    server_side.sni_callback = remember
    local.server.socket = server_side.wrap_socket(local.server.socket, server_side=True)
    trusted = ssl.create_default_context(cafile=str(cert))
    url = f"https://feeds.example.org:{local.port}/feed"

    def client(resolve: Any) -> httpx.Client:
        inner = httpx.HTTPTransport(verify=trusted)
        return httpx.Client(
            transport=GuardedTransport(resolve=resolve, allow_private=True, inner=inner)
        )

    with client(lambda host, port: ["127.0.0.1"]) as http:
        assert http.get(url).content == FEED  # 127.0.0.1 is not in the certificate: the name is
    assert names == ["feeds.example.org"] and local.hits == ["GET /feed"]
    other = url.replace("feeds.example.org", "other.example.org")
    with client(lambda host, port: ["127.0.0.1"]) as http, pytest.raises(httpx.ConnectError):
        http.get(other)  # a certificate for another name is refused, pinned address or not


def test_the_import_page_refuses_loopback_spellings_and_stores_nothing(
    db: str, local: LocalServer
) -> None:
    client = TestClient(create_app())
    csrf = log_in(client)
    for host in ("127.1", "0x7f.1", "[::ffff:127.0.0.1]", "0.0.0.0", "169.254.169.254"):
        url = f"http://{host}:{local.port}/feed"
        answer = client.post("/admin/posts/import", data={"csrf_token": csrf, "feed_url": url})
        assert answer.status_code == 200 and "is not a public address" in answer.text, host
    assert local.hits == []
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 0
