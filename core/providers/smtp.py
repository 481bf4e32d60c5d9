"""SMTP, to a relay or a mail server Herald is allowed to submit to, with optional DKIM.

One connection is opened on first use and reused for every message of every batch; a
connection the server closed while idle is opened again. SMTP takes one message per
transaction, so a batch is a loop of transactions, each with its own answer:

- ``250`` after the message data: accepted; our own Message-ID is the provider's id.
- a ``5xx`` to the recipient or the data: refused for good, with the server's code and text.
- a ``4xx`` to the recipient or the data: not accepted this time, reported as
  ``not sent (retryable)``.
- the connection lost (or a ``421``, or a ``4xx`` to the sender) before the message data was
  sent: nothing can have been delivered, so the message is tried once more on a new
  connection.
- the connection lost or silent once the data was sent: the server may have taken it, so the
  outcome is unknown and the message is never tried again here.

A failure of the session (server unreachable, TLS or login refused, the sender refused, the
connection lost twice) raises :class:`ProviderError` while nothing of the batch has been
accepted, so the whole batch may go again, later or elsewhere. An unknown outcome of the
first message raises :class:`OutcomeUnknown`, which leaves the whole batch unknown although
only that message may have gone out. Otherwise the batch stops at the failure: that message
is reported with the reason and the rest as ``not sent (retryable)``, the split-batch
convention of the HTTP providers.

Messages are sent in 7-bit form (7bit, quoted-printable or base64 bodies, as
:func:`core.mime.to_wire` chooses): servers without 8BITMIME can take them, and a relay
converting 8-bit bodies would break the DKIM signature (RFC 6376 section 5.3).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from collections.abc import Callable, Sequence

from core.message import OutgoingMessage
from core.mime import to_wire
from core.providers.base import OutcomeUnknown, ProviderError, SendResult
from core.providers.dkim import DkimKey, dkim_signature
from core.providers.http import not_accepted, refused, stopped_batch

MAX_BATCH_SIZE = 100
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SERVICE_CLOSING = 421
ACCEPTED_RECIPIENT = frozenset({250, 251})

_Command = Callable[[], tuple[int, bytes]]


def wire_bytes(message: OutgoingMessage, dkim_key: DkimKey | None = None) -> bytes:
    """The message as sent over SMTP: 7-bit bodies, CRLF lines, DKIM-signed when a key is given.

    An address outside ASCII needs SMTPUTF8, whose headers are UTF-8 rather than RFC 2047.
    """
    data = to_wire(message, utf8_headers=needs_smtputf8(message))
    if dkim_key is None:
        return data
    return dkim_signature(data, dkim_key, list(message.headers)) + data


def needs_smtputf8(message: OutgoingMessage) -> bool:
    """Whether an envelope address is outside ASCII (RFC 6531)."""
    return not (message.sender.email + message.to.email).isascii()


class _Dropped(Exception):
    """The connection ended before the message data was sent: nothing was delivered."""


class SmtpProvider:
    """Sends over one reused SMTP connection, with STARTTLS, AUTH and DKIM as configured.

    Batches from several threads take turns: one SMTP session carries one transaction at a
    time.
    """

    name = "smtp"
    max_batch_size = MAX_BATCH_SIZE
    idempotent = False

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        timeout: float = 30,
        dkim: DkimKey | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        _check_credentials(host, username, password, starttls=starttls)
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.dkim = dkim
        self._ssl_context = ssl_context
        self._connection: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def send_batch(
        self, messages: Sequence[OutgoingMessage], *, attempt_key: str = ""
    ) -> list[SendResult]:
        """Send ``messages`` one transaction each over the shared connection, in order.

        ``attempt_key`` is not used: SMTP has no idempotency key.
        """
        with self._lock:
            return self._send_all(messages)

    def close(self) -> None:
        """End the SMTP session politely, if one is open."""
        with self._lock:
            self._disconnect(polite=True)

    def check_access(self) -> str:
        """Prove the server and the login: connect, EHLO, STARTTLS and AUTH as for sending,
        then QUIT, without a message."""
        connection = self._connect()
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.quit()
        how = f"logged in as {self.username}" if self.username else "took the session"
        return f"SMTP server {self.host}:{self.port} {how}" + (
            " over STARTTLS" if self.starttls else ""
        )

    def _send_all(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        for index, message in enumerate(messages):
            try:
                results.append(self._send_with_one_retry(message))
            except (ProviderError, OutcomeUnknown) as error:
                if _may_raise(error, index, results):
                    raise
                results.extend(stopped_batch(message, messages[index + 1 :], error))
                break
        return results

    def _send_with_one_retry(self, message: OutgoingMessage) -> SendResult:
        data = wire_bytes(message, self.dkim)
        try:
            return self._transaction(message, data)
        except _Dropped:
            pass
        try:
            return self._transaction(message, data)
        except _Dropped as error:
            raise ProviderError(
                f"SMTP server {self.host}:{self.port} closed the connection twice: {error}",
                retryable=True,
            ) from error

    def _transaction(self, message: OutgoingMessage, data: bytes) -> SendResult:
        """MAIL, RCPT and DATA for one message; the session is reset after a refusal."""
        connection = self._session()
        international = needs_smtputf8(message)
        if international and not connection.has_extn("smtputf8"):
            return refused(message, "address is not ASCII and the server lacks SMTPUTF8")
        options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
        code, reply = self._before_data(lambda: connection.mail(message.sender.email, options))
        if _transient(code):
            # Often a limit of this session (messages per connection): a new one may pass.
            self._disconnect(polite=True)
            raise _Dropped(_reply(code, reply))
        if code != 250:
            self._reset()
            raise ProviderError(
                f"SMTP sender {message.sender.email} refused: {_reply(code, reply)}",
                retryable=_transient(code),
            )
        code, reply = self._before_data(lambda: connection.rcpt(message.to.email))
        if code not in ACCEPTED_RECIPIENT:
            self._reset()
            return _refusal(message, code, reply)
        return self._data(connection, message, data)

    def _before_data(self, command: _Command) -> tuple[int, bytes]:
        """Run an envelope command; a closed connection raises :class:`_Dropped`."""
        try:
            code, reply = command()
        except (smtplib.SMTPException, OSError) as error:
            self._disconnect(polite=False)
            raise _Dropped(repr(error)) from error
        if code == SERVICE_CLOSING:
            self._disconnect(polite=False)
            raise _Dropped(_reply(code, reply))
        return code, reply

    def _data(self, connection: smtplib.SMTP, message: OutgoingMessage, data: bytes) -> SendResult:
        try:
            code, reply = connection.data(data)
        except smtplib.SMTPDataError as error:  # DATA itself refused: the message never left
            self._reset()
            return _refusal(message, error.smtp_code, error.smtp_error)
        except (smtplib.SMTPException, OSError) as error:
            self._disconnect(polite=False)
            raise OutcomeUnknown(
                f"SMTP server {self.host}:{self.port} gave no answer to the message data, "
                f"which it may have taken: {error!r}"
            ) from error
        if code == 250:
            return SendResult(
                key=message.key, accepted=True, provider_message_id=message.message_id
            )
        self._reset()
        return _refusal(message, code, reply)

    def _session(self) -> smtplib.SMTP:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _connect(self) -> smtplib.SMTP:
        where = f"SMTP server {self.host}:{self.port}"
        try:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except smtplib.SMTPConnectError as error:
            raise ProviderError(
                f"{where} refused the session: {_reply(error.smtp_code, error.smtp_error)}",
                retryable=_transient(error.smtp_code) or error.smtp_code == -1,
            ) from error
        except (OSError, smtplib.SMTPException) as error:
            raise ProviderError(f"{where} unreachable: {error!r}", retryable=True) from error
        try:
            self._open_session(connection, where)
        except BaseException:
            connection.close()
            raise
        return connection

    def _open_session(self, connection: smtplib.SMTP, where: str) -> None:
        """EHLO, then STARTTLS and EHLO again, then AUTH, as configured."""
        try:
            connection.ehlo_or_helo_if_needed()
            if self.starttls:
                context = self._ssl_context or ssl.create_default_context()
                connection.starttls(context=context)
                connection.ehlo()
            if self.username:
                connection.login(self.username, self.password)
        except ssl.SSLCertVerificationError as error:
            raise ProviderError(
                f"{where}: certificate refused: {error}", retryable=False
            ) from error
        except smtplib.SMTPNotSupportedError as error:
            raise ProviderError(f"{where}: {error}", retryable=False) from error
        except smtplib.SMTPResponseException as error:
            raise ProviderError(
                f"{where} refused the session: {_reply(error.smtp_code, error.smtp_error)}",
                retryable=_transient(error.smtp_code),
            ) from error
        except (OSError, smtplib.SMTPException) as error:
            raise ProviderError(f"{where}: session failed: {error!r}", retryable=True) from error

    def _reset(self) -> None:
        """RSET after a refusal; a session that cannot even reset is dropped."""
        if self._connection is None:
            return
        try:
            code, _ = self._connection.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self._disconnect(polite=False)

    def _disconnect(self, *, polite: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if polite:
                connection.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the server is gone already: there is nobody to say goodbye to
        finally:
            connection.close()


def _check_credentials(host: str, username: str, password: str, *, starttls: bool) -> None:
    """Refuse credentials that would cross the network in clear text, or cannot be sent."""
    if username and not starttls and host.lower() not in LOCAL_HOSTS:
        raise ValueError(
            f"refusing to send SMTP credentials to {host} without STARTTLS; "
            "turn STARTTLS on or submit to a relay on this machine"
        )
    # The standard SMTP client sends AUTH as ASCII only: anything else fails every login.
    if not (username + password).isascii():
        raise ValueError("SMTP username and password must be ASCII")


def _may_raise(error: ProviderError | OutcomeUnknown, index: int, sent: list[SendResult]) -> bool:
    """Whether the failure may fail the whole batch: only when nothing of it was accepted.

    An unknown outcome only does for the first message, as the caller cannot be told which
    one of a batch is unknown.
    """
    if isinstance(error, OutcomeUnknown):
        return index == 0
    return not any(result.accepted for result in sent)


def _refusal(message: OutgoingMessage, code: int, reply: bytes | str) -> SendResult:
    """A refused message; a 4xx is marked retryable, the way a split batch reports it."""
    text = _reply(code, reply)
    if _transient(code):
        return not_accepted(message, ProviderError(text, retryable=True))
    return refused(message, text)


def _transient(code: int) -> bool:
    return 400 <= code < 500


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"SMTP {code} {' '.join(text.split())}"
