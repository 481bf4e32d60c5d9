"""The SES event reader: SNS signatures and the SES event records they carry.

Checked with a certificate made here, on messages shaped like AWS's documented examples (SNS
notifications carrying SES event records).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.providers.events import WebhookRefused
from core.providers.ses_webhooks import CertificateUnavailable, SesWebhooks, string_to_sign
from tests.fixtures.sns import (
    CERT_URL,
    OTHER_KEY,
    SES_DELIVERY,
    TOPIC,
    ses_reader,
    sns_body,
    sns_confirmation,
    sns_headers,
    sns_notification,
    sns_signed,
    sns_verify,
)

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
    message = sns_confirmation()
    assert (
        string_to_sign(message)
        == (
            f"Message\n{message['Message']}\nMessageId\n{message['MessageId']}\n"
            f"SubscribeURL\n{message['SubscribeURL']}\nTimestamp\n{message['Timestamp']}\n"
            f"Token\n{message['Token']}\nTopicArn\n{TOPIC}\nType\nSubscriptionConfirmation\n"
        ).encode()
    )


# --- SNS: verification with a certificate made here ------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_notification_is_verified_and_read(version: str) -> None:
    message = sns_notification(SES_DELIVERY, version=version)
    reader = ses_reader()
    reader.verify(sns_headers(message), sns_body(message))

    [event] = reader.read(sns_body(message))
    assert event.event_id == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    assert event.type == "delivered"
    assert event.delivery_id == 42
    assert event.recipient == "recipient@example.com"
    assert event.occurred_at == datetime(2016, 10, 19, 23, 21, 4, 133000, tzinfo=UTC)
    assert event.details["campaign_id"] == "3" and event.details["herald_key"] == "42"
    assert event.details["ses_message_id"].startswith("EXAMPLE7c191be45")


def test_the_certificate_is_fetched_once() -> None:
    fetched: list[str] = []
    reader = ses_reader(fetched)
    for _ in range(3):
        sns_verify(sns_notification(SES_DELIVERY), reader)
    assert fetched == [CERT_URL]


def test_a_tampered_message_is_refused() -> None:
    message = sns_notification(SES_DELIVERY)
    message["Message"] = message["Message"].replace('"42"', '"43"')
    with pytest.raises(WebhookRefused):
        sns_verify(message)


def test_a_signature_by_another_key_is_refused() -> None:
    message = sns_signed({**sns_notification(SES_DELIVERY)}, key=OTHER_KEY)
    with pytest.raises(WebhookRefused):
        sns_verify(message)


def test_another_topic_is_refused_before_any_certificate_is_fetched() -> None:
    fetched: list[str] = []
    message = sns_notification(SES_DELIVERY, TopicArn="arn:aws:sns:us-west-2:123456789012:Other")
    with pytest.raises(WebhookRefused):
        sns_verify(message, ses_reader(fetched))
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
        sns_verify(sns_notification(SES_DELIVERY, SigningCertURL=url), ses_reader(fetched))
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
        sns_verify({**sns_notification(SES_DELIVERY), **change})


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(WebhookRefused):
        ses_reader().verify({}, b"not json")


def test_a_header_disagreeing_with_the_body_is_refused() -> None:
    message = sns_notification(SES_DELIVERY)
    with pytest.raises(WebhookRefused):
        ses_reader().verify(
            {"x-amz-sns-message-type": "SubscriptionConfirmation"}, sns_body(message)
        )


def test_an_unreachable_certificate_is_not_a_forgery() -> None:
    def fetch(url: str) -> bytes:
        raise CertificateUnavailable("down")

    with pytest.raises(CertificateUnavailable):
        sns_verify(sns_notification(SES_DELIVERY), SesWebhooks(TOPIC, fetch_certificate=fetch))


def test_a_certificate_that_is_not_pem_is_unavailable() -> None:
    reader = SesWebhooks(TOPIC, fetch_certificate=lambda url: b"<html>maintenance</html>")
    with pytest.raises(CertificateUnavailable):
        sns_verify(sns_notification(SES_DELIVERY), reader)


def test_a_subscription_confirmation_is_verified_and_gives_its_url() -> None:
    message = sns_confirmation()
    reader = ses_reader()
    sns_verify(message, reader)
    assert reader.read(sns_body(message)) == []
    assert reader.subscription_url(sns_body(message)) == message["SubscribeURL"]
    assert reader.subscription_url(sns_body(sns_notification(SES_DELIVERY))) is None


def test_a_subscription_url_off_the_sns_host_is_not_given() -> None:
    message = sns_confirmation(SubscribeURL="https://attacker.test/?Action=ConfirmSubscription")
    reader = ses_reader()
    sns_verify(message, reader)
    assert reader.subscription_url(sns_body(message)) is None
