"""Segments: lists filtered by attributes, language and engagement, with a live count.

A segment's rules are JSON, validated when saved::

    {"match": "all" | "any", "rules": [
        {"field": "language", "op": "in", "value": ["uk"]},
        {"field": "attributes.city", "op": "eq", "value": "Kyiv"},
        {"engagement": "opened", "days": 30},
        {"engagement": "not_opened", "campaign_id": 7}]}

They compile to SQL conditions over Subscriber (joined to Subscription), the same shape as the
campaign planner's eligibility, so planning a campaign with a segment only adds conditions.
Engagement reads the deliveries' ``opened_at`` / ``clicked_at``, hence this lives in publisher.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    and_,
    exists,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow
from publisher.campaigns.models import Campaign, CampaignList, CampaignStatus
from publisher.sending.models import Delivery
from subscribers.lists import list_names
from subscribers.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
)

PLAIN_FIELDS = {
    "language": Subscriber.language,
    "timezone": Subscriber.timezone,
    "email": Subscriber.email,
    "name": Subscriber.name,
}
OPS = ("eq", "ne", "in", "not_in", "contains", "exists", "not_exists")
ENGAGEMENTS = ("opened", "clicked", "not_opened", "not_clicked")
MAX_DAYS = 3650


class SegmentError(ValueError):
    """Rules that cannot be used, or an unknown segment; the message says why."""


class Segment(Base):
    """A named selection of list members, by rules over their profile and engagement."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    list_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def validate_rules(rules: Any) -> dict[str, Any]:
    """The rules in their canonical form, or SegmentError naming the first problem."""
    if not isinstance(rules, dict):
        raise SegmentError('rules must be a JSON object like {"match": "all", "rules": [...]}')
    unknown = set(rules) - {"match", "rules"}
    if unknown:
        raise SegmentError(f"unknown key(s) in rules: {', '.join(sorted(unknown))}")
    match = rules.get("match", "all")
    if match not in ("all", "any"):
        raise SegmentError('"match" must be "all" or "any"')
    items = rules.get("rules", [])
    if not isinstance(items, list):
        raise SegmentError('"rules" must be a list')
    checked = [_validate_rule(number, rule) for number, rule in enumerate(items, start=1)]
    return {"match": match, "rules": checked}


def _validate_rule(number: int, rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise SegmentError(f"rule {number}: must be an object")
    if "engagement" in rule:
        return _validate_engagement(number, rule)
    if "field" in rule:
        return _validate_field_rule(number, rule)
    raise SegmentError(f'rule {number}: needs "field" or "engagement"')


def _validate_field_rule(number: int, rule: dict[str, Any]) -> dict[str, Any]:
    field, op = rule.get("field"), rule.get("op", "eq")
    unknown = set(rule) - {"field", "op", "value"}
    if unknown:
        raise SegmentError(f"rule {number}: unknown key(s) {', '.join(sorted(unknown))}")
    if not isinstance(field, str) or not (field in PLAIN_FIELDS or _attribute_name(field)):
        known = ", ".join([*PLAIN_FIELDS, "attributes.<name>"])
        raise SegmentError(f"rule {number}: unknown field {field!r} (known: {known})")
    if op not in OPS:
        raise SegmentError(f"rule {number}: unknown op {op!r} (known: {', '.join(OPS)})")
    value = rule.get("value")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(_scalar(v) for v in value):
            raise SegmentError(f'rule {number}: "{op}" needs a non-empty list of values')
        return {"field": field, "op": op, "value": [str(v) for v in value]}
    if op in ("exists", "not_exists"):
        return {"field": field, "op": op}
    if not _scalar(value):
        raise SegmentError(f'rule {number}: "{op}" needs one text or number value')
    return {"field": field, "op": op, "value": str(value)}


def _validate_engagement(number: int, rule: dict[str, Any]) -> dict[str, Any]:
    kind = rule["engagement"]
    if kind not in ENGAGEMENTS:
        raise SegmentError(
            f"rule {number}: unknown engagement {kind!r} (known: {', '.join(ENGAGEMENTS)})"
        )
    unknown = set(rule) - {"engagement", "days", "campaign_id"}
    if unknown:
        raise SegmentError(f"rule {number}: unknown key(s) {', '.join(sorted(unknown))}")
    days, campaign_id = rule.get("days"), rule.get("campaign_id")
    if (days is None) == (campaign_id is None):
        raise SegmentError(f'rule {number}: give either "days" or "campaign_id"')
    if days is not None:
        if not _whole(days) or not 1 <= days <= MAX_DAYS:
            raise SegmentError(f'rule {number}: "days" must be a whole number 1–{MAX_DAYS}')
        return {"engagement": kind, "days": days}
    if not isinstance(campaign_id, int) or isinstance(campaign_id, bool) or campaign_id < 1:
        raise SegmentError(f'rule {number}: "campaign_id" must be a campaign id')
    return {"engagement": kind, "campaign_id": campaign_id}


def _attribute_name(field: str) -> str:
    prefix, _, name = field.partition(".")
    return name if prefix == "attributes" and name.strip() else ""


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def create_segment(session: Session, *, name: str, list_ids: Sequence[int], rules: Any) -> Segment:
    """Save a segment after validating its name, lists and rules."""
    if not name.strip():
        raise SegmentError("a segment needs a name")
    if not list_ids:
        raise SegmentError("a segment needs at least one list")
    unknown = sorted(set(list_ids) - set(list_names(session)))
    if unknown:
        raise SegmentError(f"no list {', '.join(f'#{list_id}' for list_id in unknown)}")
    segment = Segment(
        name=name.strip(), list_ids=sorted(set(list_ids)), rules=validate_rules(rules)
    )
    session.add(segment)
    session.flush()
    return segment


def get_segment(session: Session, segment_id: int) -> Segment:
    """The segment with this id, or SegmentError."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise SegmentError(f"no segment #{segment_id}")
    return segment


def all_segments(session: Session) -> list[Segment]:
    """Every segment, newest first."""
    return list(session.scalars(select(Segment).order_by(Segment.id.desc())))


def rule_conditions(rules: dict[str, Any], *, now: datetime | None = None) -> ColumnElement[bool]:
    """One SQL condition (over Subscriber) equivalent to validated ``rules``."""
    now = now or utcnow()
    parts = [_condition(rule, now) for rule in rules.get("rules", [])]
    if not parts:
        return true()
    return or_(*parts) if rules.get("match") == "any" else and_(*parts)


def _condition(rule: dict[str, Any], now: datetime) -> ColumnElement[bool]:
    if "engagement" in rule:
        return _engagement(rule, now)
    field: str = rule["field"]
    column: Any = PLAIN_FIELDS.get(field)
    if column is None:
        # JSON indexing: json_extract on SQLite, ->> on PostgreSQL.
        column = Subscriber.attributes[_attribute_name(field)].as_string()
    op, value = rule["op"], rule.get("value")
    conditions: dict[str, Any] = {
        "eq": lambda: column == value,
        "ne": lambda: or_(column.is_(None), column != value),
        "in": lambda: column.in_(value),
        "not_in": lambda: or_(column.is_(None), column.not_in(value)),
        "contains": lambda: func.lower(column).contains(str(value).lower(), autoescape=True),
        "exists": lambda: and_(column.is_not(None), column != ""),
        "not_exists": lambda: or_(column.is_(None), column == ""),
    }
    condition: ColumnElement[bool] = conditions[op]()
    return condition


def _engagement(rule: dict[str, Any], now: datetime) -> ColumnElement[bool]:
    kind: str = rule["engagement"]
    column = Delivery.clicked_at if kind.endswith("clicked") else Delivery.opened_at
    found = [Delivery.subscriber_id == Subscriber.id, column.is_not(None)]
    if "days" in rule:
        found.append(column >= now - timedelta(days=rule["days"]))
    else:
        found.append(Delivery.campaign_id == rule["campaign_id"])
    engaged = exists().where(*found)
    return ~engaged if kind.startswith("not_") else engaged


def member_conditions(segment: Segment) -> list[ColumnElement[bool]]:
    """Conditions (over Subscription joined to Subscriber) for being in the segment."""
    return [Subscription.list_id.in_(segment.list_ids), rule_conditions(segment.rules)]


def segment_conditions(session: Session, campaign_id: int) -> list[ColumnElement[bool]]:
    """The campaign's segment as extra eligibility conditions (none without a segment)."""
    segment_id = session.scalar(select(Campaign.segment_id).where(Campaign.id == campaign_id))
    if segment_id is None:
        return []
    return member_conditions(get_segment(session, segment_id))


def count_members(session: Session, segment: Segment) -> int:
    """How many subscribers the segment would mail now (confirmed, active, not suppressed)."""
    query = (
        select(func.count(func.distinct(Subscription.subscriber_id)))
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.status == SubscriptionStatus.CONFIRMED,
            Subscriber.status == SubscriberStatus.ACTIVE,
            ~exists().where(Suppression.email == Subscriber.email),
            *member_conditions(segment),
        )
    )
    return int(session.scalar(query) or 0)


def use_segment(session: Session, *, campaign_id: int, segment_id: int) -> None:
    """Send a draft or scheduled campaign to a segment (its lists are added to the campaign's)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise SegmentError(f"no campaign #{campaign_id}")
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        raise SegmentError(f"campaign #{campaign_id} is {campaign.status}; too late to change")
    apply_segment(session, campaign, get_segment(session, segment_id))


def apply_segment(session: Session, campaign: Campaign, segment: Segment) -> None:
    """The campaign goes to the segment's members only; the segment's lists are added to the
    campaign's, since a member of a list the campaign does not go to would not be mailed."""
    campaign.segment_id = segment.id
    have = set(
        session.scalars(select(CampaignList.list_id).where(CampaignList.campaign_id == campaign.id))
    )
    session.add_all(
        CampaignList(campaign_id=campaign.id, list_id=list_id)
        for list_id in segment.list_ids
        if list_id not in have
    )
    session.flush()
