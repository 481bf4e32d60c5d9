"""The outbox provider writes real, parseable RFC 5322 files, once per key."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

from core.message import Mailbox, OutgoingMessage
from core.providers.outbox import OutboxProvider

SUBJECT = "Форум «Україна — Японія»: 東京フォーラム報告 – підсумки"
TEXT = "Вітаємо! Панель з Кіото — 日本語のテキスト • головне"
HTML = "<p>Вітаємо! <b>東京</b> — «підсумки»</p>"


def _message(key: str = "1", *, campaign_id: str = "1", text: str = TEXT) -> OutgoingMessage:
    return OutgoingMessage(
        key=key,
        sender=Mailbox("news@herald.test", "Центр Herald"),
        to=Mailbox(f"reader{key}@example.org", "山田 太郎"),
        subject=SUBJECT,
        html=HTML,
        text=text,
        message_id=f"<{key}@herald.test>",
        headers={
            "List-Unsubscribe": "<https://x/u/1>, <mailto:u@x?subject=unsubscribe>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        metadata={"campaign_id": campaign_id, "delivery_id": key},
    )


def _parse(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_writes_a_parseable_multipart_message(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path)

    [result] = outbox.send_batch([_message()])

    path = tmp_path / "campaign-1" / "1.eml"
    assert result.accepted and result.provider_message_id == "<1@herald.test>"
    parsed = _parse(path)
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"].addresses[0].display_name == "Центр Herald"
    assert parsed["To"].addresses[0].addr_spec == "reader1@example.org"
    assert parsed["To"].addresses[0].display_name == "山田 太郎"
    assert parsed["Message-ID"] == "<1@herald.test>"
    assert parsed["List-Unsubscribe"].startswith("<https://x/u/1>")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None and TEXT in plain.get_content()
    assert html is not None and HTML in html.get_content()


def test_headers_on_disk_are_ascii_with_encoded_words(tmp_path: Path) -> None:
    OutboxProvider(tmp_path).send_batch([_message()])

    raw = (tmp_path / "campaign-1" / "1.eml").read_bytes()
    head, separator, _ = raw.partition(b"\r\n\r\n")
    assert separator, "headers end with CRLF CRLF"
    head.decode("ascii")  # raises if any header byte is not ASCII
    assert b"=?utf-8?" in head.lower()


def test_resending_a_key_replaces_the_file_and_leaves_no_temp_files(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path)

    outbox.send_batch([_message(text="first version")])
    outbox.send_batch([_message(text="second version")])

    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert files == ["campaign-1", "campaign-1/1.eml"]
    plain = _parse(tmp_path / "campaign-1" / "1.eml").get_body(preferencelist=("plain",))
    assert plain is not None and "second version" in plain.get_content()


def test_transactional_messages_have_their_own_folder(tmp_path: Path) -> None:
    base = _message("7")
    confirmation = OutgoingMessage(
        key=base.key,
        sender=base.sender,
        to=base.to,
        subject=base.subject,
        html=base.html,
        text=base.text,
        message_id=base.message_id,
        transactional=True,
    )

    OutboxProvider(tmp_path).send_batch([confirmation])

    assert (tmp_path / "transactional" / "7.eml").is_file()


def test_a_key_that_would_escape_the_directory_is_refused(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path / "outbox")

    good, bad = outbox.send_batch([_message("2"), _message("../../evil")])

    assert good.accepted
    assert not bad.accepted and bad.error and "file name" in bad.error
    assert not list(tmp_path.rglob("evil*"))


def test_structured_headers_are_written_literally(tmp_path: Path) -> None:
    provider = OutboxProvider(tmp_path)
    message = _message("1")
    provider.send_batch([message])
    raw = provider.path_for(message).read_bytes()

    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ")
    assert b"List-Unsubscribe: <https://x/u/1>, <mailto:u@x?subject=unsubscribe>\r\n" in head
    assert b"Message-ID: <1@herald.test>\r\n" in head
