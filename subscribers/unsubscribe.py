"""Unsubscribing: signed per-recipient tokens and the idempotent unsubscribe itself.

The token names the subscriber, the lists the email came from, and the campaign (for
stats). It never expires: an unsubscribe link must keep working in an old email.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.activity import ActivityKind, record_activity
from core.database import utcnow
from core.tokens import InvalidToken, make_token, read_token
from subscribers.models import MailingList, Subscriber, Subscription, SubscriptionStatus

_PURPOSE = "unsubscribe"


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    """What a valid unsubscribe token asks for."""

    subscriber_id: int
    list_ids: tuple[int, ...]
    campaign_id: int | None


@dataclass(frozen=True, slots=True)
class UnsubscribeOutcome:
    """The subscriber and the lists they are now off (``changed`` lists were left just now)."""

    email: str
    list_names: list[str]
    changed: int


def unsubscribe_token(
    subscriber_id: int, list_ids: tuple[int, ...], campaign_id: int | None
) -> str:
    """A signed token for the unsubscribe link of one recipient of one email."""
    return make_token(_PURPOSE, [subscriber_id, list(list_ids), campaign_id])


def read_unsubscribe_token(token: str) -> UnsubscribeRequest:
    """The request a token carries, or :class:`InvalidToken` if forged or altered."""
    value = read_token(_PURPOSE, token)
    try:
        subscriber_id, list_ids, campaign_id = value
        return UnsubscribeRequest(
            int(subscriber_id), tuple(int(i) for i in list_ids), _optional_int(campaign_id)
        )
    except (TypeError, ValueError) as error:
        raise InvalidToken("malformed unsubscribe token") from error


def _optional_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def describe_request(session: Session, request: UnsubscribeRequest) -> UnsubscribeOutcome:
    """The address and list names a request concerns, without changing anything."""
    subscriber = session.get(Subscriber, request.subscriber_id)
    if subscriber is None:
        raise InvalidToken("unknown subscriber")
    names = session.scalars(
        select(MailingList.name)
        .where(MailingList.id.in_(request.list_ids))
        .order_by(MailingList.name)
    ).all()
    return UnsubscribeOutcome(email=subscriber.email, list_names=list(names), changed=0)


def unsubscribe(
    session: Session, request: UnsubscribeRequest, *, source: str
) -> UnsubscribeOutcome:
    """Take the subscriber off the request's lists; doing it twice changes nothing more."""
    outcome = describe_request(session, request)
    left = leave_lists(
        session,
        request.subscriber_id,
        request.list_ids,
        source=source,
        campaign_id=request.campaign_id,
    )
    return UnsubscribeOutcome(outcome.email, outcome.list_names, len(left))


def leave_lists(
    session: Session,
    subscriber_id: int,
    list_ids: Iterable[int],
    *,
    source: str,
    campaign_id: int | None = None,
) -> list[int]:
    """End the subscriber's subscriptions to ``list_ids`` at once (each recorded as activity);
    return the lists left just now (those already left are untouched)."""
    left = session.scalars(
        update(Subscription)
        .where(
            Subscription.subscriber_id == subscriber_id,
            Subscription.list_id.in_(list(list_ids)),
            Subscription.status != SubscriptionStatus.UNSUBSCRIBED,
        )
        .values(
            status=SubscriptionStatus.UNSUBSCRIBED,
            unsubscribed_at=utcnow(),
            unsubscribed_via=source,
        )
        .returning(Subscription.list_id)
        .execution_options(synchronize_session=False)
    ).all()
    for list_id in sorted(left):
        record_activity(
            session,
            ActivityKind.SUBSCRIBER_UNSUBSCRIBED,
            list_id=list_id,
            subscriber_id=subscriber_id,
            campaign_id=campaign_id,
            data={"via": source},
        )
    return sorted(left)
