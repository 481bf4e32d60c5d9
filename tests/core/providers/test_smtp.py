"""The SMTP provider against a real SMTP server (aiosmtpd in a thread), and DKIM signing.

The server records what it received, per connection, and can be told to refuse a
recipient, defer a message, hang up or fall silent after the message data, offer STARTTLS
with a certificate made for the test, and ask for a login.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import dkim
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from core.message import Mailbox, OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.dkim import DkimKey
from core.providers.smtp import SmtpProvider, wire_bytes

HOST = "127.0.0.1"
USER, PASSWORD = "herald", "s3cret-password"
DOMAIN, SELECTOR = "herald.test", "news2026"
SUBJECT = "Форум «Київ — Токіо»: 東京での議論 • підсумки"
TEXT = "Вітаємо!\n山田 太郎 — «Україна та Японія».\nДивіться запис: https://herald.test/v/1\n"
HTML = "<p>Вітаємо! 山田 太郎 — «Україна та Японія».</p>"


# --- the server ------------------------------------------------------------------------


@dataclass
class Received:
    """One message the server took."""

    peer: Any
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: bytes | None


@dataclass
class Mailroom:
    """The server's handler: records messages, and misbehaves for chosen recipients."""

    received: list[Received] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)
    hang_up_after_data: set[str] = field(default_factory=set)
    silent_after_data: set[str] = field(default_factory=set)
    hang_up_after_accepting: bool = False
    closing: list[str] = field(default_factory=list)
    """Recipients whose RCPT TO is answered 421 (the server is closing), once per entry."""
    busy: int = 0
    refused_senders: set[str] = field(default_factory=set)
    """MAIL FROM commands still to answer 452 (too many messages in this session)."""

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if session.peer not in self.peers:
            self.peers.append(session.peer)
        if address in self.refused_senders:
            return "553 5.7.1 Sender address rejected: not owned by user"
        if self.busy:
            self.busy -= 1
            return "452 4.3.1 Too many messages in this session"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.closing:
            self.closing.remove(address)
            return "421 4.3.2 Service shutting down, closing transmission channel"
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such mailbox"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        recipient = envelope.rcpt_tos[0]
        if recipient in self.defer:
            return "451 4.7.1 Greylisted, please try again later"
        self.received.append(_received(session, envelope))
        if recipient in self.silent_after_data:
            await asyncio.sleep(3)
        transport = server.transport
        assert isinstance(transport, asyncio.Transport)
        if recipient in self.hang_up_after_data:
            transport.abort()
        elif self.hang_up_after_accepting:
            asyncio.get_running_loop().call_later(0.05, transport.abort)
        return "250 2.0.0 Ok: queued"

    def contents(self) -> list[EmailMessage]:
        """What arrived, parsed."""
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(item.content) for item in self.received]


def _received(session: Session, envelope: Envelope) -> Received:
    assert isinstance(envelope.original_content, bytes)
    assert envelope.mail_from is not None
    login = session.auth_data
    return Received(
        peer=session.peer,
        mail_from=envelope.mail_from,
        rcpt_tos=list(envelope.rcpt_tos),
        content=envelope.original_content,
        tls=session.ssl is not None,
        login=login.login if isinstance(login, LoginPassword) else None,
    )


@dataclass
class Server:
    """A running server and its mailroom."""

    mailroom: Mailroom
    port: int


StartServer = Callable[..., Server]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start SMTP servers on free ports (keyword arguments go to aiosmtpd's SMTP)."""
    controllers: list[Controller] = []

    def start(**parameters: Any) -> Server:
        mailroom = Mailroom()
        port = _free_port()
        controller = Controller(mailroom, hostname=HOST, port=port, **parameters)
        controller.start()
        controllers.append(controller)
        return Server(mailroom, port)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def server(start_server: StartServer) -> Server:
    return start_server()


@pytest.fixture
def providers() -> Iterator[Callable[..., SmtpProvider]]:
    """Make providers that are closed after the test."""
    made: list[SmtpProvider] = []

    def make(port: int, **options: Any) -> SmtpProvider:
        options.setdefault("starttls", False)
        options.setdefault("timeout", 5)
        provider = SmtpProvider(HOST, port, **options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _message(key: str, *, to: str = "") -> OutgoingMessage:
    return OutgoingMessage(
        key=key,
        sender=Mailbox("news@herald.test", "Центр Herald"),
        to=Mailbox(to or f"reader{key}@example.org", "山田 太郎"),
        subject=SUBJECT,
        html=HTML,
        text=TEXT,
        message_id=f"<{key}.campaign-7@herald.test>",
        headers={
            "List-Unsubscribe": f"<https://herald.test/u/{key}>, <mailto:u+{key}@herald.test>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        metadata={"campaign_id": "7", "delivery_id": key},
    )


# --- sending ---------------------------------------------------------------------------


def test_a_batch_goes_over_one_connection_and_the_next_batch_reuses_it(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    provider = providers(server.port)
    first = provider.send_batch([_message(str(n)) for n in range(1, 6)], attempt_key="a")
    second = provider.send_batch([_message(str(n)) for n in range(6, 9)], attempt_key="b")

    assert [r.accepted for r in first + second] == [True] * 8
    assert [r.provider_message_id for r in first][:2] == [
        "<1.campaign-7@herald.test>",
        "<2.campaign-7@herald.test>",
    ]
    assert len(server.mailroom.received) == 8
    assert len(server.mailroom.peers) == 1
    assert server.mailroom.received[0].mail_from == "news@herald.test"
    assert server.mailroom.received[0].rcpt_tos == ["reader1@example.org"]


def test_ukrainian_and_japanese_text_arrives_intact(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    providers(server.port).send_batch([_message("1")], attempt_key="a")

    (content,) = server.mailroom.contents()
    assert content["Subject"] == SUBJECT
    assert content["From"].addresses[0].display_name == "Центр Herald"
    assert content["To"].addresses[0].display_name == "山田 太郎"
    assert content["Message-ID"] == "<1.campaign-7@herald.test>"
    plain, html = content.get_body(("plain",)), content.get_body(("html",))
    assert plain is not None and html is not None
    # Text travels in canonical form (CRLF line ends, RFC 2046 section 4.1.1).
    assert plain.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == HTML


def test_the_message_is_sent_in_seven_bit_form(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    providers(server.port).send_batch([_message("1")], attempt_key="a")

    assert server.mailroom.received[0].content.isascii()


def test_an_international_address_goes_with_smtputf8(
    start_server: StartServer, providers: Callable[..., SmtpProvider]
) -> None:
    server = start_server(enable_SMTPUTF8=True)
    (result,) = providers(server.port).send_batch(
        [_message("1", to="читач@приклад.укр")], attempt_key="a"
    )

    assert result.accepted
    assert server.mailroom.received[0].rcpt_tos == ["читач@приклад.укр"]
    assert "<читач@приклад.укр>".encode() in server.mailroom.received[0].content


def test_an_international_address_is_refused_when_the_server_lacks_smtputf8(
    start_server: StartServer, providers: Callable[..., SmtpProvider]
) -> None:
    server = start_server(enable_SMTPUTF8=False)
    results = providers(server.port).send_batch(
        [_message("1", to="читач@приклад.укр"), _message("2")], attempt_key="a"
    )

    assert not results[0].accepted
    assert "SMTPUTF8" in (results[0].error or "")
    assert results[1].accepted


def test_a_refused_recipient_is_reported_and_the_batch_goes_on(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    server.mailroom.refuse.add("reader2@example.org")
    results = providers(server.port).send_batch(
        [_message("1"), _message("2"), _message("3")], attempt_key="a"
    )

    assert [r.accepted for r in results] == [True, False, True]
    assert results[1].error is not None
    assert results[1].error.startswith("SMTP 550 5.1.1")
    assert "retryable" not in results[1].error
    assert [r.rcpt_tos for r in server.mailroom.received] == [
        ["reader1@example.org"],
        ["reader3@example.org"],
    ]


def test_a_deferred_message_is_marked_retryable(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    server.mailroom.defer.add("reader1@example.org")
    results = providers(server.port).send_batch([_message("1"), _message("2")], attempt_key="a")

    assert [r.accepted for r in results] == [False, True]
    assert results[0].error == (
        "not sent (retryable): SMTP 451 4.7.1 Greylisted, please try again later"
    )


def test_a_connection_the_server_closed_is_opened_again(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    provider = providers(server.port)
    server.mailroom.hang_up_after_accepting = True
    provider.send_batch([_message("1")], attempt_key="a")
    time.sleep(0.2)
    server.mailroom.hang_up_after_accepting = False

    results = provider.send_batch([_message("2"), _message("3")], attempt_key="b")

    assert [r.accepted for r in results] == [True, True]
    assert len(server.mailroom.received) == 3
    assert len(server.mailroom.peers) == 2


def test_a_connection_closed_for_idling_is_opened_again(
    start_server: StartServer, providers: Callable[..., SmtpProvider]
) -> None:
    server = start_server(timeout=0.3)  # the server hangs up after 0.3 s idle
    provider = providers(server.port)
    provider.send_batch([_message("1")], attempt_key="a")
    time.sleep(0.6)

    (result,) = provider.send_batch([_message("2")], attempt_key="b")

    assert result.accepted
    assert len(server.mailroom.received) == 2
    assert len(server.mailroom.peers) == 2


def test_a_421_before_the_data_is_answered_by_a_new_connection(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    server.mailroom.closing.append("reader1@example.org")

    (result,) = providers(server.port).send_batch([_message("1")], attempt_key="a")

    assert result.accepted
    assert len(server.mailroom.received) == 1
    assert len(server.mailroom.peers) == 2


def test_a_4xx_to_the_sender_is_answered_by_a_new_connection(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    provider = providers(server.port)
    provider.send_batch([_message("1")], attempt_key="a")
    server.mailroom.busy = 1

    (result,) = provider.send_batch([_message("2")], attempt_key="b")

    assert result.accepted
    assert len(server.mailroom.peers) == 2


def test_a_sender_refused_for_good_fails_the_batch(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    message = replace(_message("1"), sender=Mailbox("blocked@herald.test"))
    server.mailroom.refused_senders.add("blocked@herald.test")

    with pytest.raises(ProviderError, match="553") as failure:
        providers(server.port).send_batch([message, _message("2")], attempt_key="a")

    assert not failure.value.retryable
    assert server.mailroom.received == []


def test_a_session_lost_twice_before_anything_was_accepted_fails_the_batch(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    server.mailroom.refuse.add("reader1@example.org")
    server.mailroom.closing.extend(["reader2@example.org"] * 2)

    with pytest.raises(ProviderError, match="421") as failure:
        providers(server.port).send_batch([_message("1"), _message("2")], attempt_key="a")

    assert failure.value.retryable
    assert server.mailroom.received == []


def test_a_session_lost_twice_after_an_accepted_message_ends_the_batch(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    server.mailroom.closing.extend(["reader2@example.org"] * 2)

    results = providers(server.port).send_batch(
        [_message("1"), _message("2"), _message("3")], attempt_key="a"
    )

    assert [r.accepted for r in results] == [True, False, False]
    assert all(r.retry and not r.unknown for r in results[1:])
    assert "421" in (results[1].error or "")
    assert "not attempted" in (results[2].error or "")
    assert [r.rcpt_tos for r in server.mailroom.received] == [["reader1@example.org"]]


def test_an_unreachable_server_fails_the_batch_as_retryable(
    providers: Callable[..., SmtpProvider],
) -> None:
    provider = providers(_free_port())

    with pytest.raises(ProviderError) as failure:
        provider.send_batch([_message("1"), _message("2")], attempt_key="a")

    assert failure.value.retryable
    assert not failure.value.throttled


def test_silence_after_the_data_of_the_first_message_is_an_unknown_outcome(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    server.mailroom.silent_after_data.add("reader1@example.org")
    provider = providers(server.port, timeout=0.5)

    with pytest.raises(OutcomeUnknown):
        provider.send_batch([_message("1"), _message("2")], attempt_key="a")

    assert [r.rcpt_tos for r in server.mailroom.received] == [["reader1@example.org"]]


def test_a_hang_up_after_the_data_of_a_later_message_stops_the_batch(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    server.mailroom.hang_up_after_data.add("reader2@example.org")
    results = providers(server.port).send_batch(
        [_message("1"), _message("2"), _message("3")], attempt_key="a"
    )

    assert [r.accepted for r in results] == [True, False, False]
    assert (results[1].error or "").startswith("outcome unknown, do not re-send blindly")
    assert results[2].retry and not results[2].unknown
    assert len(server.mailroom.received) == 2  # the server did take the second one


def test_a_hang_up_after_the_data_of_the_first_message_is_an_unknown_outcome(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    server.mailroom.hang_up_after_data.add("reader1@example.org")

    with pytest.raises(OutcomeUnknown):
        providers(server.port).send_batch([_message("1")], attempt_key="a")


# --- STARTTLS and AUTH -----------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""

    cert_file: Path
    key_file: Path
    pem: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.pem)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(folder / "cert.pem", folder / "key.pem", pem.decode())


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    valid = isinstance(auth_data, LoginPassword) and (
        auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=valid, handled=False, auth_data=auth_data)


@pytest.fixture
def tls_server(start_server: StartServer, certificate: Certificate) -> Server:
    return start_server(
        tls_context=certificate.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator,
    )


def test_starttls_and_login_protect_the_session(
    tls_server: Server, certificate: Certificate, providers: Callable[..., SmtpProvider]
) -> None:
    provider = providers(
        tls_server.port,
        starttls=True,
        username=USER,
        password=PASSWORD,
        ssl_context=certificate.client_context(),
    )
    results = provider.send_batch([_message("1"), _message("2")], attempt_key="a")

    assert [r.accepted for r in results] == [True, True]
    assert [(r.tls, r.login) for r in tls_server.mailroom.received] == [(True, b"herald")] * 2
    assert len(tls_server.mailroom.peers) == 1


def test_a_wrong_password_fails_the_batch_for_good(
    tls_server: Server, certificate: Certificate, providers: Callable[..., SmtpProvider]
) -> None:
    provider = providers(
        tls_server.port,
        starttls=True,
        username=USER,
        password="wrong",
        ssl_context=certificate.client_context(),
    )

    with pytest.raises(ProviderError, match="535") as failure:
        provider.send_batch([_message("1")], attempt_key="a")

    assert not failure.value.retryable
    assert tls_server.mailroom.received == []


def test_an_untrusted_certificate_is_refused(
    tls_server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    provider = providers(tls_server.port, starttls=True, username=USER, password=PASSWORD)

    with pytest.raises(ProviderError, match="certificate") as failure:
        provider.send_batch([_message("1")], attempt_key="a")

    assert not failure.value.retryable


def test_a_server_without_starttls_is_refused_when_tls_is_required(
    server: Server, providers: Callable[..., SmtpProvider]
) -> None:
    provider = providers(server.port, starttls=True)

    with pytest.raises(ProviderError, match="STARTTLS") as failure:
        provider.send_batch([_message("1")], attempt_key="a")

    assert not failure.value.retryable
    assert server.mailroom.received == []


def test_credentials_are_never_sent_to_a_remote_host_without_tls() -> None:
    with pytest.raises(ValueError, match="without STARTTLS"):
        SmtpProvider("smtp.example.org", 587, username=USER, password=PASSWORD, starttls=False)

    SmtpProvider("localhost", 25, username=USER, password=PASSWORD, starttls=False).close()


# --- DKIM ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    """A DKIM key and the TXT record that publishes its public half."""

    key: DkimKey
    txt: bytes


@pytest.fixture(scope="module")
def dkim_keys() -> KeyPair:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    txt = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return KeyPair(DkimKey(DOMAIN, SELECTOR, pem), txt)


def _verifies(data: bytes, keys: KeyPair) -> bool:
    def dns(name: bytes, timeout: float = 5) -> bytes | None:
        return keys.txt if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    verified: bool = dkim.verify(data, dnsfunc=dns)
    return verified


def _signature_tags(data: bytes) -> dict[str, str]:
    header = BytesParser(policy=policy.SMTP).parsebytes(data, headersonly=True)
    value = re.sub(r"\s+", "", str(header["DKIM-Signature"]))
    return dict(tag.split("=", 1) for tag in value.split(";") if tag)


def test_a_signed_message_verifies_and_covers_both_list_unsubscribe_headers(
    dkim_keys: KeyPair,
) -> None:
    data = wire_bytes(_message("1"), dkim_keys.key)

    assert _verifies(data, dkim_keys)
    tags = _signature_tags(data)
    assert (tags["a"], tags["c"], tags["d"], tags["s"]) == (
        "rsa-sha256",
        "relaxed/relaxed",
        DOMAIN,
        SELECTOR,
    )
    signed = tags["h"].lower().split(":")
    for name in ("from", "to", "subject", "date", "message-id"):
        assert name in signed
    assert signed.count("list-unsubscribe") == 2  # signed, and any addition refused
    assert signed.count("list-unsubscribe-post") == 2


def test_a_tampered_list_unsubscribe_header_fails_verification(dkim_keys: KeyPair) -> None:
    data = wire_bytes(_message("1"), dkim_keys.key)
    tampered = data.replace(b"https://herald.test/u/1", b"https://evil.test/u/1")

    assert tampered != data
    assert not _verifies(tampered, dkim_keys)


def test_an_added_list_unsubscribe_header_fails_verification(dkim_keys: KeyPair) -> None:
    data = wire_bytes(_message("1"), dkim_keys.key)
    head, body = data.split(b"\r\n\r\n", 1)
    added = head + b"\r\nList-Unsubscribe: <https://evil.test/u/1>\r\n\r\n" + body

    assert not _verifies(added, dkim_keys)


def test_the_signature_survives_the_trip_through_the_server(
    server: Server, dkim_keys: KeyPair, providers: Callable[..., SmtpProvider]
) -> None:
    message = replace(_message("1"), text="." + TEXT + ".\n..\n")  # lines SMTP must dot-stuff
    providers(server.port, dkim=dkim_keys.key).send_batch([message], attempt_key="a")

    assert _verifies(server.mailroom.received[0].content, dkim_keys)


def test_an_unusable_dkim_key_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="DKIM private key"):
        DkimKey(DOMAIN, SELECTOR, b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END")


def test_a_dkim_key_file_with_crlf_lines_is_read(dkim_keys: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "dkim.pem"
    path.write_bytes(dkim_keys.key.private_key_pem.replace(b"\n", b"\r\n"))
    key = DkimKey.from_file(DOMAIN, SELECTOR, path)

    assert _verifies(wire_bytes(_message("1"), key), dkim_keys)


def test_credentials_outside_ascii_are_refused_at_once() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        SmtpProvider("localhost", 25, username=USER, password="пароль")
