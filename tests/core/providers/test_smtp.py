"""The SMTP provider against a real SMTP server: batches, failures, lost sessions, STARTTLS, AUTH.

The server (``tests.fixtures.smtp_server``) records what it received, per connection, and
misbehaves on request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from core.message import Mailbox
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.smtp import SmtpProvider
from tests.fixtures.smtp_server import (
    HTML,
    PASSWORD,
    SUBJECT,
    TEXT,
    USER,
    Certificate,
    Server,
    StartServer,
)
from tests.fixtures.smtp_server import free_port as _free_port
from tests.fixtures.smtp_server import smtp_message as _message

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


def test_credentials_outside_ascii_are_refused_at_once() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        SmtpProvider("localhost", 25, username=USER, password="пароль")
