"""Subscribing and confirming, through the web app, on SQLite and PostgreSQL.

The public form, its embeddable copy and the JSON endpoint; double opt-in with signed,
expiring links (forged, altered, expired and replayed ones included); the same answer for
every address whatever Herald knows about it; the honeypot and the limits per IP and per
address (in the database, and in Redis). Transactional tasks are captured instead of going
to a broker and run in-process through the outbox, whose files are read back like mail;
once, a real web process and a real Celery worker do it through the embedded broker.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.database import unit_of_work
from core.settings import get_settings
from core.tasks import TaskName
from core.tokens import make_token
from publisher.web.app import create_app
from subscribers import throttle
from subscribers.consent import (
    TASK_CHUNK,
    ask_for_confirmation,
    confirmation_token,
)
from subscribers.lists import create_list
from subscribers.models import Subscriber, Subscription, Suppression
from subscribers.unsubscribe import unsubscribe_token
from tests.conftest import REDIS_URL, use_settings
from tests.fixtures.mailroom import (
    Mailroom,
    activity,
    confirm_url,
    everything,
    mailroom,
    subscriber_id,
    subscription,
)
from tests.fixtures.processes import celery_worker, herald_env, wait_until

__all__ = ["mailroom"]  # the fixture

FORM_PAGE = "http://forum.example.org/events?utm_source=x#signup"


@pytest.fixture
def client(db: str) -> TestClient:
    return TestClient(create_app(), follow_redirects=False)


@dataclass(frozen=True)
class Lists:
    """A double opt-in list with topics, a single opt-in list, and a private list."""

    forum: int
    alerts: int
    board: int


@pytest.fixture
def lists(db: str) -> Lists:
    with unit_of_work() as session:
        forum = create_list(
            session,
            slug="forum",
            name="Find out first",
            opt_in="double",
            topics=["Events", "Research"],
            description="Events and research, first.",
        )
        alerts = create_list(session, slug="alerts", name="Alerts", opt_in="single")
        board = create_list(session, slug="board", name="Board", public=False)
        return Lists(forum.id, alerts.id, board.id)


def post_form(client: TestClient, slug: str, **fields: Any) -> Any:
    data = {"email": "anna@example.org", "name": "Anna", "language": "en", **fields}
    return client.post(f"/subscribe/{slug}", data=data, headers={"referer": FORM_PAGE})


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


# Robots and floods


def test_the_honeypot_answers_as_usual_and_does_nothing(
    client: TestClient, lists: Lists, mailroom: Mailroom
) -> None:
    trap = post_form(client, "forum", website="http://spam.example")
    honest = post_form(client, "forum", email="real@example.org")
    assert trap.status_code == honest.status_code == 200
    assert trap.text == honest.text
    assert subscription("anna@example.org", lists.forum) is None
    api = client.post("/api/subscribe/forum", json={"email": "bot@example.org", "website": "x"})
    assert api.status_code == 202 and subscription("bot@example.org", lists.forum) is None


def test_an_unusable_address_is_refused_with_a_reason(client: TestClient, lists: Lists) -> None:
    page = post_form(client, "forum", email="not an address")
    assert page.status_code == 400 and "does not look like an email" in page.text
    assert 'value="not an address"' in page.text
    api = client.post("/api/subscribe/forum", json={"email": "anna@"})
    assert api.status_code == 422
    assert everything() == []


def _limits(monkeypatch: pytest.MonkeyPatch, *, per_ip: int, per_address: int) -> None:
    monkeypatch.setattr(throttle, "PER_IP", throttle.Limit("test-ip", per_ip, 1.0))
    monkeypatch.setattr(throttle, "PER_ADDRESS", throttle.Limit("test-to", per_address, 1.0))


def _limited_per_ip_and_address(lists: Lists, monkeypatch: pytest.MonkeyPatch) -> None:
    _limits(monkeypatch, per_ip=4, per_address=2)
    app = create_app()
    one_ip = TestClient(app, client=("198.51.100.7", 5000))
    codes = [post_form(one_ip, "forum", email=f"p{i}@example.org").status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    refused = post_form(one_ip, "forum", email="p9@example.org")
    assert "Too many attempts" in refused.text and int(refused.headers["retry-after"]) >= 1
    assert subscription("p9@example.org", lists.forum) is None

    # One address from many IPs: the third attempt is refused, known address or not.
    answers = [
        TestClient(app, client=(f"192.0.2.{i}", 5000))
        .post("/api/subscribe/forum", json={"email": "target@example.org"})
        .status_code
        for i in range(3)
    ]
    assert answers == [202, 202, 429]


def test_limits_per_ip_and_per_address_in_the_database(
    lists: Lists, mailroom: Mailroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    _limited_per_ip_and_address(lists, monkeypatch)


def test_limits_per_ip_and_per_address_in_redis(
    lists: Lists, mailroom: Mailroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = REDIS_URL.rsplit("/", 1)[0] + "/11"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.RedisError as error:
        from tests.conftest import service_unavailable

        service_unavailable("Redis", error)
    finally:
        client.close()
    use_settings(monkeypatch, redis_url=url, database_url=get_settings().database_url)
    _limited_per_ip_and_address(lists, monkeypatch)
    keys = redis.Redis.from_url(url).keys("herald:ratelimit:test-*")
    assert keys and not any(b"example.org" in key or b"192.0.2" in key for key in keys)


# Confirmations asked for by others (imports)


def test_confirmations_are_asked_in_chunks_of_ids(mailroom: Mailroom, lists: Lists) -> None:
    with unit_of_work() as session:
        ask_for_confirmation(session, list_id=lists.forum, subscriber_ids=range(1, 1202))
        assert mailroom.tasks == []  # only once committed
    sizes = [len(args[1]) for name, args in mailroom.tasks if name == TaskName.SEND_CONFIRMATIONS]
    assert sizes == [TASK_CHUNK, TASK_CHUNK, 201]


def test_an_imported_subscriber_gets_a_working_link(
    client: TestClient, mailroom: Mailroom, lists: Lists
) -> None:
    with unit_of_work() as session:
        person = Subscriber(email="imported@example.org", name="Ім'я", language="uk")
        session.add(person)
        session.flush()
        session.add(
            Subscription(
                subscriber_id=person.id, list_id=lists.forum, consent_source="import:x.csv"
            )
        )
        ask_for_confirmation(session, list_id=lists.forum, subscriber_ids=[person.id])
    mailroom.run()
    message = mailroom.message("confirm", lists.forum, person.id)
    assert message is not None and "Підтвердьте" in str(message["Subject"])
    assert client.post(confirm_url(message)).status_code == 200
    with unit_of_work() as session:
        count = session.scalar(
            select(func.count()).select_from(Subscription).where(Subscription.status == "confirmed")
        )
    assert count == 1


# Through a real worker


SUBSCRIBE_IN_A_WEB_PROCESS = """
from fastapi.testclient import TestClient
from publisher.web.app import app
answer = TestClient(app).post("/subscribe/forum", data={"email": "anna@example.org"})
assert answer.status_code == 200, answer.text
"""


def test_a_real_worker_emails_the_confirmation(sqlite_db: str, tmp_path: Path) -> None:
    with unit_of_work() as session:
        forum = create_list(session, slug="forum", name="Forum", opt_in="double").id
    settings = get_settings()
    env = herald_env(
        database_url=sqlite_db,
        broker_url=settings.broker_url,
        env="test",
        outbox_dir=str(settings.outbox_dir),
        base_url="http://testserver",
    )
    with celery_worker(env, tmp_path, name="transactional"):
        web = subprocess.run(
            [sys.executable, "-c", SUBSCRIBE_IN_A_WEB_PROCESS],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert web.returncode == 0, web.stderr
        person = subscriber_id("anna@example.org")
        wait_until(
            lambda: Mailroom().message("confirm", forum, person) is not None,
            timeout=120,
            what="the confirmation email",
        )
    message = Mailroom().message("confirm", forum, person)
    assert message is not None and "/confirm/" in confirm_url(message)
    pending = subscription("anna@example.org", forum)
    assert pending is not None and pending.confirmation_sent_at is not None
