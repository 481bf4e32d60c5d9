"""Our own open pixel and click redirects on real campaigns: what each hit records.

Messages are rendered from real campaigns through ``publisher.sending.messages`` and their links
followed through the web app, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.database import unit_of_work, utcnow
from core.message import OutgoingMessage
from core.settings import get_settings
from core.tokens import make_token
from publisher.campaigns.models import Campaign
from publisher.campaigns.queries import campaign_list_ids
from publisher.campaigns.service import create_campaign
from publisher.sending.attempts import ClaimedDelivery
from publisher.sending.messages import CampaignEmails, compile_campaign
from publisher.sending.models import Delivery
from publisher.tracking.links import read_click_token, record_click, record_open
from publisher.tracking.machines import Hit
from publisher.tracking.models import DeliveryEvent
from publisher.web.public.tracking import PIXEL_GIF
from tests.fixtures.factories import add_list, add_post, add_subscribers
from tests.fixtures.tracking import AT, BROWSER, CLICK, HREF, PIXEL, PROGRAMME, RECORDING

BODY = (
    f"Read [the programme]({PROGRAMME}), write to [the press desk](mailto:press@example.org),"
    " jump [to the top](#top), and see [the programme]({PROGRAMME}) again."
)


@dataclass(frozen=True)
class Mailed:
    """A campaign sent an hour ago to two subscribers, and the messages they got."""

    campaign_id: int
    delivery_ids: list[int]
    messages: list[OutgoingMessage]

    def clicks(self, index: int = 0) -> list[str]:
        """The click URLs of one message, in the order they appear."""
        return CLICK.findall(self.messages[index].html)

    def pixel(self, index: int = 0) -> str:
        """The pixel URL of one message."""
        found = PIXEL.search(self.messages[index].html)
        assert found is not None
        return f"/t/o/{found.group(1)}.gif"


def _mail(
    slug: str = "news", *, links: bool = True, track_opens: bool = True, track_clicks: bool = True
) -> Mailed:
    with unit_of_work() as session:
        people = add_subscribers(session, add_list(session, slug), 2, prefix=slug)
        post = add_post(session)
        post.url = f"http://testserver/posts/{slug}"
        post.body = BODY if links else "No links here."
        post.media = [{"label": "Recording", "url": RECORDING, "language": "en"}] if links else []
        campaign = create_campaign(
            session, kind="announcement", list_slugs=[slug], post_ids=[post.id]
        )
        campaign.track_opens, campaign.track_clicks = track_opens, track_clicks
        languages = [person.language for person in people]
        campaign.compiled = compile_campaign(session, campaign, languages, get_settings())
        sent = [_delivery(session, campaign.id, person.id) for person in people]
        emails = CampaignEmails(
            campaign.id, campaign.compiled, campaign_list_ids(session, campaign.id), get_settings()
        )
        messages = [
            emails.message_for(
                ClaimedDelivery(row.id, p.id, p.email, p.name, p.language), attempt_id="a1"
            )
            for row, p in zip(sent, people, strict=True)
        ]
        return Mailed(campaign.id, [row.id for row in sent], messages)


def _delivery(session: Session, campaign_id: int, subscriber_id: int) -> Delivery:
    row = Delivery(
        campaign_id=campaign_id,
        subscriber_id=subscriber_id,
        status="sent",
        sent_at=utcnow() - timedelta(hours=1),
    )
    session.add(row)
    session.flush()
    return row


def _events() -> list[DeliveryEvent]:
    with unit_of_work() as session:
        return list(session.scalars(select(DeliveryEvent).order_by(DeliveryEvent.id)))


def _delivery_row(delivery_id: int) -> Delivery:
    with unit_of_work() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row


def test_a_click_is_recorded_and_redirected_to_the_url_in_that_email(client: TestClient) -> None:
    mailed = _mail()
    first = client.get(mailed.clicks()[0], follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (302, PROGRAMME)
    [event] = _events()
    assert (event.source, event.type, event.machine) == ("herald", "clicked", False)
    assert (event.delivery_id, event.campaign_id) == (mailed.delivery_ids[0], mailed.campaign_id)
    assert event.details == {"url": PROGRAMME, "link": 0, "user_agent": BROWSER}
    assert _delivery_row(mailed.delivery_ids[0]).clicked_at == event.occurred_at
    assert _delivery_row(mailed.delivery_ids[0]).opened_at is None

    targets = {
        client.get(url, follow_redirects=False).headers["location"] for url in mailed.clicks(1)
    }
    assert targets == {PROGRAMME, RECORDING, "http://testserver/posts/news"}


def test_the_same_link_numbers_serve_every_language(db: str) -> None:
    mailed = _mail()
    languages = [message.html.split('lang="', 1)[1][:2] for message in mailed.messages]
    assert languages == ["en", "uk"]
    numbers = [
        [read_click_token(url.rsplit("/", 1)[1])[1] for url in mailed.clicks(index)]
        for index in (0, 1)
    ]
    assert numbers[0] == numbers[1]


def test_forged_moved_or_foreign_click_tokens_redirect_nowhere(client: TestClient) -> None:
    news, events = _mail("news"), _mail("events", links=False)
    token = news.clicks()[0].rsplit("/", 1)[1]
    signature = token.split(".")[1]
    moved = make_token("click", [news.delivery_ids[1], 0]).split(".")[0] + "." + signature
    refused = [
        moved,
        token[:-3] + "abc",
        make_token("click", [news.delivery_ids[0], 99]),  # no such link in that email
        make_token("click", [events.delivery_ids[0], 2]),  # link 2 exists in news, not here
        make_token("click", [10**9, 0]),
        make_token("open", news.delivery_ids[0]),
    ]
    for bad in refused:
        response = client.get(f"/t/c/{bad}", follow_redirects=False)
        assert response.status_code == 400 and "location" not in response.headers
        assert "This link is not valid" in response.text
    assert _events() == []
    own = client.get(events.clicks()[0], follow_redirects=False)
    assert own.headers["location"] == "http://testserver/posts/events"


def test_the_pixel_is_always_a_gif_and_only_a_valid_token_records(client: TestClient) -> None:
    mailed = _mail()
    token = mailed.pixel().removeprefix("/t/o/").removesuffix(".gif")
    other = make_token("open", mailed.delivery_ids[1]).split(".")[0]
    refused = [
        "garbage",
        f"{other}.{token.split('.')[1]}",  # moved to another delivery
        mailed.clicks()[0].rsplit("/")[-1],
        make_token("open", 10**9),  # no such delivery
    ]
    for bad in refused:
        response = client.get(f"/t/o/{bad}.gif")
        assert response.status_code == 200 and response.content == PIXEL_GIF
    assert _events() == []

    response = client.get(mailed.pixel())
    assert (response.status_code, response.content) == (200, PIXEL_GIF)
    assert response.headers["content-type"] == "image/gif"
    assert "no-store" in response.headers["cache-control"]
    [event] = _events()
    assert (event.type, event.machine, event.details) == ("opened", False, {"user_agent": BROWSER})
    assert _delivery_row(mailed.delivery_ids[0]).opened_at == event.occurred_at
    assert _delivery_row(mailed.delivery_ids[1]).opened_at is None

    assert client.head(mailed.pixel()).status_code == 200
    assert [(e.machine, e.details.get("machine_reason")) for e in _events()] == [
        (False, None),
        (True, "HEAD request"),
    ]


def test_machine_opens_and_clicks_are_kept_apart(db: str) -> None:
    mailed = _mail()
    first, second = mailed.delivery_ids
    sent = _delivery_row(first).sent_at
    assert sent is not None
    with unit_of_work() as session:
        assert not record_open(session, first, Hit(sent + timedelta(seconds=1), user_agent=BROWSER))
        assert not record_open(session, first, Hit(AT, user_agent="Mozilla/5.0"))
        proxy = Hit(utcnow(), user_agent="Mozilla/5.0 (compatible; GoogleImageProxy)")
        assert record_open(session, second, proxy)
        scanner = Hit(utcnow(), user_agent="Mimecast URL Protect")
        assert record_click(session, first, 0, scanner) == PROGRAMME
    assert _delivery_row(first).opened_at is None
    assert _delivery_row(first).clicked_at is None
    assert _delivery_row(second).opened_at == proxy.at
    by_kind = {(e.delivery_id, e.type, e.machine): e.details for e in _events()}
    assert by_kind[(second, "opened", False)]["proxy"] == "gmail"
    assert by_kind[(first, "clicked", True)]["machine_reason"] == "scanner (mimecast)"
    assert len(by_kind) == 3


def test_a_burst_across_links_is_a_machine_a_double_click_a_person(db: str) -> None:
    mailed = _mail()
    scanned, person = mailed.delivery_ids
    at = (utcnow() + timedelta(minutes=1)).replace(second=10, microsecond=0)
    with unit_of_work() as session:
        for delivery_id, link in ((scanned, 0), (scanned, 1), (person, 0), (person, 0)):
            record_click(session, delivery_id, link, Hit(at, user_agent=BROWSER))
            at += timedelta(milliseconds=500)
    assert _delivery_row(scanned).clicked_at is None
    assert _delivery_row(person).clicked_at is not None
    flags = [(e.delivery_id, e.machine) for e in _events()]
    assert flags == [(scanned, True), (scanned, True), (person, False)]  # reload: one event


def test_no_tracking_when_the_campaign_turns_it_off(db: str) -> None:
    untracked = _mail("news", track_opens=False, track_clicks=False)
    message = untracked.messages[0]
    assert "/t/o/" not in message.html and "/t/c/" not in message.html
    hrefs = {html.unescape(href) for href in HREF.findall(message.html)}
    assert {PROGRAMME, RECORDING, "http://testserver/posts/news"} <= hrefs
    with unit_of_work() as session:
        campaign = session.get(Campaign, untracked.campaign_id)
        assert campaign is not None and campaign.compiled is not None
        assert campaign.compiled["links"] == []

    opens_only = _mail("events", track_clicks=False)
    assert opens_only.pixel() and not opens_only.clicks()
    clicks_only = _mail("digest", track_opens=False)
    assert clicks_only.clicks() and "/t/o/" not in clicks_only.messages[0].html


def test_turning_tracking_off_after_the_send_stops_recording(client: TestClient) -> None:
    mailed = _mail()
    with unit_of_work() as session:
        campaign = session.get(Campaign, mailed.campaign_id)
        assert campaign is not None
        campaign.track_opens = campaign.track_clicks = False
    assert client.get(mailed.pixel()).content == PIXEL_GIF
    redirect = client.get(mailed.clicks()[0], follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (302, PROGRAMME)
    assert _events() == []
    assert _delivery_row(mailed.delivery_ids[0]).opened_at is None


def test_unsubscribe_and_preferences_links_are_never_rewritten(client: TestClient) -> None:
    message = _mail().messages[0]
    hrefs = HREF.findall(message.html)
    unsubscribe = [href for href in hrefs if href.startswith("http://testserver/unsubscribe/")]
    preferences = [href for href in hrefs if href.startswith("http://testserver/preferences/")]
    assert len(unsubscribe) == len(preferences) == 1
    assert message.headers["List-Unsubscribe"] == f"<{unsubscribe[0]}>"
    assert unsubscribe[0] in message.text
    assert client.get(unsubscribe[0].removeprefix("http://testserver")).status_code == 200


def test_tracking_keeps_the_per_recipient_cost_small(db: str) -> None:
    mailed = _mail()
    with unit_of_work() as session:
        campaign = session.get(Campaign, mailed.campaign_id)
        assert campaign is not None and campaign.compiled is not None
        emails = CampaignEmails(campaign.id, campaign.compiled, (1,), get_settings())
    people = [ClaimedDelivery(n, n, f"r{n}@example.org", f"Reader {n}", "en") for n in range(500)]
    started = time.perf_counter()
    for person in people:
        emails.message_for(person, attempt_id="a1")
    assert (time.perf_counter() - started) / len(people) < 0.002
