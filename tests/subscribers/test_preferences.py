"""The preference centre and unsubscribing, through the web app, on SQLite and PostgreSQL.

The signed link of any email opens the subscriber's lists, topics and language to change,
or to leave everything, with no login; RFC 8058 one-click unsubscribe works with the exact
body, with none and without a cookie, never redirects, takes effect at once (a campaign
already planned skips the person) and is recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.activity import ActivityEvent
from core.database import unit_of_work
from core.settings import get_settings
from core.tasks import TaskName
from publisher.campaigns.service import start_sending
from publisher.sending.deliveries import delivery_counts
from publisher.sending.models import Delivery
from subscribers.lists import create_list
from subscribers.models import Subscriber, Subscription, Suppression
from subscribers.unsubscribe import unsubscribe_token
from tests.fixtures.factories import add_announcement, add_subscribers
from tests.fixtures.mailroom import Mailroom, everything

ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Reader:
    """A subscriber confirmed on "forum" (with topics) and "alerts"; "digest" is another
    public list, "board" a private one they are not on."""

    id: int
    email: str
    forum: int
    alerts: int
    digest: int
    board: int

    def token(self, *list_ids: int, campaign_id: int | None = None) -> str:
        return unsubscribe_token(self.id, list_ids or (self.forum,), campaign_id)


@pytest.fixture
def reader(db: str) -> Reader:
    with unit_of_work() as session:
        forum = create_list(
            session, slug="forum", name="Forum", opt_in="double", topics=["Events", "Research"]
        )
        alerts = create_list(session, slug="alerts", name="Alerts")
        digest = create_list(session, slug="digest", name="Digest")
        board = create_list(session, slug="board", name="Board", public=False)
        person = Subscriber(email="olena@example.org", name="Олена", language="uk")
        session.add(person)
        session.flush()
        for list_id in (forum.id, alerts.id):
            session.add(Subscription(subscriber_id=person.id, list_id=list_id, status="confirmed"))
        return Reader(person.id, person.email, forum.id, alerts.id, digest.id, board.id)


def statuses(subscriber_id: int) -> dict[int, str]:
    with unit_of_work() as session:
        rows = session.execute(
            select(Subscription.list_id, Subscription.status).where(
                Subscription.subscriber_id == subscriber_id
            )
        )
        return dict(rows.all())


def unsubscribes() -> list[tuple[int | None, int | None, str]]:
    with unit_of_work() as session:
        rows = session.scalars(
            select(ActivityEvent)
            .where(ActivityEvent.kind == "subscriber.unsubscribed")
            .order_by(ActivityEvent.id)
        )
        return [(e.list_id, e.campaign_id, e.data["via"]) for e in rows]


# The preference centre


def test_the_page_shows_their_lists_and_the_public_ones(client: TestClient, reader: Reader) -> None:
    page = client.get(f"/preferences/{reader.token()}")
    assert page.status_code == 200
    text = page.text
    assert reader.email in text
    for name in ("Forum", "Alerts", "Digest"):
        assert f"<span>{name}</span>" in text
    assert "Board" not in text  # private, and never on it
    assert f'value="{reader.forum}:Events" checked' in text
    assert f'name="lists" value="{reader.digest}">' in text  # public, not ticked
    assert '<option value="uk" selected>' in text


def test_saving_joins_leaves_and_chooses_topics_and_language(
    client: TestClient, reader: Reader, mailroom: Mailroom
) -> None:
    form = {
        "action": "save",
        "lists": [str(reader.forum), str(reader.digest)],
        "topics": [f"{reader.forum}:Research", f"{reader.board}:Secret"],
        "language": "ja",
    }
    saved = client.post(f"/preferences/{reader.token(campaign_id=None)}", data=form)
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("?done=saved")
    assert statuses(reader.id) == {
        reader.forum: "confirmed",
        reader.alerts: "unsubscribed",
        reader.digest: "confirmed",
    }
    with unit_of_work() as session:
        forum = session.get(Subscription, (reader.id, reader.forum))
        digest = session.get(Subscription, (reader.id, reader.digest))
        person = session.get(Subscriber, reader.id)
        assert forum is not None and forum.topics == ["Research"]
        assert digest is not None and digest.consent_source == "preferences"
        assert digest.consent_at is not None and digest.consent_ip == "testclient"
        assert digest.consent_page == "http://testserver/preferences"  # never the token
        assert person is not None and person.language == "ja"
    assert unsubscribes() == [(reader.alerts, None, "preferences")]
    assert [name for name, _ in mailroom.tasks] == ["herald.transactional.send_welcomes"]
    shown = client.get(saved.headers["location"])
    assert "Your choices are saved" in shown.text


def test_ticking_every_topic_means_all_of_them(client: TestClient, reader: Reader) -> None:
    topics = [f"{reader.forum}:Events", f"{reader.forum}:Research"]
    client.post(
        f"/preferences/{reader.token()}",
        data={"lists": [str(reader.forum), str(reader.alerts)], "topics": topics, "language": "uk"},
    )
    with unit_of_work() as session:
        forum = session.get(Subscription, (reader.id, reader.forum))
        assert forum is not None and forum.topics == []


def test_leaving_everything_at_once(client: TestClient, reader: Reader) -> None:
    token = reader.token(campaign_id=None)
    left = client.post(f"/preferences/{token}", data={"action": "leave"})
    assert left.status_code == 303
    assert set(statuses(reader.id).values()) == {"unsubscribed"}
    again = client.post(f"/preferences/{token}", data={"action": "leave"})
    assert again.status_code == 303
    assert len(unsubscribes()) == 2  # one per list, recorded once
    assert "unsubscribed from everything" in client.get(left.headers["location"]).text


def test_a_suppressed_address_joins_nothing(
    client: TestClient, reader: Reader, mailroom: Mailroom
) -> None:
    with unit_of_work() as session:
        session.add(Suppression(email=reader.email, reason="complaint"))
    lists = [str(reader.forum), str(reader.alerts), str(reader.digest), str(reader.board)]
    client.post(f"/preferences/{reader.token()}", data={"lists": lists, "language": "uk"})
    assert reader.digest not in statuses(reader.id)
    assert reader.board not in statuses(reader.id)
    assert mailroom.tasks == []
    assert "no longer send email" in client.get(f"/preferences/{reader.token()}").text


def test_a_pending_subscription_stays_pending(client: TestClient, reader: Reader) -> None:
    with unit_of_work() as session:
        session.add(Subscription(subscriber_id=reader.id, list_id=reader.digest))
    lists = [str(reader.forum), str(reader.alerts), str(reader.digest)]
    client.post(f"/preferences/{reader.token()}", data={"lists": lists, "language": "uk"})
    assert statuses(reader.id)[reader.digest] == "unconfirmed"


def test_forged_preference_links_change_nothing(client: TestClient, reader: Reader) -> None:
    genuine = reader.token()
    forged = [
        genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB"),
        unsubscribe_token(reader.id + 1000, (reader.forum,), None),
        "garbage",
    ]
    before = everything()
    for token in forged:
        response = client.post(f"/preferences/{token}", data={"action": "leave"})
        assert response.status_code == 400 and "not valid" in response.text
        assert client.get(f"/preferences/{token}").status_code == 400
    assert everything() == before


# One-click unsubscribe


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"content": "List-Unsubscribe=One-Click", "headers": ONE_CLICK}, id="rfc8058"),
        pytest.param({}, id="empty"),
        pytest.param({"data": {"confirm": "1"}}, id="button"),
    ],
)
def test_one_click_leaves_at_once_without_cookie_or_redirect(
    client: TestClient, reader: Reader, body: dict[str, object]
) -> None:
    token = reader.token(reader.forum, campaign_id=77)
    response = client.post(f"/unsubscribe/{token}", **body)  # type: ignore[arg-type]
    assert response.status_code == 200
    assert "location" not in response.headers and "set-cookie" not in response.headers
    assert "You are unsubscribed" in response.text
    assert statuses(reader.id) == {reader.forum: "unsubscribed", reader.alerts: "confirmed"}
    assert unsubscribes() == [(reader.forum, 77, "unsubscribe link (campaign:77)")]
    client.post(f"/unsubscribe/{token}", **body)  # type: ignore[arg-type]
    assert len(unsubscribes()) == 1


def test_a_planned_campaign_skips_whoever_left_after_planning(
    client: TestClient, mailroom: Mailroom, db: str
) -> None:
    with unit_of_work() as session:
        news = create_list(session, slug="news", name="News")
        people = add_subscribers(session, news, 3)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    name, args = mailroom.tasks.pop(0)
    mailroom.run_one(name, args)  # the plan only: every batch waits in the queue
    with unit_of_work() as session:
        assert delivery_counts(session, [campaign.id])[campaign.id] == {"queued": 3}
    token = unsubscribe_token(people[1].id, (news.id,), campaign.id)
    client.post(f"/unsubscribe/{token}", content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
    mailroom.run()
    with unit_of_work() as session:
        left = session.scalars(
            select(Delivery.status).where(Delivery.subscriber_id == people[1].id)
        ).one()
        assert left == "skipped"
        assert delivery_counts(session, [campaign.id])[campaign.id] == {"sent": 2, "skipped": 1}
    outbox = sorted((get_settings().outbox_dir / f"campaign-{campaign.id}").glob("*.eml"))
    recipients = {_message(path)["To"].addresses[0].addr_spec for path in outbox}
    assert people[1].email not in recipients and len(recipients) == 2

    # The preference link of a real email opens the centre for its recipient.
    message = _message(outbox[0])
    html = message.get_body(("html",))
    assert html is not None
    link = html.get_content().split('href="http://testserver/preferences/', 1)[1].split('"')[0]
    page = client.get(f"/preferences/{link}")
    assert page.status_code == 200
    assert message["To"].addresses[0].addr_spec in page.text


def _message(path: Path) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_welcome_emails_one_click_header_works(
    client: TestClient, reader: Reader, mailroom: Mailroom
) -> None:
    client.post("/api/subscribe/digest", json={"email": reader.email})
    assert [name for name, _ in mailroom.tasks] == [TaskName.SEND_WELCOMES]  # single opt-in
    mailroom.run()
    welcome = mailroom.message("welcome", reader.digest, reader.id)
    assert welcome is not None
    url = str(welcome["List-Unsubscribe"]).strip("<>").replace("http://testserver", "")
    response = client.post(url, content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
    assert response.status_code == 200
    assert statuses(reader.id)[reader.digest] == "unsubscribed"
    assert statuses(reader.id)[reader.forum] == "confirmed"
