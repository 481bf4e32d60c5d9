"""``herald doctor`` run as an operator runs it: a process of its own against PostgreSQL,
Redis, the providers' sandbox, a DNS server on 127.0.0.1 and the web app; all ok, then one
broken piece at a time, each named with its reason and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.web.app import app as web_app
from sandbox import create_sandbox_app, serve_in_thread
from tests.fixtures.dns_server import DnsServer
from tests.fixtures.processes import herald, herald_env
from tests.fixtures.sandbox import TOKEN, sandbox_config

CHECKS = ["settings", "database", "broker", "provider", "spf", "dkim", "dmarc", "web"]


@pytest.fixture
def install(
    pg_db: str, redis_url: str, dns_server: DnsServer, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """Settings of an install whose every piece answers: HERALD_* values by name."""
    dns_server.publish("herald.test", "v=spf1 include:spf.mtasv.net ~all")
    dns_server.publish("pm._domainkey.herald.test", "k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GN")
    dns_server.publish("_dmarc.herald.test", "v=DMARC1; p=reject")
    sandbox_url, stop_sandbox = serve_in_thread(create_sandbox_app(sandbox_config()))
    web_url, stop_web = serve_in_thread(web_app)
    yield {
        "env": "test",
        "database_url": pg_db,
        "broker_url": redis_url,
        "provider": "postmark",
        "provider_url": sandbox_url,
        "postmark_server_token": TOKEN,
        "from_email": "news@herald.test",
        "dkim_selector": "pm",
        "doctor_nameserver": dns_server.address,
        "doctor_timeout_seconds": "3",
        "base_url": web_url,
        "outbox_dir": str(tmp_path / "outbox"),
    }
    stop_web()
    stop_sandbox()


def _doctor(tmp_path: Path, **settings: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """The exit code, and each line's level and reason by check name."""
    done = herald("doctor", env=herald_env(**settings), cwd=tmp_path, timeout=120)
    assert done.stderr == "", done.stderr
    lines = {}
    for line in done.stdout.splitlines():
        # Columns as report_line prints them: level, name (its first word here), reason.
        level, name, reason = line[:5].strip(), line[6:24].split()[0], line[25:]
        lines[name] = (level, reason)
    return done.returncode, lines


def test_every_piece_answering_is_all_ok(install: dict[str, str], tmp_path: Path) -> None:
    code, lines = _doctor(tmp_path, **install)
    assert list(lines) == CHECKS
    assert {name: level for name, (level, _) in lines.items()} == dict.fromkeys(CHECKS, "ok")
    assert code == 0
    assert lines["provider"][1] == "Postmark server 'Herald sandbox' accepts the token"
    assert "migrations at head" in lines["database"][1]
    assert lines["dmarc"][1] == "_dmarc.herald.test: p=reject"


def test_a_wrong_token_fails_with_the_providers_answer(
    install: dict[str, str], tmp_path: Path
) -> None:
    code, lines = _doctor(tmp_path, **{**install, "postmark_server_token": "wrong"})
    assert code == 1
    level, reason = lines["provider"]
    assert level == "fail" and reason.startswith("Postmark refused the credentials: HTTP 401")
    assert [name for name, (level, _) in lines.items() if level != "ok"] == ["provider"]


def test_a_missing_token_and_a_broker_that_is_down_are_both_named(
    install: dict[str, str], tmp_path: Path
) -> None:
    broken = {**install, "postmark_server_token": "", "broker_url": "redis://127.0.0.1:9/0"}
    code, lines = _doctor(tmp_path, **broken)
    assert code == 1
    assert lines["provider"] == (
        "fail",
        "cannot be built: HERALD_POSTMARK_SERVER_TOKEN must be set to send with postmark",
    )
    assert lines["broker"][0] == "fail" and "unreachable" in lines["broker"][1]


def test_settings_that_do_not_load_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    # Production without its secret key: every command, doctor included, says why and stops
    # before anything else reads the settings.
    done = herald("doctor", env=herald_env(env="production", secret_key=""), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: the settings do not load: ")
    assert "HERALD_SECRET_KEY must be set" in done.stderr
    assert done.stdout == ""
