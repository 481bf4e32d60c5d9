"""The MIME writer, read back byte by byte and by the standard library's parser.

The property test writes random names, subjects and bodies (Latin, Cyrillic, Japanese, emoji,
typographic punctuation, any length) and checks that the standard parser decodes exactly the
input, that every line fits 998 bytes and that the message is 7-bit. The other tests look at
the bytes themselves: what is encoded, how it is folded, which transfer encoding is chosen.
"""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.message import Mailbox, OutgoingMessage
from core.mime import (
    ENCODED_WORD_LIMIT,
    HeaderError,
    encode_part,
    encoded_words,
    structured_header,
    text_header,
    to_wire,
    wire_message,
)

SCRIPTS = (
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,:;!?-()'&/",
    "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя АБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯ ",
    "日本語の報告書東京キーウ会議山田太郎さん、「復興」と安全保障。 ",
    "😀🇺🇦🎉📊✅ ",
    "“”‘’«»—–…•\u00a0 ",
    '=<>&"#%@[]\\\t',
)
ALPHABET = "".join(SCRIPTS)


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=st.sampled_from(ALPHABET), max_size=max_size)


def _message(subject: str, name: str, text: str, html: str) -> OutgoingMessage:
    return OutgoingMessage(
        key="1",
        sender=Mailbox("news@herald.test", name),
        to=Mailbox("reader@example.org", "Читач"),
        subject=subject,
        html=html,
        text=text,
        message_id="<herald.1.abc@herald.test>",
        headers={"List-Unsubscribe": "<https://herald.test/unsubscribe/" + "Wz" * 60 + ">"},
    )


def _lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    return data[:-2].split(b"\r\n")


def _raw_header(data: bytes, name: bytes) -> str:
    """The unfolded value of the first ``name`` header, read from the bytes."""
    head = data.partition(b"\r\n\r\n")[0].replace(b"\r\n ", b" ")
    (line,) = [line for line in head.split(b"\r\n") if line.startswith(name + b": ")][:1]
    return line[len(name) + 2 :].decode("ascii")


def _display_name(mailbox: str) -> str:
    """The display name of ``Name <address>``: unquoted, or its encoded-words decoded.

    Not the standard parser's address headers: they keep the space between two encoded-words
    of a phrase, which RFC 2047 (section 6.2) and every mail client drop.
    """
    phrase = mailbox.rpartition(" <")[0] if mailbox.endswith(">") else ""
    if phrase.startswith('"'):
        return re.sub(r"\\(.)", r"\1", phrase[1:-1])
    return str(email.header.make_header(email.header.decode_header(phrase)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=_text(200).map(str.strip).filter(bool),
    name=_text(80),
    text=st.lists(_text(1200), max_size=8).map("\n".join),
    html=st.lists(_text(3000), max_size=4).map("\n".join),
)
def test_any_subject_name_and_body_comes_back_exactly(
    subject: str, name: str, text: str, html: str
) -> None:
    data = to_wire(_message(subject, name, text, html))

    assert data.isascii()
    assert all(len(line) <= 998 for line in _lines(data))
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert str(parsed["Subject"]) == subject
    assert parsed["From"].addresses[0].addr_spec == "news@herald.test"
    assert _display_name(_raw_header(data, b"From")) == " ".join(name.split())
    plain, rich = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and rich is not None
    assert plain.get_content().replace("\r\n", "\n") == text.removesuffix("\n") + "\n"
    assert rich.get_content().replace("\r\n", "\n") == html.removesuffix("\n") + "\n"


def test_a_cyrillic_subject_keeps_the_space_between_words() -> None:
    subject = "Підсумки Форуму відбудови та безпеки: що ми почули від учасників панелей"
    header = text_header("Subject", subject)

    words = header.decode().removeprefix("Subject: ").split()
    assert all(len(word) <= ENCODED_WORD_LIMIT for word in words)
    joined = b"".join(base64.b64decode(word[10:-2]) for word in words).decode()
    assert joined == subject


def test_the_first_encoded_word_fits_the_line_of_its_header() -> None:
    header = text_header("Subject", "Форум " * 30)

    assert all(len(line) <= 78 for line in header.split(b"\r\n"))


def test_an_ascii_subject_is_kept_and_folded_at_whitespace() -> None:
    subject = "Forum on reconstruction and security: " + "speakers, panels and recordings " * 3
    header = text_header("Subject", subject.strip())

    assert b"=?" not in header
    lines = header.split(b"\r\n")[:-1]
    assert len(lines) > 1 and all(len(line) <= 78 for line in lines)
    assert b"".join(lines).decode().removeprefix("Subject: ") == subject.strip()


def test_ascii_that_looks_like_an_encoded_word_is_encoded() -> None:
    header = text_header("Subject", "Why =?utf-8?q?x?= appears in headers")

    assert header.startswith(b"Subject: =?utf-8?b?")


def test_structured_headers_are_literal_and_folded_only_after_commas() -> None:
    url = "<https://herald.test/unsubscribe/" + "A" * 120 + ">"
    header = structured_header("List-Unsubscribe", f"{url}, <mailto:u@herald.test>")

    assert header == f"List-Unsubscribe: {url},\r\n <mailto:u@herald.test>\r\n".encode()


@pytest.mark.parametrize("value", ["a\r\nBcc: x@evil.test", "a\nb", "a\rb"])
def test_a_line_break_in_a_header_is_refused(value: str) -> None:
    with pytest.raises(HeaderError):
        structured_header("List-Id", value)
    with pytest.raises(HeaderError):
        text_header("Subject", value)
    with pytest.raises(HeaderError):
        to_wire(_message("s", value, "t", "h"))


def test_a_structured_header_outside_ascii_is_refused() -> None:
    with pytest.raises(HeaderError):
        structured_header("List-Id", "Новини <news.lists.herald.test>")


def test_display_names_with_specials_are_quoted_and_others_encoded() -> None:
    data = to_wire(_message("s", 'Policy Centre, "Kyiv"', "t", "h"))
    assert b'From: "Policy Centre, \\"Kyiv\\"" <news@herald.test>\r\n' in data
    data = to_wire(_message("s", "Herald Policy Centre", "t", "h"))
    assert b"From: Herald Policy Centre <news@herald.test>\r\n" in data
    data = to_wire(_message("s", "Центр політики", "t", "h"))
    assert b"From: =?utf-8?b?" in data
    # A name that fits one encoded-word reads back alike in every decoder, Python's included.
    assert (
        email.message_from_bytes(data, policy=email.policy.default)["From"]
        .addresses[0]
        .display_name
        == "Центр політики"
    )


def test_smtputf8_headers_are_written_as_utf8() -> None:
    message = _message("Форум відбудови", "Центр", "t", "h")
    data = to_wire(message, utf8_headers=True)

    assert "Subject: Форум відбудови\r\n".encode() in data
    assert "From: Центр <news@herald.test>\r\n".encode() in data


def test_ascii_parts_go_as_7bit_and_long_lines_as_quoted_printable() -> None:
    assert encode_part("Hello\nworld", "plain").encoding == "7bit"
    long_line = encode_part("x " * 600, "plain")
    assert long_line.encoding == "quoted-printable"
    assert all(len(line) <= 76 for line in long_line.payload.split(b"\r\n"))


def test_mostly_cyrillic_html_goes_as_base64_in_lines_of_76() -> None:
    part = encode_part("<p>" + "Відбудова та безпека. " * 200 + "</p>", "html")

    assert part.encoding == "base64"
    lines = part.payload.split(b"\r\n")[:-1]
    assert {len(line) for line in lines[:-1]} == {76}
    assert part.size == len(part.payload) < part.decoded_size * 1.4


def test_mostly_ascii_html_with_a_few_letters_goes_quoted_printable() -> None:
    part = encode_part("<table><tr><td>Forum</td></tr></table>\n" * 50 + "— Київ", "html")

    assert part.encoding == "quoted-printable"


def test_the_layout_is_headers_then_parts_between_one_random_boundary() -> None:
    message = _message("Subject", "Herald", "Text", "<p>HTML</p>")
    first = wire_message(message, date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    second = wire_message(message)

    assert first.boundary != second.boundary
    data = first.to_bytes()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(first.headers.rstrip(b"\r\n"))
    assert b"Date: Fri, 02 Jan 2026 03:04:05 +0000\r\n" in head
    assert b"MIME-Version: 1.0\r\n" in head
    assert body.count(f"--{first.boundary}\r\n".encode()) == 2
    assert body.endswith(f"--{first.boundary}--\r\n".encode())


def test_encoded_words_split_between_characters_never_inside_one() -> None:
    words = encoded_words("😀" * 40)

    assert all(len(word) <= ENCODED_WORD_LIMIT for word in words)
    assert all(base64.b64decode(word[10:-2]).decode() for word in words)
