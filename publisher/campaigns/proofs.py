"""Test sends (proofs): a campaign's email to given addresses, through the transactional path.

A test message is the preview of the campaign for that address (a subscriber's own version
if the address is one), its subject prefixed "[Test]". It is not a delivery: it creates no
Delivery row and counts in no statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import uuid4

from sqlalchemy.orm import Session

from core import mail_headers
from core.audit import record_audit
from core.celery_app import enqueue_after_commit
from core.message import Mailbox, OutgoingMessage
from core.settings import Settings
from core.tasks import TaskName
from publisher.campaigns.launch import require_provider
from publisher.campaigns.models import Campaign
from publisher.campaigns.preview import find_subscriber, preview_campaign
from publisher.campaigns.service import CampaignError
from subscribers.addresses import InvalidAddress, normalise_address

MAX_TEST_ADDRESSES = 10


def parse_addresses(text: str | Sequence[str]) -> list[str]:
    """Normalised addresses from "a@x, b@y" (or a list of such), at most ten, or CampaignError."""
    given = [text] if isinstance(text, str) else list(text)
    parts = [part for item in given for part in item.replace(";", ",").split(",")]
    addresses = []
    for part in (part.strip() for part in parts):
        if not part:
            continue
        try:
            addresses.append(normalise_address(part))
        except InvalidAddress as error:
            raise CampaignError(f"{part!r} is not an email address: {error}") from error
    if not addresses:
        raise CampaignError("give at least one address to send the test to")
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise CampaignError(f"at most {MAX_TEST_ADDRESSES} addresses per test send")
    return list(dict.fromkeys(addresses))


def request_test_send(
    session: Session, campaign: Campaign, addresses: Sequence[str], *, actor: str
) -> list[str]:
    """Queue a test send of the campaign to ``addresses`` (after the commit); refused, with
    the reason, when the provider cannot be built (the task would only fail in the worker)."""
    chosen = parse_addresses(addresses)
    require_provider()
    record_audit(
        session,
        actor=actor,
        action="campaign.test_send",
        object_type="campaign",
        object_id=campaign.id,
        details={"to": chosen},
    )
    enqueue_after_commit(session, TaskName.TEST_SEND, campaign.id, chosen)
    return chosen


def proof_messages(
    session: Session, campaign: Campaign, addresses: Sequence[str], settings: Settings
) -> list[OutgoingMessage]:
    """One "[Test]" message per address, rendered as that address would see the campaign."""
    sender = mail_headers.sender(settings)
    messages = []
    for address in addresses:
        try:
            find_subscriber(session, address)
            preview = preview_campaign(session, campaign, email=address, settings=settings)
        except CampaignError:
            preview = preview_campaign(session, campaign, settings=settings)
        key = f"test-{campaign.id}-{uuid4().hex}"
        messages.append(
            OutgoingMessage(
                key=key,
                sender=sender,
                to=Mailbox(address),
                subject=f"[Test] {preview.subject}",
                html=preview.html,
                text=preview.text,
                message_id=mail_headers.message_id((key,), settings),
                # No List-Unsubscribe: a test goes to an editor, not to a subscriber.
                headers={
                    "Feedback-ID": mail_headers.feedback_id(
                        str(campaign.id), "test", "test", settings
                    ),
                    "Content-Language": preview.language,
                },
                metadata={"campaign_id": str(campaign.id), "test": "1"},
                transactional=True,
                reply_to=mail_headers.reply_to(settings),
            )
        )
    return messages
