"""DKIM signatures: what they cover, what breaks them, and that they survive an SMTP server."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from email import policy
from email.parser import BytesParser
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.providers.dkim import DkimKey
from core.providers.smtp import SmtpProvider, wire_bytes
from tests.fixtures.smtp_server import TEXT, Server
from tests.fixtures.smtp_server import smtp_message as _message

DOMAIN, SELECTOR = "herald.test", "news2026"


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
