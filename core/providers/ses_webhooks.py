"""Amazon SES events, as Amazon SNS delivers them to an HTTPS endpoint.

SES publishes each sending event of a configuration set to an SNS topic; SNS POSTs a JSON
document to Herald whose ``Message`` is the SES event record, itself JSON. Verification follows
SNS's documented procedure before anything in the message is trusted:

- ``TopicArn`` must be the configured topic (any other is refused, to stop spoofing);
- ``SigningCertURL`` must be ``https``, end in ``.pem`` and be on an SNS host
  (``sns.<region>.amazonaws.com``, or ``.amazonaws.com.cn``), the region being the topic's;
- the signature is RSA over the *string to sign*: the fields ``Message``, ``MessageId``,
  ``Subject`` (if present), ``SubscribeURL`` and ``Token`` (confirmations only), ``Timestamp``,
  ``TopicArn`` and ``Type``, each as its name, a newline, its value and a newline, in that
  byte order; with SHA1 for ``SignatureVersion`` 1 and SHA256 for 2.

The certificate is fetched by an injectable function and its key cached per URL (shared by
every reader that uses the built-in fetcher).

Reading turns an SES event record into :class:`ProviderEvent` values, one per recipient it
names: ``Delivery`` → delivered, ``Bounce`` → bounced (``Permanent`` hard, otherwise soft),
``Complaint`` → complained, ``DeliveryDelay`` → deferred, ``Reject`` and ``Rendering Failure``
→ failed, ``Open`` → opened, ``Click`` → clicked; ``Send`` and unknown kinds are left out.
The event id is the SNS ``MessageId`` (SNS keeps it across its retries), with ``:<n>`` for
the n-th recipient when one record names several. The delivery is the ``delivery_id`` tag.
A ``SubscriptionConfirmation`` yields no events: :meth:`SesWebhooks.subscription_url` gives
the URL the web route visits to confirm it.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.providers.events import EventType, ProviderEvent, WebhookRefused
from core.providers.webhook_fields import address, delivery_id_from, parse_time

CertificateFetcher = Callable[[str], bytes]

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
SIGNED_FIELDS = {
    NOTIFICATION: NOTIFICATION_FIELDS,
    SUBSCRIPTION_CONFIRMATION: CONFIRMATION_FIELDS,
    UNSUBSCRIBE_CONFIRMATION: CONFIRMATION_FIELDS,
}
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
# The host pattern AWS's own SNS message validators use for certificate URLs.
SNS_HOST = re.compile(r"sns\.(?P<region>[a-zA-Z0-9\-]{3,})\.amazonaws\.com(\.cn)?")
CERTIFICATE_TIMEOUT_SECONDS = 10.0
MAX_CACHED_CERTIFICATES = 16

SES_EVENTS: dict[str, EventType] = {
    "Delivery": EventType.DELIVERED,
    "Bounce": EventType.BOUNCED,
    "Complaint": EventType.COMPLAINED,
    "DeliveryDelay": EventType.DEFERRED,
    "Reject": EventType.FAILED,
    "Rendering Failure": EventType.FAILED,
    "Open": EventType.OPENED,
    "Click": EventType.CLICKED,
}


class CertificateUnavailable(Exception):
    """The signing certificate could not be fetched or read: SNS should try again later."""


def fetch_certificate(url: str) -> bytes:
    """Download a signing certificate (HTTPS, no redirects)."""
    try:
        response = httpx.get(url, timeout=CERTIFICATE_TIMEOUT_SECONDS, follow_redirects=False)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise CertificateUnavailable(f"cannot fetch {url}: {error!r}") from error
    return response.content


class SigningKeys:
    """The public keys of signing certificates, fetched once per URL (thread-safe, bounded)."""

    def __init__(self, fetch: CertificateFetcher) -> None:
        self._fetch = fetch
        self._keys: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> rsa.RSAPublicKey:
        """The key of the certificate at ``url``, fetching it the first time."""
        with self._lock:
            key = self._keys.get(url)
        if key is not None:
            return key
        key = _rsa_key(self._fetch(url))
        with self._lock:
            self._keys[url] = key
            if len(self._keys) > MAX_CACHED_CERTIFICATES:
                self._keys.popitem(last=False)
        return key


_SHARED_KEYS = SigningKeys(fetch_certificate)


class SesWebhooks:
    """Verifies and reads the SNS notifications carrying SES events for one topic."""

    provider = "ses"

    def __init__(self, topic_arn: str, fetch_certificate: CertificateFetcher | None = None) -> None:
        self.topic_arn = topic_arn
        # The web app builds a reader per request, so the real certificates are cached for all;
        # a reader given its own fetcher keeps its own cache.
        self._keys = _SHARED_KEYS if fetch_certificate is None else SigningKeys(fetch_certificate)

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise :class:`WebhookRefused` unless ``body`` is a genuine SNS message of our topic.

        Raises :class:`CertificateUnavailable` when the certificate cannot be had (answer 5xx so
        SNS retries).
        """
        message = _document(body)
        kind = _text(message, "Type")
        if kind not in SIGNED_FIELDS:
            raise WebhookRefused(f"not an SNS message type: {kind!r}")
        if headers.get("x-amz-sns-message-type", kind) != kind:
            raise WebhookRefused("x-amz-sns-message-type disagrees with the body")
        if not self.topic_arn or _text(message, "TopicArn") != self.topic_arn:
            raise WebhookRefused("the message is not from the configured SNS topic")
        algorithm = HASHES.get(_text(message, "SignatureVersion"))
        if algorithm is None:
            raise WebhookRefused("unsupported SignatureVersion")
        key = self._keys.get(signing_cert_url(message, self.topic_arn))
        try:
            key.verify(
                _signature(message), string_to_sign(message), padding.PKCS1v15(), algorithm()
            )
        except InvalidSignature:
            raise WebhookRefused("the SNS signature does not match the message") from None

    def read(self, body: bytes) -> list[ProviderEvent]:
        """The events of a verified notification (none for confirmations or other records)."""
        message = _document(body)
        if message.get("Type") != NOTIFICATION:
            return []
        try:
            record = orjson.loads(_text(message, "Message"))
        except orjson.JSONDecodeError:
            return []
        if not isinstance(record, dict):
            return []
        return events_of(record, _text(message, "MessageId"), _text(message, "Timestamp"))

    def subscription_url(self, body: bytes) -> str | None:
        """The URL that confirms a verified ``SubscriptionConfirmation`` of our topic, else None.

        Only an ``https`` URL on the topic's SNS host is returned, so confirming never makes
        Herald fetch a URL of the sender's choosing.
        """
        message = _document(body)
        if message.get("Type") != SUBSCRIPTION_CONFIRMATION:
            return None
        if message.get("TopicArn") != self.topic_arn:
            return None
        url = _text(message, "SubscribeURL")
        parts = urlsplit(url)
        host = SNS_HOST.fullmatch(parts.hostname or "")
        if (
            parts.scheme != "https"
            or host is None
            or host["region"] != _topic_region(self.topic_arn)
        ):
            return None
        return url


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """SNS's string to sign for ``message``: name and value lines of its signed fields."""
    fields = SIGNED_FIELDS[_text(message, "Type")]
    lines = [
        f"{name}\n{message[name]}\n"
        for name in fields
        if name in message and not (name == "Subject" and message[name] is None)
    ]
    return "".join(lines).encode()


def signing_cert_url(message: Mapping[str, Any], topic_arn: str) -> str:
    """The message's ``SigningCertURL`` if it is an SNS certificate of the topic's region."""
    url = _text(message, "SigningCertURL")
    parts = urlsplit(url)
    host = SNS_HOST.fullmatch(parts.hostname or "")
    if (
        parts.scheme != "https"
        or host is None
        or parts.port not in (None, 443)
        or parts.username is not None
        or parts.query
        or not parts.path.endswith(".pem")
    ):
        raise WebhookRefused("SigningCertURL is not an SNS certificate URL")
    if host["region"] != _topic_region(topic_arn):
        raise WebhookRefused("SigningCertURL is not in the topic's region")
    return url


def events_of(record: Mapping[str, Any], message_id: str, sent_at: str) -> list[ProviderEvent]:
    """The events of one SES event record, one per recipient it names."""
    name = record.get("eventType") or record.get("notificationType")
    kind = SES_EVENTS.get(name) if isinstance(name, str) else None
    if kind is None:
        return []
    mail = _object(record.get("mail"))
    detail = _object(record.get(_DETAIL_KEYS[str(name)]))
    recipients = list(_recipients(str(name), detail, mail))
    received = parse_time(sent_at, default=datetime.now(UTC))
    when = parse_time(
        detail.get("timestamp"), default=parse_time(mail.get("timestamp"), default=received)
    )
    tags = _tags(mail)
    base = _details(str(name), detail, mail, tags)
    return [
        ProviderEvent(
            event_id=message_id if len(recipients) == 1 else f"{message_id}:{index}",
            type=kind,
            delivery_id=delivery_id_from(tags.get("delivery_id")),
            recipient=address(recipient),
            occurred_at=when,
            bounce=_bounce(detail) if kind == EventType.BOUNCED else "",
            details={**base, **extra},
        )
        for index, (recipient, extra) in enumerate(recipients)
    ]


_DETAIL_KEYS = {
    "Delivery": "delivery",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "DeliveryDelay": "deliveryDelay",
    "Reject": "reject",
    "Rendering Failure": "failure",
    "Open": "open",
    "Click": "click",
}
_RECIPIENT_LISTS = {
    "Bounce": "bouncedRecipients",
    "Complaint": "complainedRecipients",
    "DeliveryDelay": "delayedRecipients",
}
_RECIPIENT_DETAILS = ("action", "status", "diagnosticCode")


def _recipients(
    name: str, detail: Mapping[str, Any], mail: Mapping[str, Any]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each recipient the record names, with what it says about that recipient alone."""
    if name in _RECIPIENT_LISTS:
        for item in detail.get(_RECIPIENT_LISTS[name]) or []:
            if isinstance(item, dict) and isinstance(item.get("emailAddress"), str):
                yield item["emailAddress"], {k: item[k] for k in _RECIPIENT_DETAILS if k in item}
        return
    named = detail.get("recipients") if name == "Delivery" else None
    for recipient in named or mail.get("destination") or []:
        if isinstance(recipient, str):
            yield recipient, {}


def _details(
    name: str, detail: Mapping[str, Any], mail: Mapping[str, Any], tags: Mapping[str, str]
) -> dict[str, Any]:
    found: dict[str, Any] = {"ses_event": name, "ses_message_id": mail.get("messageId")}
    for key in ("campaign_id", "herald_key"):
        if key in tags:
            found[key] = tags[key]
    for key in (
        "bounceType",
        "bounceSubType",
        "complaintFeedbackType",
        "complaintSubType",
        "delayType",
        "reason",
        "errorMessage",
        "smtpResponse",
        "link",
        "userAgent",
        "ipAddress",
    ):
        if key in detail:
            found[key] = detail[key]
    return found


def _bounce(detail: Mapping[str, Any]) -> Literal["hard", "soft"]:
    return "hard" if detail.get("bounceType") == "Permanent" else "soft"


def _tags(mail: Mapping[str, Any]) -> dict[str, str]:
    """The message's tags, first value of each (SES lists every tag's values)."""
    tags = mail.get("tags")
    if not isinstance(tags, dict):
        return {}
    found: dict[str, str] = {}
    for name, values in tags.items():
        if isinstance(values, list) and values and isinstance(values[0], str):
            found[name] = values[0]
    return found


def _topic_region(topic_arn: str) -> str:
    # arn:aws:sns:<region>:<account>:<name>
    parts = topic_arn.split(":")
    return parts[3] if len(parts) >= 6 else ""


def _rsa_key(pem: bytes) -> rsa.RSAPublicKey:
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError as error:
        raise CertificateUnavailable(f"not a PEM certificate: {error}") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRefused("the signing certificate does not hold an RSA key")
    return key


def _signature(message: Mapping[str, Any]) -> bytes:
    try:
        return base64.b64decode(_text(message, "Signature"), validate=True)
    except binascii.Error:
        raise WebhookRefused("Signature is not base64") from None


def _document(body: bytes) -> dict[str, Any]:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WebhookRefused("the body is not JSON") from None
    if not isinstance(message, dict):
        raise WebhookRefused("the body is not a JSON object")
    return message


def _text(message: Mapping[str, Any], name: str) -> str:
    value = message.get(name)
    if not isinstance(value, str):
        raise WebhookRefused(f"{name} is missing")
    return value


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
