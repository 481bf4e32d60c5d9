"""Segments: validated rules over attributes, language and engagement, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.database import unit_of_work, utcnow
from publisher.audience.segments import (
    SegmentError,
    count_members,
    create_segment,
    use_segment,
    validate_rules,
)
from publisher.cli.main import app
from publisher.sending.deliveries import plan_deliveries
from publisher.sending.models import Delivery
from subscribers.models import Subscriber, Suppression
from tests.fixtures.factories import add_announcement, add_list, add_subscribers

runner = CliRunner()


def seed(session: Session) -> tuple[int, list[Subscriber]]:
    """Six readers (en, uk, ja, en, uk, ja); cities on some; one earlier campaign."""
    mailing_list = add_list(session, "news")
    people = add_subscribers(session, mailing_list, 6)
    people[0].attributes = {"city": "Kyiv"}
    people[1].attributes = {"city": "Kyiv", "role": "donor"}
    people[2].attributes = {"city": "Tokyo"}
    session.flush()
    return mailing_list.id, people


def segment_count(session: Session, list_id: int, rules: dict[str, Any]) -> int:
    return count_members(
        session, create_segment(session, name="s", list_ids=[list_id], rules=rules)
    )


def test_field_rules_on_language_and_attributes(db: str) -> None:
    with unit_of_work() as session:
        list_id, _ = seed(session)

        def rule(field: str, op: str, value: Any = None) -> int:
            item = {"field": field, "op": op} | ({} if value is None else {"value": value})
            return segment_count(session, list_id, {"rules": [item]})

        assert rule("language", "in", ["uk"]) == 2
        assert rule("language", "not_in", ["uk", "ja"]) == 2
        assert rule("attributes.city", "eq", "Kyiv") == 2
        assert rule("attributes.city", "ne", "Kyiv") == 4  # no city counts as "not Kyiv"
        assert rule("attributes.role", "exists") == 1
        assert rule("attributes.role", "not_exists") == 5
        assert rule("attributes.city", "in", ["Tokyo", "Osaka"]) == 1
        assert rule("email", "contains", "READER1") == 1
        both = {
            "match": "all",
            "rules": [
                {"field": "language", "op": "eq", "value": "uk"},
                {"field": "attributes.city", "op": "eq", "value": "Kyiv"},
            ],
        }
        assert segment_count(session, list_id, both) == 1
        assert segment_count(session, list_id, both | {"match": "any"}) == 3


def test_engagement_rules(db: str) -> None:
    with unit_of_work() as session:
        list_id, people = seed(session)
        campaign = add_announcement(session, "news")
        now = utcnow()
        recent, old = now - timedelta(days=2), now - timedelta(days=40)
        sent = {"campaign_id": campaign.id, "status": "sent"}
        session.add_all(
            [
                Delivery(**sent, subscriber_id=people[0].id, opened_at=recent),
                Delivery(**sent, subscriber_id=people[1].id, opened_at=old, clicked_at=old),
                Delivery(**sent, subscriber_id=people[2].id),
            ]
        )
        session.flush()
        assert (
            segment_count(session, list_id, {"rules": [{"engagement": "opened", "days": 30}]}) == 1
        )
        assert (
            segment_count(session, list_id, {"rules": [{"engagement": "opened", "days": 60}]}) == 2
        )
        assert (
            segment_count(session, list_id, {"rules": [{"engagement": "clicked", "days": 60}]}) == 1
        )
        not_opened = {"rules": [{"engagement": "not_opened", "campaign_id": campaign.id}]}
        assert segment_count(session, list_id, not_opened) == 4


def test_live_count_leaves_out_unconfirmed_and_suppressed(db: str) -> None:
    with unit_of_work() as session:
        list_id, people = seed(session)
        everyone = {"rules": []}
        assert segment_count(session, list_id, everyone) == 6
        session.add(Suppression(email=people[0].email, reason="complaint"))
        people[1].status = "blocked"
        session.flush()
        assert segment_count(session, list_id, everyone) == 4


def test_a_campaign_with_a_segment_plans_only_its_members(db: str) -> None:
    with unit_of_work() as session:
        list_id, people = seed(session)
        campaign = add_announcement(session, "news")
        kyiv = create_segment(
            session,
            name="Kyiv",
            list_ids=[list_id],
            rules={"rules": [{"field": "attributes.city", "op": "eq", "value": "Kyiv"}]},
        )
        use_segment(session, campaign_id=campaign.id, segment_id=kyiv.id)
        assert plan_deliveries(session, campaign.id) == 2
        planned = set(
            session.scalars(
                select(Delivery.subscriber_id).where(Delivery.campaign_id == campaign.id)
            )
        )
        assert planned == {people[0].id, people[1].id}
        other = add_announcement(session, "news")
        assert plan_deliveries(session, other.id) == 6  # no segment: the whole list


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([], "rules must be a JSON object"),
        ({"match": "some"}, '"match" must be "all" or "any"'),
        (
            {"rules": [{"field": "colour", "op": "eq", "value": "x"}]},
            "rule 1: unknown field 'colour'",
        ),
        (
            {"rules": [{"field": "language", "op": "like", "value": "x"}]},
            "rule 1: unknown op 'like'",
        ),
        (
            {"rules": [{"field": "language", "op": "in", "value": "uk"}]},
            'rule 1: "in" needs a non-empty list',
        ),
        (
            {"rules": [{"field": "language", "op": "eq"}]},
            'rule 1: "eq" needs one text or number value',
        ),
        ({"rules": [{"engagement": "opened"}]}, 'rule 1: give either "days" or "campaign_id"'),
        ({"rules": [{"engagement": "opened", "days": 0}]}, 'rule 1: "days" must be a whole number'),
        ({"rules": [{"engagement": "read", "days": 3}]}, "rule 1: unknown engagement 'read'"),
        (
            {"rules": [{"field": "language", "op": "eq", "value": "uk"}, 7]},
            "rule 2: must be an object",
        ),
    ],
)
def test_invalid_rules_are_refused_with_a_clear_reason(rules: Any, message: str) -> None:
    with pytest.raises(SegmentError, match="^" + message.replace("(", r"\(").replace('"', '"')):
        validate_rules(rules)


def test_cli_create_list_and_show_with_json(pg_db: str) -> None:
    with unit_of_work() as session:
        seed(session)
    rules = json.dumps(
        {"match": "all", "rules": [{"field": "language", "op": "in", "value": ["uk"]}]}
    )
    made = runner.invoke(
        app, ["segments", "create", "Ukrainian", "--list", "news", "--rules", rules, "--json"]
    )
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert (created["name"], created["lists"], created["count"]) == ("Ukrainian", ["news"], 2)
    shown = json.loads(
        runner.invoke(app, ["segments", "show", str(created["id"]), "--json"]).stdout
    )
    assert shown["count"] == 2 and shown["rules"] == json.loads(rules)
    listed = json.loads(runner.invoke(app, ["segments", "list", "--json"]).stdout)
    assert [item["id"] for item in listed] == [created["id"]]
    bad = runner.invoke(
        app, ["segments", "create", "X", "--list", "news", "--rules", '{"match": 1}']
    )
    assert bad.exit_code == 2 and '"match" must be "all" or "any"' in bad.output
    missing = runner.invoke(app, ["segments", "create", "X", "--list", "nope"])
    assert missing.exit_code == 2 and "no list nope" in missing.output
