"""The SES provider, its SNS event reader and the sandbox's SES endpoint.

The provider runs against an injected ``httpx.MockTransport`` answering as SES's API v2
reference documents (``{"MessageId"}``, REST-JSON errors named by ``x-amzn-ErrorType``), then
against the sandbox over HTTP. The SNS reader is checked with a certificate made here, on
messages shaped like AWS's documented examples (SNS notifications carrying SES event records).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from core.message import Mailbox, OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.events import WebhookRefused
from core.providers.ses import SesProvider, default_base_url
from core.providers.ses_webhooks import CertificateUnavailable, SesWebhooks, string_to_sign
from core.providers.sigv4 import check
from sandbox import FaultSettings, SandboxConfig, create_sandbox_app, serve_in_thread
from sandbox.ses import SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY, ses_routes

API = "https://email.eu-west-1.amazonaws.com"
KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# The keys of SendEmail's documented request syntax that Herald may send.
DOCUMENTED_REQUEST_KEYS = {"ConfigurationSetName", "Content", "Destination", "EmailTags"}

Handler = Callable[[httpx.Request], httpx.Response]


def _message(
    key: str, *, campaign_id: str = "1", html: str = "<p>Вітаємо — 日本語</p>"
) -> OutgoingMessage:
    return OutgoingMessage(
        key=key,
        sender=Mailbox("news@herald.test", "Центр Herald"),
        to=Mailbox(f"reader{key}@example.org", "山田 太郎"),
        subject="Форум: 東京 — підсумки",
        html=html,
        text="Вітаємо — 日本語",
        message_id=f"<{key}@herald.test>",
        headers={
            "List-Unsubscribe": f"<https://x/u/{key}>, <mailto:u@x?subject=unsubscribe>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        metadata={"campaign_id": campaign_id, "delivery_id": key},
    )


def _provider(handler: Handler, **options: Any) -> SesProvider:
    return SesProvider(
        "eu-west-1", KEY_ID, SECRET, timeout=5, transport=httpx.MockTransport(handler), **options
    )


def _accept(request: httpx.Request) -> httpx.Response:
    key = json.loads(request.content)["EmailTags"][-1]["Value"]
    return httpx.Response(200, json={"MessageId": f"ses-{key}"})


def _error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"message": message}, headers={"x-amzn-ErrorType": code, **headers}
    )


def _mime(request: httpx.Request) -> Any:
    data = base64.b64decode(json.loads(request.content)["Content"]["Raw"]["Data"])
    return data, BytesParser(policy=policy.default).parsebytes(data)


# --- the request we build --------------------------------------------------------------


def test_send_email_request_follows_the_documented_shape() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    _provider(handler, configuration_set="herald-events").send_batch([_message("7")])

    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == f"{API}/v2/email/outbound-emails"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert set(body) == DOCUMENTED_REQUEST_KEYS
    assert set(body["Content"]) == {"Raw"}
    assert body["Destination"] == {"ToAddresses": ["reader7@example.org"]}
    assert body["ConfigurationSetName"] == "herald-events"
    assert body["EmailTags"] == [
        {"Name": "campaign_id", "Value": "1"},
        {"Name": "delivery_id", "Value": "7"},
        {"Name": "herald_key", "Value": "7"},
    ]


def test_each_request_is_signed_for_ses_in_its_region() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    _provider(handler).send_batch([_message("1")])

    [request] = seen
    assert (
        request.headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY_ID}/")
        and "/eu-west-1/ses/aws4_request, SignedHeaders=content-type;host;x-amz-date,"
        in (request.headers["Authorization"])
    )
    path, _, query = request.url.raw_path.decode().partition("?")
    signer = check(
        method="POST",
        path=path,
        query=query,
        headers=request.headers.multi_items(),
        payload=request.content,
        secrets={KEY_ID: SECRET},
        service="ses",
        now=datetime.now(UTC),
    )
    assert signer == KEY_ID


def test_raw_content_is_our_mime_in_seven_bits_with_per_recipient_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    long_html = "<p>Вітаємо — 日本語</p>" + "<span>x</span>" * 400
    _provider(handler).send_batch([_message("1", html=long_html), _message("2")])

    for key, request in zip(("1", "2"), seen, strict=True):
        raw, mime = _mime(request)
        assert raw.isascii()
        assert f"\r\nList-Unsubscribe: <https://x/u/{key}>,".encode() in raw
        assert max(len(line) for line in raw.split(b"\r\n")) <= 1000
        assert mime["To"] == "山田 太郎 <reader" + key + "@example.org>"
        assert mime["Subject"] == "Форум: 東京 — підсумки"
        assert mime["Message-ID"] == f"<{key}@herald.test>"
        assert mime["List-Unsubscribe"] == f"<https://x/u/{key}>, <mailto:u@x?subject=unsubscribe>"
        assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text, html = (part.get_content() for part in mime.iter_parts())
        assert text.strip() == "Вітаємо — 日本語"
        assert html.strip() == (long_html if key == "1" else "<p>Вітаємо — 日本語</p>")


def test_tags_outside_ses_characters_are_left_out() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    _provider(handler).send_batch([_message("1", campaign_id="весна 2026")])

    tags = json.loads(seen[0].content)["EmailTags"]
    assert [tag["Name"] for tag in tags] == ["delivery_id", "herald_key"]


def test_no_configuration_set_means_none_is_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _accept(request)

    _provider(handler).send_batch([_message("1")])
    assert "ConfigurationSetName" not in json.loads(seen[0].content)


def test_default_endpoint_is_the_regions_api() -> None:
    assert default_base_url("ap-northeast-1") == "https://email.ap-northeast-1.amazonaws.com"


# --- the answers -----------------------------------------------------------------------


def test_one_call_per_message_with_the_ids_in_order() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content)["Destination"]["ToAddresses"][0])
        return _accept(request)

    results = _provider(handler).send_batch([_message(str(i)) for i in range(3)])

    assert calls == [f"reader{i}@example.org" for i in range(3)]
    assert [(r.key, r.accepted, r.provider_message_id) for r in results] == [
        (str(i), True, f"ses-{i}") for i in range(3)
    ]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("MessageRejected", "Email address is not verified."),
        ("BadRequestException", "Missing final '@domain'"),
    ],
)
def test_a_refused_message_does_not_stop_the_batch(code: str, message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "reader0@" in request.content.decode():
            return _error(400, f"{code}:http://internal.amazon.com/coral/", message)
        return _accept(request)

    results = _provider(handler).send_batch([_message("0"), _message("1")])

    assert not results[0].accepted and code in (results[0].error or "")
    assert message in (results[0].error or "")
    assert results[1].accepted


@pytest.mark.parametrize(
    "answer",
    [
        _error(429, "TooManyRequestsException", "Too many requests.", **{"Retry-After": "3"}),
        httpx.Response(
            400,
            json={
                "__type": "com.amazon.coral#ThrottlingException",
                "message": "Maximum sending rate exceeded.",
            },
            headers={"Retry-After": "3"},
        ),
    ],
)
def test_throttling_on_the_first_call_raises_a_throttled_retryable_error(
    answer: httpx.Response,
) -> None:
    with pytest.raises(ProviderError) as failed:
        _provider(lambda request: answer).send_batch([_message("1"), _message("2")])
    assert failed.value.retryable and failed.value.throttled
    assert failed.value.retry_after == 3


def test_a_server_error_on_the_first_call_is_retryable() -> None:
    with pytest.raises(ProviderError) as failed:
        _provider(lambda r: _error(500, "InternalServiceErrorException", "oops")).send_batch(
            [_message("1")]
        )
    assert failed.value.retryable and not failed.value.throttled


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "AccountSuspendedException"),
        (400, "SendingPausedException"),
        (400, "MailFromDomainNotVerifiedException"),
        (403, "InvalidSignatureException"),
        (404, "NotFoundException"),
    ],
)
def test_account_errors_on_the_first_call_are_not_retryable(status: int, code: str) -> None:
    with pytest.raises(ProviderError) as failed:
        _provider(lambda r: _error(status, code, "no")).send_batch([_message("1")])
    assert not failed.value.retryable and code in str(failed.value)


def test_a_later_account_error_stops_the_batch_and_reports_the_rest() -> None:
    calls: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.content)
        if len(calls) == 2:
            return _error(400, "SendingPausedException", "Sending is paused.")
        return _accept(request)

    results = _provider(handler).send_batch([_message(str(i)) for i in range(4)])

    assert len(calls) == 2
    assert results[0].accepted
    assert [r.accepted for r in results] == [True, False, False, False]
    assert "not retryable" in (results[1].error or "")
    assert not results[1].retry and not results[1].unknown
    assert all(r.retry for r in results[2:])  # never attempted: may go out later


def test_no_answer_on_the_first_call_is_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    with pytest.raises(OutcomeUnknown):
        _provider(handler).send_batch([_message("1")])


def test_unreachable_ses_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderError) as failed:
        _provider(handler).send_batch([_message("1")])
    assert failed.value.retryable


def test_no_answer_later_marks_that_message_unknown_and_the_rest_unsent() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 2:
            raise httpx.ReadTimeout("no answer", request=request)
        return _accept(request)

    results = _provider(handler).send_batch([_message(str(i)) for i in range(3)])

    assert len(calls) == 2
    assert results[0].accepted
    assert results[1].unknown and "outcome unknown" in (results[1].error or "")
    assert results[2].retry and not results[2].unknown


# --- SNS: the string to sign, as documented --------------------------------------------


def test_string_to_sign_of_the_documented_notification() -> None:
    message = {
        "Type": "Notification",
        "MessageId": "4d4dc071-ddbf-465d-bba8-08f81c89da64",
        "TopicArn": "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
        "Subject": "My subject",
        "Message": "My Test Message",
        "Timestamp": "2012-06-05T04:37:04.321Z",
        "SignatureVersion": "1",
        "Signature": "ignored",
        "SigningCertURL": "ignored",
        "UnsubscribeURL": "ignored",
    }
    assert string_to_sign(message) == (
        b"Message\nMy Test Message\n"
        b"MessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n"
        b"Subject\nMy subject\n"
        b"Timestamp\n2012-06-05T04:37:04.321Z\n"
        b"TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n"
        b"Type\nNotification\n"
    )


def test_string_to_sign_of_a_subscription_confirmation() -> None:
    message = _confirmation()
    assert (
        string_to_sign(message)
        == (
            f"Message\n{message['Message']}\nMessageId\n{message['MessageId']}\n"
            f"SubscribeURL\n{message['SubscribeURL']}\nTimestamp\n{message['Timestamp']}\n"
            f"Token\n{message['Token']}\nTopicArn\n{TOPIC}\nType\nSubscriptionConfirmation\n"
        ).encode()
    )


# --- SNS: verification with a certificate made here ------------------------------------

TOPIC = "arn:aws:sns:us-west-2:123456789012:MyTopic"
CERT_URL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"


def _key_and_certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


SIGNING_KEY, CERTIFICATE = _key_and_certificate()
OTHER_KEY, _ = _key_and_certificate()


def _signed(message: dict[str, Any], *, key: rsa.RSAPrivateKey = SIGNING_KEY) -> dict[str, Any]:
    algorithm = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()
    signature = key.sign(string_to_sign(message), padding.PKCS1v15(), algorithm)
    return {**message, "Signature": base64.b64encode(signature).decode()}


def _notification(record: dict[str, Any], *, version: str = "1", **fields: Any) -> dict[str, Any]:
    """An SNS notification shaped like the documented example, carrying an SES record."""
    message = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(record),
        "Timestamp": "2016-10-19T23:21:04.200Z",
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
        f"{TOPIC}:c9135db0-26c4-47ec-8998-413945fb5a96",
        **fields,
    }
    return _signed(message)


def _confirmation(**fields: Any) -> dict[str, Any]:
    token = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3"
    message = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": token,
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"
        f"&TopicArn={TOPIC}&Token={token}",
        "Timestamp": "2012-04-26T20:45:04.751Z",
        "SignatureVersion": "1",
        "SigningCertURL": CERT_URL,
        **fields,
    }
    return _signed(message)


def _mail(*destination: str, delivery_id: str = "42") -> dict[str, Any]:
    """The documented ``mail`` object, with Herald's tags."""
    return {
        "timestamp": "2016-10-19T23:20:52.240Z",
        "source": "news@herald.test",
        "sendingAccountId": "123456789012",
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination": list(destination or ["recipient@example.com"]),
        "headersTruncated": False,
        "tags": {
            "ses:configuration-set": ["herald-events"],
            "campaign_id": ["3"],
            "delivery_id": [delivery_id],
            "herald_key": [delivery_id],
        },
    }


DELIVERY = {
    "eventType": "Delivery",
    "mail": _mail(),
    "delivery": {
        "timestamp": "2016-10-19T23:21:04.133Z",
        "processingTimeMillis": 11893,
        "recipients": ["recipient@example.com"],
        "smtpResponse": "250 2.6.0 Message received",
        "reportingMTA": "mta.example.com",
    },
}


def _reader(fetched: list[str] | None = None) -> SesWebhooks:
    def fetch(url: str) -> bytes:
        if fetched is not None:
            fetched.append(url)
        return CERTIFICATE

    return SesWebhooks(TOPIC, fetch_certificate=fetch)


def _body(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def _headers(message: dict[str, Any]) -> dict[str, str]:
    return {"x-amz-sns-message-type": message["Type"], "x-amz-sns-topic-arn": message["TopicArn"]}


def _verify(message: dict[str, Any], reader: SesWebhooks | None = None) -> None:
    (reader or _reader()).verify(_headers(message), _body(message))


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_notification_is_verified_and_read(version: str) -> None:
    message = _notification(DELIVERY, version=version)
    reader = _reader()
    reader.verify(_headers(message), _body(message))

    [event] = reader.read(_body(message))
    assert event.event_id == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    assert event.type == "delivered"
    assert event.delivery_id == 42
    assert event.recipient == "recipient@example.com"
    assert event.occurred_at == datetime(2016, 10, 19, 23, 21, 4, 133000, tzinfo=UTC)
    assert event.details["campaign_id"] == "3" and event.details["herald_key"] == "42"
    assert event.details["ses_message_id"].startswith("EXAMPLE7c191be45")


def test_the_certificate_is_fetched_once() -> None:
    fetched: list[str] = []
    reader = _reader(fetched)
    for _ in range(3):
        _verify(_notification(DELIVERY), reader)
    assert fetched == [CERT_URL]


def test_a_tampered_message_is_refused() -> None:
    message = _notification(DELIVERY)
    message["Message"] = message["Message"].replace('"42"', '"43"')
    with pytest.raises(WebhookRefused):
        _verify(message)


def test_a_signature_by_another_key_is_refused() -> None:
    message = _signed({**_notification(DELIVERY)}, key=OTHER_KEY)
    with pytest.raises(WebhookRefused):
        _verify(message)


def test_another_topic_is_refused_before_any_certificate_is_fetched() -> None:
    fetched: list[str] = []
    message = _notification(DELIVERY, TopicArn="arn:aws:sns:us-west-2:123456789012:Other")
    with pytest.raises(WebhookRefused):
        _verify(message, _reader(fetched))
    assert fetched == []


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL.replace("https://", "http://"),
        "https://sns.us-west-2.amazonaws.com.evil.test/cert.pem",
        "https://evil-bucket.s3.amazonaws.com/sns.us-west-2.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-x.txt",
        "https://user@sns.us-west-2.amazonaws.com/SimpleNotificationService-x.pem",
    ],
)
def test_a_certificate_url_off_the_topics_sns_host_is_refused(url: str) -> None:
    fetched: list[str] = []
    with pytest.raises(WebhookRefused):
        _verify(_notification(DELIVERY, SigningCertURL=url), _reader(fetched))
    assert fetched == []


@pytest.mark.parametrize(
    "change",
    [
        {"SignatureVersion": "3"},
        {"Signature": "not base64 !"},
        {"Type": "Surprise"},
    ],
)
def test_malformed_messages_are_refused(change: dict[str, str]) -> None:
    with pytest.raises(WebhookRefused):
        _verify({**_notification(DELIVERY), **change})


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(WebhookRefused):
        _reader().verify({}, b"not json")


def test_a_header_disagreeing_with_the_body_is_refused() -> None:
    message = _notification(DELIVERY)
    with pytest.raises(WebhookRefused):
        _reader().verify({"x-amz-sns-message-type": "SubscriptionConfirmation"}, _body(message))


def test_an_unreachable_certificate_is_not_a_forgery() -> None:
    def fetch(url: str) -> bytes:
        raise CertificateUnavailable("down")

    with pytest.raises(CertificateUnavailable):
        _verify(_notification(DELIVERY), SesWebhooks(TOPIC, fetch_certificate=fetch))


def test_a_certificate_that_is_not_pem_is_unavailable() -> None:
    reader = SesWebhooks(TOPIC, fetch_certificate=lambda url: b"<html>maintenance</html>")
    with pytest.raises(CertificateUnavailable):
        _verify(_notification(DELIVERY), reader)


def test_a_subscription_confirmation_is_verified_and_gives_its_url() -> None:
    message = _confirmation()
    reader = _reader()
    _verify(message, reader)
    assert reader.read(_body(message)) == []
    assert reader.subscription_url(_body(message)) == message["SubscribeURL"]
    assert reader.subscription_url(_body(_notification(DELIVERY))) is None


def test_a_subscription_url_off_the_sns_host_is_not_given() -> None:
    message = _confirmation(SubscribeURL="https://attacker.test/?Action=ConfirmSubscription")
    reader = _reader()
    _verify(message, reader)
    assert reader.subscription_url(_body(message)) is None


# --- SNS: reading SES event records ----------------------------------------------------


def _read(record: dict[str, Any]) -> list[Any]:
    message = _notification(record)
    reader = _reader()
    _verify(message, reader)
    return reader.read(_body(message))


def test_a_permanent_bounce_naming_two_recipients_is_two_hard_bounces() -> None:
    bounced = [
        {"emailAddress": "a@example.com", "action": "failed", "status": "5.1.1",
         "diagnosticCode": "smtp; 550 5.1.1 user unknown"},
        {"emailAddress": "b@example.com", "action": "failed", "status": "5.1.1"},
    ]  # fmt: skip
    record = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": bounced,
            "timestamp": "2017-08-05T00:41:02.669Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; mta.example.com",
        },
        "mail": _mail("a@example.com", "b@example.com"),
    }
    events = _read(record)
    assert [(e.event_id[-2:], e.type, e.bounce, e.recipient) for e in events] == [
        (":0", "bounced", "hard", "a@example.com"),
        (":1", "bounced", "hard", "b@example.com"),
    ]
    assert events[0].details["diagnosticCode"] == "smtp; 550 5.1.1 user unknown"
    assert events[0].details["bounceSubType"] == "General"


def test_a_transient_bounce_is_soft() -> None:
    record = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Transient",
            "bounceSubType": "MailboxFull",
            "bouncedRecipients": [{"emailAddress": "recipient@example.com"}],
            "timestamp": "2017-08-05T00:41:02.669Z",
        },
        "mail": _mail(),
    }
    [event] = _read(record)
    assert (event.type, event.bounce) == ("bounced", "soft")


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        (
            {
                "eventType": "Complaint",
                "complaint": {
                    "complainedRecipients": [{"emailAddress": "recipient@example.com"}],
                    "timestamp": "2017-08-05T00:41:02.669Z",
                    "complaintFeedbackType": "abuse",
                },
                "mail": _mail(),
            },
            "complained",
        ),
        (
            {
                "eventType": "DeliveryDelay",
                "deliveryDelay": {
                    "timestamp": "2020-06-16T00:25:40.095Z",
                    "delayType": "TransientCommunicationFailure",
                    "delayedRecipients": [
                        {"emailAddress": "recipient@example.com", "status": "4.4.1"}
                    ],
                },
                "mail": _mail(),
            },
            "deferred",
        ),
        ({"eventType": "Reject", "reject": {"reason": "Bad content"}, "mail": _mail()}, "failed"),
        (
            {
                "eventType": "Open",
                "open": {"ipAddress": "192.0.2.1", "timestamp": "2017-08-09T22:00:19.652Z"},
                "mail": _mail(),
            },
            "opened",
        ),
        (
            {
                "eventType": "Click",
                "click": {
                    "ipAddress": "192.0.2.1",
                    "link": "https://herald.test/posts/1",
                    "timestamp": "2017-08-09T23:51:25.570Z",
                },
                "mail": _mail(),
            },
            "clicked",
        ),
    ],
)
def test_each_ses_event_kind_reads_as_ours(record: dict[str, Any], kind: str) -> None:
    [event] = _read(record)
    assert event.type == kind
    assert event.recipient == "recipient@example.com" and event.delivery_id == 42


def test_send_records_and_unknown_kinds_read_as_nothing() -> None:
    assert _read({"eventType": "Send", "send": {}, "mail": _mail()}) == []
    assert _read({"eventType": "Subscription", "mail": _mail()}) == []


def test_a_message_without_our_delivery_tag_has_no_delivery() -> None:
    [event] = _read({**DELIVERY, "mail": _mail(delivery_id="not-ours")})
    assert event.delivery_id is None


# --- against the sandbox over HTTP -----------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    app = create_sandbox_app(SandboxConfig(faults=FaultSettings()))
    app.include_router(ses_routes(app.state.sandbox))
    base_url, stop = serve_in_thread(app)
    yield base_url
    stop()


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[SesProvider]:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    _faults(sandbox_url, throttle_rate=0.0, error_rate=0.0, slow_rate=0.0)
    provider = SesProvider(
        "eu-west-1",
        SANDBOX_ACCESS_KEY_ID,
        SANDBOX_SECRET_ACCESS_KEY,
        timeout=5,
        configuration_set="herald-events",
        base_url=sandbox_url,
    )
    yield provider
    provider.close()


def _faults(sandbox_url: str, **settings: Any) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/faults", json=settings).raise_for_status()


def test_sandbox_records_each_message_with_our_keys(sandbox: SesProvider, sandbox_url: str) -> None:
    results = sandbox.send_batch([_message(str(i), campaign_id="3") for i in range(3)])

    assert all(r.accepted for r in results)
    ids = [r.provider_message_id for r in results]
    recorded = httpx.get(f"{sandbox_url}/_sandbox/messages").json()
    assert [m["id"] for m in recorded] == ids
    assert [m["tags"]["herald_key"] for m in recorded] == ["0", "1", "2"]
    assert recorded[0]["to"] == ["reader0@example.org"]
    assert recorded[0]["subject"] == "Форум: 東京 — підсумки"
    assert recorded[0]["configuration_set"] == "herald-events"
    assert "List-Unsubscribe: <https://x/u/0>" in recorded[0]["raw"]
    recipients = httpx.get(f"{sandbox_url}/_sandbox/recipients", params={"campaign_id": "3"})
    assert recipients.json() == {f"reader{i}@example.org": 1 for i in range(3)}


def test_sandbox_refuses_a_wrong_secret(sandbox_url: str) -> None:
    provider = SesProvider(
        "eu-west-1", SANDBOX_ACCESS_KEY_ID, "wrong", timeout=5, base_url=sandbox_url
    )
    with closing(provider), pytest.raises(ProviderError) as failed:
        provider.send_batch([_message("1")])
    assert "InvalidSignatureException" in str(failed.value) and not failed.value.retryable


def test_sandbox_refuses_an_unknown_key(sandbox_url: str) -> None:
    provider = SesProvider("eu-west-1", "AKIDOTHER", "x", timeout=5, base_url=sandbox_url)
    with closing(provider), pytest.raises(ProviderError) as failed:
        provider.send_batch([_message("1")])
    assert "UnrecognizedClientException" in str(failed.value)


def test_sandbox_throttling_reaches_the_provider_as_throttled(
    sandbox: SesProvider, sandbox_url: str
) -> None:
    _faults(sandbox_url, throttle_rate=1.0, retry_after=2)
    with pytest.raises(ProviderError) as failed:
        sandbox.send_batch([_message("1")])
    assert failed.value.throttled and failed.value.retry_after == 2


def test_sandbox_errors_reach_the_provider_as_retryable(
    sandbox: SesProvider, sandbox_url: str
) -> None:
    _faults(sandbox_url, error_rate=1.0)
    with pytest.raises(ProviderError) as failed:
        sandbox.send_batch([_message("1")])
    assert failed.value.retryable and "InternalServiceErrorException" in str(failed.value)


def test_sandbox_takes_the_recipient_from_the_mime_without_a_destination(
    sandbox: SesProvider, sandbox_url: str
) -> None:
    body = sandbox.request_json(_message("9"))
    del body["Destination"]
    answer = sandbox._client.post("/v2/email/outbound-emails", content=json.dumps(body))
    assert answer.status_code == 200 and answer.json()["MessageId"]
    [recorded] = httpx.get(f"{sandbox_url}/_sandbox/messages").json()
    assert recorded["to"] == ["reader9@example.org"]


def test_sandbox_refuses_a_line_over_a_thousand_characters(
    sandbox: SesProvider, sandbox_url: str
) -> None:
    raw = b"To: a@example.org\r\nSubject: x\r\n\r\n" + b"x" * 1200 + b"\r\n"
    body = {"Content": {"Raw": {"Data": base64.b64encode(raw).decode()}}}
    answer = sandbox._client.post("/v2/email/outbound-emails", content=json.dumps(body))
    assert answer.status_code == 400
    assert answer.headers["x-amzn-ErrorType"] == "MessageRejected"
