"""Subscribing and confirming, through the web app, on SQLite and PostgreSQL.

The public form, its embeddable copy and the JSON endpoint; double opt-in with signed,
expiring links (forged, altered, expired and replayed ones included); the same answer for
every address whatever Herald knows about it. Transactional tasks are captured instead of
going to a broker and run in-process through the outbox, whose files are read back like mail.
Robots and floods are in test_subscribe_limits.py, confirmations asked for by imports and
through a real worker in test_confirmations.py.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.database import unit_of_work
from core.tasks import TaskName
from core.tokens import make_token
from subscribers.consent import confirmation_token
from subscribers.models import Subscriber, Subscription, Suppression
from subscribers.unsubscribe import unsubscribe_token
from tests.fixtures.mailroom import (
    Mailroom,
    activity,
    confirm_url,
    everything,
    subscriber_id,
    subscription,
)
from tests.fixtures.subscribing import Lists, post_form

# The form and the JSON endpoint


def test_each_public_list_has_a_form_and_private_lists_none(
    client: TestClient, lists: Lists
) -> None:
    page = client.get("/subscribe/forum")
    assert page.status_code == 200
    assert 'action="/subscribe/forum"' in page.text
    assert 'name="website"' in page.text  # the honeypot
    assert 'value="Events"' in page.text and 'value="Research"' in page.text
    for slug in ("board", "nowhere"):
        assert client.get(f"/subscribe/{slug}").status_code == 404
        assert post_form(client, slug).status_code == 404
        assert (
            client.post(f"/api/subscribe/{slug}", json={"email": "a@example.org"}).status_code
            == 404
        )


def test_the_embeddable_snippet_posts_to_this_site(client: TestClient, lists: Lists) -> None:
    snippet = client.get("/subscribe/forum/embed")
    assert snippet.status_code == 200
    assert 'action="http://testserver/subscribe/forum"' in snippet.text
    assert 'name="website"' in snippet.text
    assert "<html" not in snippet.text


def test_double_opt_in_waits_for_the_link_then_records_consent(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    answer = post_form(client, "forum", email=" Anna@Example.ORG ", topics=["Research"])
    assert answer.status_code == 200
    assert "check your inbox" in answer.text
    pending = subscription("anna@example.org", lists.forum)
    assert pending is not None and pending.status == "unconfirmed"
    assert pending.consent_at is None and pending.topics == ["Research"]
    assert pending.requested_ip == "testclient"
    assert pending.consent_page == "http://forum.example.org/events"  # query and fragment dropped
    assert mailroom.names() == [TaskName.SEND_CONFIRMATIONS]
    mailroom.run()
    person = subscriber_id("anna@example.org")
    message = mailroom.message("confirm", lists.forum, person)
    assert message is not None and message["To"] == "Anna <anna@example.org>"
    assert "Find out first" in str(message["Subject"])
    assert "List-Unsubscribe" not in message
    link = confirm_url(message)

    page = client.get(link)  # what a link scanner does: changes nothing
    assert page.status_code == 200 and "Yes, subscribe me" in page.text
    still = subscription("anna@example.org", lists.forum)
    assert still is not None and still.status == "unconfirmed"

    done = client.post(link)
    assert done.status_code == 200 and "You are subscribed" in done.text
    confirmed = subscription("anna@example.org", lists.forum)
    assert confirmed is not None and confirmed.status == "confirmed"
    assert confirmed.consent_at is not None and confirmed.consent_ip == "testclient"
    assert confirmed.consent_source == "form"
    assert confirmed.consent_page == "http://forum.example.org/events"
    assert [e.list_id for e in activity("subscriber.subscribed")] == [lists.forum]
    assert [e.subscriber_id for e in activity("subscriber.confirmed")] == [person]
    mailroom.run()
    welcome = mailroom.message("welcome", lists.forum, person)
    assert welcome is not None
    assert str(welcome["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


def test_a_replayed_confirmation_changes_nothing(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    post_form(client, "forum")
    mailroom.run()
    message = mailroom.message("confirm", lists.forum, subscriber_id("anna@example.org"))
    assert message is not None
    link = confirm_url(message)
    client.post(link)
    first = subscription("anna@example.org", lists.forum)
    mailroom.run()
    welcomes = mailroom.sent()
    again = client.post(link)
    assert again.status_code == 200 and "already subscribed" in again.text
    assert mailroom.names() == []  # no second welcome
    second = subscription("anna@example.org", lists.forum)
    assert first is not None and second is not None
    assert (second.consent_at, second.consent_ip) == (first.consent_at, first.consent_ip)
    assert len(activity("subscriber.confirmed")) == 1
    assert mailroom.sent() == welcomes


def test_a_confirmation_link_dies_with_its_request(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    post_form(client, "forum")
    mailroom.run()
    person = subscriber_id("anna@example.org")
    message = mailroom.message("confirm", lists.forum, person)
    assert message is not None
    link = confirm_url(message)
    client.post(link)
    client.post(f"/unsubscribe/{unsubscribe_token(person, (lists.forum,), None)}")
    before = everything()
    for method in ("get", "post"):
        stale = client.request(method, link)
        assert stale.status_code == 400 and "no longer valid" in stale.text
    assert everything() == before
    gone = subscription("anna@example.org", lists.forum)
    assert gone is not None and gone.status == "unsubscribed"


def _flip(token: str, position: int) -> str:
    return token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]


def test_forged_or_altered_confirmation_links_are_refused(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    post_form(client, "forum")
    person = subscriber_id("anna@example.org")
    pending = subscription("anna@example.org", lists.forum)
    assert pending is not None and pending.requested_at is not None
    genuine = confirmation_token(person, lists.forum, pending.requested_at)
    forged = {
        "signature altered": _flip(genuine, len(genuine) - 5),
        "payload altered": _flip(genuine, 3),
        "other purpose": unsubscribe_token(person, (lists.forum,), None),
        "untimed": make_token("confirm", [person, lists.forum, 0]),
        "other list": confirmation_token(person, lists.alerts, pending.requested_at),
        "garbage": "not-a-token",
    }
    before = everything()
    for problem, token in forged.items():
        response = client.post(f"/confirm/{token}")
        assert response.status_code == 400, problem
        assert "Nothing was changed" in response.text, problem
    assert everything() == before


def test_an_expired_confirmation_link_is_refused(
    client: TestClient, lists: Lists, mailroom: Mailroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_form(client, "forum")
    pending = subscription("anna@example.org", lists.forum)
    assert pending is not None and pending.requested_at is not None
    eight_days_ago = time.time() - 8 * 86400
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: eight_days_ago)
        old = confirmation_token(pending.subscriber_id, lists.forum, pending.requested_at)
    before = everything()
    expired = client.post(f"/confirm/{old}")
    assert expired.status_code == 400 and "expired" in expired.text
    assert everything() == before


# One answer for every address


def test_the_answer_is_the_same_whatever_herald_knows(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    states = ["new", "pending", "confirmed", "unsubscribed", "suppressed"]
    addresses = {state: f"{state}@example.org" for state in states}
    for state in ("pending", "confirmed", "unsubscribed"):
        post_form(client, "forum", email=addresses[state])
    mailroom.run()
    for state in ("confirmed", "unsubscribed"):
        message = mailroom.message("confirm", lists.forum, subscriber_id(addresses[state]))
        assert message is not None
        client.post(confirm_url(message))
    leaver = subscriber_id(addresses["unsubscribed"])
    client.post(f"/unsubscribe/{unsubscribe_token(leaver, (lists.forum,), None)}")
    with unit_of_work() as session:
        session.add(Suppression(email=addresses["suppressed"], reason="complaint"))
    mailroom.run()
    mailroom.tasks.clear()

    pages = {state: post_form(client, "forum", email=addresses[state]) for state in states}
    apis = {
        state: client.post("/api/subscribe/forum", json={"email": addresses[state]})
        for state in states
    }
    assert {(p.status_code, p.text) for p in pages.values()} == {(200, pages["new"].text)}
    assert {(a.status_code, a.text) for a in apis.values()} == {(202, apis["new"].text)}
    assert apis["new"].json()["status"] == "accepted"
    asked = {args[1][0] for name, args in mailroom.tasks if name == TaskName.SEND_CONFIRMATIONS}
    # Behind the one answer: a confirmation for the new address and the one coming back;
    # nothing for the one already asked minutes ago, the confirmed one or the suppressed one.
    assert asked == {subscriber_id(addresses["new"]), leaver}
    assert subscription(addresses["suppressed"], lists.forum) is None
    with unit_of_work() as session:
        emails = set(session.scalars(select(Subscriber.email)))
    assert addresses["suppressed"] not in emails


def test_a_suppressed_address_changes_nothing_and_gets_nothing(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    with unit_of_work() as session:
        session.add(Suppression(email="anna@example.org", reason="hard_bounce"))
    before = everything()
    assert post_form(client, "forum").status_code == 200
    assert (
        client.post("/api/subscribe/alerts", json={"email": "ANNA@example.org"}).status_code == 202
    )
    assert everything() == before
    assert mailroom.names() == []


def test_coming_back_after_unsubscribing_needs_a_new_confirmation_even_on_single_opt_in(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    post_form(client, "alerts")
    joined = subscription("anna@example.org", lists.alerts)
    assert joined is not None and joined.status == "confirmed"
    assert mailroom.names() == [TaskName.SEND_WELCOMES]
    mailroom.run()
    person = subscriber_id("anna@example.org")
    client.post(f"/unsubscribe/{unsubscribe_token(person, (lists.alerts,), None)}")

    post_form(client, "alerts")
    back = subscription("anna@example.org", lists.alerts)
    assert back is not None and back.status == "unconfirmed"
    assert back.consent_at is None
    assert mailroom.names() == [TaskName.SEND_CONFIRMATIONS]
    mailroom.run()
    message = mailroom.message("confirm", lists.alerts, person)
    assert message is not None
    client.post(confirm_url(message))
    again = subscription("anna@example.org", lists.alerts)
    assert again is not None and again.status == "confirmed" and again.consent_at is not None


def test_single_opt_in_subscribes_at_once_and_welcomes(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    answer = client.post(
        "/api/subscribe/alerts",
        json={"email": "taras@example.org", "name": "Тарас", "language": "uk"},
        headers={"referer": "https://partner.example.net/page?id=3"},
    )
    assert answer.status_code == 202
    joined = subscription("taras@example.org", lists.alerts)
    assert joined is not None and joined.status == "confirmed"
    assert joined.consent_at is not None and joined.consent_source == "api"
    assert joined.consent_page == "https://partner.example.net/page"
    mailroom.run()
    welcome = mailroom.message("welcome", lists.alerts, subscriber_id("taras@example.org"))
    assert welcome is not None
    assert "Ласкаво просимо" in str(welcome["Subject"])
    html = welcome.get_body(("html",))
    assert html is not None and "Вітаємо, Тарас!" in html.get_content()


def test_a_confirmation_is_in_the_subscribers_language(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    post_form(client, "forum", email="misaki@example.jp", name="佐藤 美咲", language="ja")
    mailroom.run()
    message = mailroom.message("confirm", lists.forum, subscriber_id("misaki@example.jp"))
    assert message is not None
    assert str(message["Subject"]) == "「Find out first」購読のご確認"
    text = message.get_body(("plain",))
    assert text is not None and "7日間" in text.get_content()


def test_a_known_subscriber_is_not_changed_by_a_public_form(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    post_form(client, "alerts", name="Anna", language="uk")
    post_form(client, "forum", name="Somebody else", language="ja")
    with unit_of_work() as session:
        person = session.scalars(select(Subscriber)).one()
        assert (person.name, person.language) == ("Anna", "uk")


def test_a_pending_request_is_not_mailed_again_within_minutes(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    post_form(client, "forum")
    mailroom.run()
    post_form(client, "forum")
    assert mailroom.names() == []
    with unit_of_work() as session:
        pending = session.get(Subscription, (subscriber_id("anna@example.org"), lists.forum))
        assert pending is not None and pending.confirmation_sent_at is not None
        pending.confirmation_sent_at -= timedelta(minutes=11)
    post_form(client, "forum")
    assert mailroom.names() == [TaskName.SEND_CONFIRMATIONS]
    assert len(activity("subscriber.subscribed")) == 1  # the same request, asked again
