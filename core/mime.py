"""The bytes of a message on the wire: a header block and body parts, written byte for byte.

Mailbox providers read the raw bytes, not Python's view of them, so Herald writes them itself
instead of serialising :mod:`email` objects through a policy (which RFC 2047-encoded the
structured headers and lost spaces between encoded-words):

- **Structured headers** (Message-ID, List-Unsubscribe, List-Id, Feedback-ID,
  Content-Language …) are written literally, folded only at the whitespace after a comma,
  never as encoded-words. A CR or LF in any value is refused: it would start a new header.
- **Subjects and display names** stay as typed when ASCII (folded at whitespace past 78
  columns); otherwise they become RFC 2047 ``B`` encoded-words of at most 75 characters, split
  on character boundaries, so every space is *inside* a word and every decoder gives back the
  text exactly. With SMTPUTF8 (RFC 6532) they are written as UTF-8 instead. A display name
  that fits one encoded-word (45 bytes) is one: Python's address parser, unlike RFC 2047 and
  mail clients, keeps the space between two encoded-words of a phrase.
- **Body parts** get the transfer encoding their content needs: ``7bit`` for ASCII with lines
  of at most 998 bytes, else the smaller of quoted-printable and base64 (binascii's C codecs).
  Every line ends in CRLF; base64 lines are 76 characters.

A message is laid out as :class:`WireMessage`: the header block, a boundary and the encoded
parts, each with its size, so a caller can report what a part costs on the wire.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from core.database import utcnow
from core.message import Mailbox, OutgoingMessage

CRLF = b"\r\n"
FOLD_AT = 78
"""RFC 5322's recommended line length; lines are folded before it where they can be."""
MAX_LINE = 998
"""RFC 5322's hard limit on a line, CRLF excluded."""
ENCODED_WORD_LIMIT = 75
"""RFC 2047's limit on one encoded-word."""
BASE64_LINE = 76
QP_LINE = 76

_EIGHT_BIT = bytes(range(128, 256))
_WORD_START = "=?utf-8?b?"
_WORD_END = "?="
# Characters that force a display name into a quoted-string (RFC 5322 "specials").
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")


class HeaderError(ValueError):
    """A header value that cannot be written safely (a line break, or 8-bit where not allowed)."""


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One encoded leaf part: its MIME type, its transfer encoding and its encoded bytes."""

    content_type: str
    encoding: str
    payload: bytes
    decoded_size: int

    @property
    def size(self) -> int:
        """Bytes of the encoded payload, as it travels."""
        return len(self.payload)

    def to_bytes(self) -> bytes:
        """The part's own headers, a blank line and its payload."""
        head = f"Content-Type: {self.content_type}\r\nContent-Transfer-Encoding: {self.encoding}"
        return head.encode("ascii") + CRLF + CRLF + self.payload


@dataclass(frozen=True, slots=True)
class WireMessage:
    """A message as header block + ``multipart/alternative`` parts, ready to be joined."""

    headers: bytes
    boundary: str
    parts: tuple[BodyPart, ...]

    def to_bytes(self) -> bytes:
        """The whole message: headers, MIME headers, the parts between boundaries."""
        delimiter = b"--" + self.boundary.encode("ascii")
        chunks = [
            self.headers,
            b"MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative; boundary="{self.boundary}"'.encode("ascii"),
            CRLF + CRLF,
        ]
        for part in self.parts:
            chunks += [delimiter, CRLF, part.to_bytes(), CRLF]
        chunks += [delimiter, b"--", CRLF]
        return b"".join(chunks)


def to_wire(
    message: OutgoingMessage, *, utf8_headers: bool = False, date: datetime | None = None
) -> bytes:
    """The message's bytes (CRLF lines, 7-bit bodies); ``utf8_headers`` for SMTPUTF8."""
    return wire_message(message, utf8_headers=utf8_headers, date=date).to_bytes()


def wire_message(
    message: OutgoingMessage, *, utf8_headers: bool = False, date: datetime | None = None
) -> WireMessage:
    """The message laid out as header block and encoded text and HTML parts."""
    return WireMessage(
        headers=header_block(message, utf8_headers=utf8_headers, date=date),
        boundary=new_boundary(),
        parts=(encode_part(message.text, "plain"), encode_part(message.html, "html")),
    )


def header_block(
    message: OutgoingMessage, *, utf8_headers: bool = False, date: datetime | None = None
) -> bytes:
    """From, To, Reply-To, Subject, Date, Message-ID and the message's own headers."""
    lines = [
        address_header("From", [message.sender], utf8=utf8_headers),
        address_header("To", [message.to], utf8=utf8_headers),
    ]
    if message.reply_to:
        lines.append(address_header("Reply-To", message.reply_to, utf8=utf8_headers))
    lines += [
        text_header("Subject", message.subject, utf8=utf8_headers),
        structured_header("Date", format_datetime(date or utcnow())),
        structured_header("Message-ID", message.message_id, utf8=utf8_headers),
    ]
    lines += [
        structured_header(name, value, utf8=utf8_headers) for name, value in message.headers.items()
    ]
    return b"".join(lines)


def new_boundary() -> str:
    """A random boundary; ``=_`` can occur in neither quoted-printable nor base64 text."""
    return f"=_herald_{secrets.token_hex(12)}"


def structured_header(name: str, value: str, *, utf8: bool = False) -> bytes:
    """``Name: value`` written literally, folded only at the whitespace after a comma.

    Outside ASCII only with SMTPUTF8 (an internationalised domain in a Message-ID).
    """
    _refuse_line_breaks(name, value)
    if not (value.isascii() or utf8):
        raise HeaderError(f"{name} must be ASCII: structured headers are never encoded")
    items = value.split(", ")
    tokens = [item + "," for item in items[:-1]] + items[-1:]
    return _fold(name, tokens)


def text_header(name: str, value: str, *, utf8: bool = False) -> bytes:
    """An unstructured header (Subject): as typed when ASCII, else RFC 2047 encoded-words."""
    _refuse_line_breaks(name, value)
    if utf8 or _plain_ascii(value):
        return _fold(name, value.split(" "))
    return _fold(name, encoded_words(value, first_room=FOLD_AT - len(name) - 2))


def address_header(name: str, mailboxes: Sequence[Mailbox], *, utf8: bool = False) -> bytes:
    """``Name: mailbox, mailbox``: display names quoted or encoded, addresses literal."""
    tokens: list[str] = []
    for index, mailbox in enumerate(mailboxes):
        _refuse_line_breaks(name, mailbox.name + mailbox.email)
        words = mailbox_words(mailbox, utf8=utf8)
        if index < len(mailboxes) - 1:
            words[-1] += ","
        tokens += words
    return _fold(name, tokens)


def formatted_mailbox(mailbox: Mailbox) -> str:
    """RFC 5322 form, the name quoted where needed and RFC 2047-encoded outside ASCII."""
    return " ".join(mailbox_words(mailbox))


def mailbox_words(mailbox: Mailbox, *, utf8: bool = False) -> list[str]:
    """The words of ``"Name" <address>`` (the name quoted or encoded as it needs)."""
    address = f"<{mailbox.email}>"
    name = " ".join(mailbox.name.split())
    if not name:
        return [mailbox.email]
    if utf8 or (name.isascii() and name.isprintable() and "=?" not in name):
        return [*phrase(name).split(" "), address]
    return [*encoded_words(name), address]


def phrase(name: str) -> str:
    """``name`` as an RFC 5322 phrase: as it is when it is made of atoms, else quoted."""
    # RFC 6532 lets any non-ASCII character be atext: only ASCII decides the quoting.
    atoms = _ATEXT.fullmatch(_NON_ASCII.sub("a", name)) and not _SPECIALS.search(name)
    return name if atoms else _quoted(name)


def encoded_words(text: str, *, first_room: int = ENCODED_WORD_LIMIT) -> list[str]:
    """``text`` as B encoded-words of at most 75 characters, split between characters.

    The first word may be shorter (``first_room``) so that it fits the header's first line.
    """
    words: list[str] = []
    chunk = bytearray()
    room = _payload_room(min(first_room, ENCODED_WORD_LIMIT))
    for character in text:
        encoded = character.encode("utf-8")
        if chunk and len(chunk) + len(encoded) > room:
            words.append(_encoded_word(bytes(chunk)))
            chunk.clear()
            room = _payload_room(ENCODED_WORD_LIMIT)
        chunk += encoded
    if chunk or not words:
        words.append(_encoded_word(bytes(chunk)))
    return words


def encode_part(text: str, subtype: str) -> BodyPart:
    """A UTF-8 text part in the smallest transfer encoding its content allows."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    raw = "\r\n".join(lines).encode("utf-8") + CRLF
    content_type = f'text/{subtype}; charset="utf-8"'
    if raw.isascii() and all(len(line) <= MAX_LINE for line in lines):
        return BodyPart(content_type, "7bit", raw, len(raw))
    based = base64_lines(raw)
    # Each 8-bit byte takes three characters in quoted-printable: when that alone outgrows
    # base64 (Cyrillic, Japanese), quoted-printable need not be computed at all.
    eight_bit = len(raw) - len(raw.translate(None, _EIGHT_BIT))
    if len(raw) + 2 * eight_bit < len(based):
        quoted = quoted_printable(raw)
        if len(quoted) <= len(based):
            return BodyPart(content_type, "quoted-printable", quoted, len(raw))
    return BodyPart(content_type, "base64", based, len(raw))


def quoted_printable(raw: bytes) -> bytes:
    """``raw`` (CRLF lines) as quoted-printable with CRLF line ends and soft breaks."""
    encoded = binascii.b2a_qp(raw, istext=True)
    # b2a_qp takes its line end from the first line: a single line gets LF soft breaks.
    lines = encoded.replace(CRLF, b"\n").removesuffix(b"\n").split(b"\n")
    return b"".join(piece + CRLF for line in lines for piece in _within_76(line))


def _within_76(line: bytes) -> list[bytes]:
    """``line`` cut by soft breaks into lines of at most 76 (b2a_qp can leave 77)."""
    pieces = []
    while len(line) > QP_LINE:
        cut = QP_LINE - 1
        escape = line.rfind(b"=", cut - 2, cut)
        cut = escape if escape != -1 else cut  # never inside an =XX escape
        pieces.append(line[:cut] + b"=")
        line = line[cut:]
    return [*pieces, line]


def base64_lines(raw: bytes) -> bytes:
    """``raw`` as base64 in lines of 76 characters, each ending in CRLF."""
    encoded = binascii.b2a_base64(raw, newline=False)
    lines = (encoded[at : at + BASE64_LINE] for at in range(0, len(encoded), BASE64_LINE))
    return b"".join(line + CRLF for line in lines)


def _fold(name: str, tokens: Iterable[str]) -> bytes:
    """``Name: tokens`` joined by spaces, a space turned into CRLF+space where a line is full."""
    lines: list[str] = []
    line = f"{name}:"
    for token in tokens:
        if token and len(line) + 1 + len(token) > FOLD_AT and line.strip() != f"{name}:":
            lines.append(line)
            line = " " + token
        else:
            line += " " + token
    lines.append(line)
    data = "\r\n".join(lines).encode("utf-8") + CRLF
    if any(len(part) > MAX_LINE for part in data.split(CRLF)):
        raise HeaderError(f"{name} has a word too long for a line of {MAX_LINE} bytes")
    return data


def _plain_ascii(value: str) -> bool:
    """Whether ``value`` can be written as is: ASCII, printable, nothing a decoder would take
    for an encoded-word, no spaces at its ends (parsers drop them)."""
    return (
        value.isascii()
        and value.isprintable()
        and "=?" not in value
        and value == value.strip()
        and all(len(word) < MAX_LINE - 80 for word in value.split(" "))
    )


def _quoted(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _payload_room(word_length: int) -> int:
    """Bytes of text that fit in an encoded-word of ``word_length`` characters."""
    base64_room = word_length - len(_WORD_START) - len(_WORD_END)
    return max(base64_room // 4 * 3, 4)


def _encoded_word(chunk: bytes) -> str:
    return _WORD_START + binascii.b2a_base64(chunk, newline=False).decode("ascii") + _WORD_END


def _refuse_line_breaks(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or not name.isascii() or ":" in name:
        raise HeaderError(f"{name!r}: a header name or value holds a line break or colon")
