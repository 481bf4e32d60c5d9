"""``herald demo`` end to end, in a folder of its own and on PostgreSQL + Redis, and every
message it wrote parsed back with the standard library's email parser; a demo beside a
running instance's settings touches none of the instance's files."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

from tests.fixtures.processes import herald, herald_env

SUBSCRIBERS = 90
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
JAPANESE = re.compile(r"[\u3040-\u30FF\u4E00-\u9FFF]")
HTML_TAG = re.compile(r"</?(p|div|table|td|span|br|a|strong|img)\b", re.IGNORECASE)


def _run_demo(
    tmp_path: Path, *options: str, outbox: Path, subscribers: int = SUBSCRIBERS, **settings: str
) -> list[Path]:
    env = herald_env(base_url="https://news.example.org", **settings)
    result = herald(
        "demo",
        "--subscribers",
        str(subscribers),
        "--timeout",
        "180",
        *options,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"messages: {2 * subscribers}/{2 * subscribers}" in result.stdout
    return sorted(outbox.glob("campaign-*/*.eml"))


def test_demo_in_a_folder_of_its_own_then_refused_there_once_it_is_not_empty(
    tmp_path: Path,
) -> None:
    demo = tmp_path / "demo"
    files = _run_demo(tmp_path, "--data-dir", str(demo), outbox=demo / "outbox")
    assert len(files) == 2 * SUBSCRIBERS
    assert (demo / "herald.sqlite").is_file() and (demo / "broker.sqlite").is_file()
    _check_messages(files)
    again = herald("demo", "--no-worker", "--data-dir", str(demo), env=herald_env(), cwd=tmp_path)
    assert again.returncode == 2
    assert "empty database" in again.stderr
    assert str(demo) in again.stderr


def test_demo_on_postgres_and_redis(pg_db: str, redis_url: str, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    settings = {"database_url": pg_db, "broker_url": redis_url, "outbox_dir": str(outbox)}
    files = _run_demo(tmp_path, "--use-configured", outbox=outbox, **settings)
    assert len(files) == 2 * SUBSCRIBERS
    _check_messages(files)


def test_demo_shares_nothing_with_the_configured_instance(tmp_path: Path) -> None:
    """The instance's database, broker and outbox are set explicitly, as an operator's are;
    the demo (and the worker it starts) uses ``<data_dir>/demo`` all the same."""
    instance = tmp_path / "instance"
    settings = {
        "data_dir": str(tmp_path / "data"),
        "database_url": f"sqlite:///{instance}/herald.sqlite",
        "broker_url": f"sqla+sqlite:///{instance}/broker.sqlite",
        "outbox_dir": str(instance / "outbox"),
    }
    demo = tmp_path / "data" / "demo"
    files = _run_demo(tmp_path, outbox=demo / "outbox", subscribers=5, **settings)
    assert len(files) == 2 * 5
    assert not instance.exists()


def _check_messages(files: list[Path]) -> None:
    scripts = {"cyrillic": 0, "japanese": 0}
    for path in files:
        raw = path.read_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii(), f"{path.name}: raw headers must be ASCII (RFC 2047)"
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        subject, text, html = _check_one(path.name, message)
        for name, pattern in (("cyrillic", CYRILLIC), ("japanese", JAPANESE)):
            if pattern.search(subject) and pattern.search(text) and pattern.search(html):
                scripts[name] += 1
    assert scripts["cyrillic"] > 0 and scripts["japanese"] > 0, scripts


def _check_one(name: str, message: EmailMessage) -> tuple[str, str, str]:
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        assert message[header], f"{name}: no {header}"
    unsubscribe = str(message["List-Unsubscribe"])
    assert re.fullmatch(r"<https://news\.example\.org/unsubscribe/[\w.\-]+>", unsubscribe), name
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None, name
    text, html = text_part.get_content(), html_part.get_content()
    assert unsubscribe.strip("<>") in text and unsubscribe.strip("<>") in html
    assert not HTML_TAG.search(text), f"{name}: HTML in the plain-text part"
    assert "\ufffd" not in text + html + str(message["Subject"]), f"{name}: mangled characters"
    return str(message["Subject"]), text, html
