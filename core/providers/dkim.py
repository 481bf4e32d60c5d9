"""DKIM signatures (RFC 6376) on the bytes of a message, for the providers that send raw MIME.

:class:`DkimKey` is checked when it is made, so a bad key stops the process at start rather
than failing every message later; :func:`dkim_signature` gives the header line to put in
front of the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dkim
import dkim.crypto

DKIM_SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
)
"""Headers every signature covers; RFC 8058 requires both List-Unsubscribe headers."""


@dataclass(frozen=True, slots=True)
class DkimKey:
    """The key and DNS name (``<selector>._domainkey.<domain>``) of DKIM signatures."""

    domain: str
    selector: str
    private_key_pem: bytes

    def __post_init__(self) -> None:
        # A bad key must stop the process at start, not fail every message later.
        try:
            dkim.crypto.parse_pem_private_key(self.pem)
        except (dkim.crypto.UnparsableKeyError, ValueError) as error:
            raise ValueError(f"DKIM private key for {self.domain} is unusable: {error}") from error

    @classmethod
    def from_file(cls, domain: str, selector: str, path: Path | str) -> DkimKey:
        """The key stored as PEM (PKCS#1 or PKCS#8) at ``path``."""
        return cls(domain, selector, Path(path).read_bytes())

    @property
    def pem(self) -> bytes:
        """The PEM text with LF line endings, the only ones the key parser reads."""
        return self.private_key_pem.replace(b"\r\n", b"\n")


def dkim_signature(data: bytes, key: DkimKey, extra_headers: Sequence[str] = ()) -> bytes:
    """The ``DKIM-Signature`` header line (CRLF-terminated) for the message ``data``.

    relaxed/relaxed, rsa-sha256. Each signed header is listed once more than it occurs, so
    adding another instance (a second List-Unsubscribe, say) breaks the signature.
    """
    wanted = (name.lower() for name in (*DKIM_SIGNED_HEADERS, *extra_headers))
    names = [name for name in dict.fromkeys(wanted) if name.encode() not in dkim.DKIM.SHOULD_NOT]
    signature: bytes = dkim.sign(
        data,
        key.selector.encode(),
        key.domain.encode(),
        key.pem,
        canonicalize=(b"relaxed", b"relaxed"),
        signature_algorithm=b"rsa-sha256",
        include_headers=[name.encode() for name in names + names],
        linesep=b"\r\n",
    )
    return signature
