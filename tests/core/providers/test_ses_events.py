"""The SES event reader: the SES event records an SNS notification carries, read as ours.

Messages shaped like AWS's documented examples, verified with a certificate made here first.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.sns import (
    SES_DELIVERY,
    ses_mail,
    ses_reader,
    sns_body,
    sns_notification,
    sns_verify,
)


def _read(record: dict[str, Any]) -> list[Any]:
    message = sns_notification(record)
    reader = ses_reader()
    sns_verify(message, reader)
    return reader.read(sns_body(message))


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
        "mail": ses_mail("a@example.com", "b@example.com"),
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
        "mail": ses_mail(),
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
                "mail": ses_mail(),
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
                "mail": ses_mail(),
            },
            "deferred",
        ),
        (
            {"eventType": "Reject", "reject": {"reason": "Bad content"}, "mail": ses_mail()},
            "failed",
        ),
        (
            {
                "eventType": "Open",
                "open": {"ipAddress": "192.0.2.1", "timestamp": "2017-08-09T22:00:19.652Z"},
                "mail": ses_mail(),
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
                "mail": ses_mail(),
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
    assert _read({"eventType": "Send", "send": {}, "mail": ses_mail()}) == []
    assert _read({"eventType": "Subscription", "mail": ses_mail()}) == []


def test_a_message_without_our_delivery_tag_has_no_delivery() -> None:
    [event] = _read({**SES_DELIVERY, "mail": ses_mail(delivery_id="not-ours")})
    assert event.delivery_id is None
