"""The SES event reader: SNS signatures and the SES event records they carry.

Checked with a certificate made here, on messages shaped like AWS's documented examples (SNS
notifications carrying SES event records).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from core.providers.events import WebhookRefused
from core.providers.ses_webhooks import CertificateUnavailable, SesWebhooks, string_to_sign

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
        {
            "emailAddress": "a@example.com",
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 user unknown",
        },
        {"emailAddress": "b@example.com", "action": "failed", "status": "5.1.1"},
    ]
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
