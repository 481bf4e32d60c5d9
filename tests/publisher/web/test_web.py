"""The web app through its HTTP interface, on SQLite and PostgreSQL.

Public pages (unsubscribe, preferences, posts), the admin pages and JSON API with their
authentication, the health check and the OpenAPI documents. Every outcome is read back from
the database or the served page.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import httpx
import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from core.database import unit_of_work
from core.tokens import make_token
from publisher.sending.models import Delivery
from subscribers.models import Subscription
from subscribers.unsubscribe import unsubscribe_token
from tests.fixtures.factories import (
    add_announcement,
    add_list,
    add_post,
    add_subscribers,
    subscribe,
)

ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}
DELIVERY_MIX = {"sent": 3, "failed": 2, "unknown": 1, "skipped": 1, "queued": 1}


@dataclass(frozen=True)
class Reader:
    """A confirmed subscriber on two lists, and the campaign that mailed them from one."""

    subscriber_id: int
    email: str
    news_id: int
    events_id: int
    campaign_id: int

    def token(self) -> str:
        """The unsubscribe token of the email sent to the news list."""
        return unsubscribe_token(self.subscriber_id, (self.news_id,), self.campaign_id)


@pytest.fixture
def reader(db: str) -> Reader:
    """A subscriber confirmed on "news" (the email's list) and "events" (another list)."""
    with unit_of_work() as session:
        news, events = add_list(session, "news"), add_list(session, "events")
        person = add_subscribers(session, news, 1)[0]
        subscribe(session, person, events)
        campaign = add_announcement(session, "news")
        return Reader(person.id, person.email, news.id, events.id, campaign.id)


def _subscriptions() -> list[tuple[object, ...]]:
    """Every subscription row, in a stable order, for before/after comparisons."""
    with unit_of_work() as session:
        rows = session.scalars(
            select(Subscription).order_by(Subscription.subscriber_id, Subscription.list_id)
        )
        return [
            (s.subscriber_id, s.list_id, s.status, s.unsubscribed_at, s.unsubscribed_via)
            for s in rows
        ]


def _subscription(subscriber_id: int, list_id: int) -> Subscription:
    with unit_of_work() as session:
        found = session.get(Subscription, (subscriber_id, list_id))
        assert found is not None
        return found


def _one_click(client: TestClient, token: str) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/unsubscribe/{token}",
        content="List-Unsubscribe=One-Click",
        headers=ONE_CLICK,
        follow_redirects=False,
    )
    return response


class _Cells(HTMLParser):
    """Collects the ``data-count`` cells of each ``data-campaign-id`` row of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, dict[str, str]] = {}
        self.row: str | None = None
        self.cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        row, cell = found.get("data-campaign-id"), found.get("data-count")
        if tag == "tr" and row:
            self.row, self.rows[row] = row, {}
        elif tag == "td" and self.row and cell:
            self.cell, self.rows[self.row][cell] = cell, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.cell = None
        elif tag == "tr":
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.row and self.cell:
            self.rows[self.row][self.cell] += data.strip()


def _count_cells(html: str) -> dict[str, dict[str, str]]:
    parser = _Cells()
    parser.feed(html)
    return parser.rows


# Health and documentation


def test_health_check_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


def test_docs_and_openapi_describe_the_public_paths(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/unsubscribe/{token}"])
    assert "/healthz" in paths


# Unsubscribe


def test_unsubscribe_page_shows_a_button_and_changes_nothing(
    client: TestClient, reader: Reader
) -> None:
    before = _subscriptions()
    response = client.get(f"/unsubscribe/{reader.token()}")
    assert response.status_code == 200
    assert reader.email in response.text
    assert "<button" in response.text
    assert f'action="/unsubscribe/{reader.token()}"' in response.text
    assert _subscriptions() == before
    assert _subscription(reader.subscriber_id, reader.news_id).status == "confirmed"


def test_one_click_unsubscribes_from_the_emails_lists_only(
    client: TestClient, reader: Reader
) -> None:
    response = _one_click(client, reader.token())
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    left = _subscription(reader.subscriber_id, reader.news_id)
    assert left.status == "unsubscribed"
    assert left.unsubscribed_at is not None
    assert f"campaign:{reader.campaign_id}" in left.unsubscribed_via
    assert _subscription(reader.subscriber_id, reader.events_id).status == "confirmed"


def test_one_click_twice_is_idempotent(client: TestClient, reader: Reader) -> None:
    _one_click(client, reader.token())
    first = _subscription(reader.subscriber_id, reader.news_id)
    again = _one_click(client, reader.token())
    assert again.status_code == 200
    second = _subscription(reader.subscriber_id, reader.news_id)
    assert second.status == "unsubscribed"
    assert second.unsubscribed_at == first.unsubscribed_at
    assert _subscription(reader.subscriber_id, reader.events_id).status == "confirmed"


def _flip(token: str, position: int) -> str:
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


def _forged_tokens(reader: Reader) -> dict[str, str]:
    """Tokens that must never be honoured, by what is wrong with them."""
    value = [reader.subscriber_id, [reader.news_id], reader.campaign_id]
    genuine = reader.token()
    payload_end = genuine.index(".")
    other_secret = URLSafeSerializer(
        "another-secret", salt="herald.unsubscribe", signer_kwargs={"digest_method": hashlib.sha256}
    )
    return {
        "signature altered": _flip(genuine, len(genuine) - 10),
        "payload altered": _flip(genuine, payload_end - 3),
        "other secret": str(other_secret.dumps(value)),
        "other purpose": make_token("preferences", value),
        "unknown subscriber": unsubscribe_token(10**6, (reader.news_id,), None),
        "malformed value": make_token("unsubscribe", ["x", "y", "z"]),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("method", ["get", "post"])
def test_forged_unsubscribe_tokens_are_refused(
    client: TestClient, reader: Reader, method: str
) -> None:
    before = _subscriptions()
    for problem, token in _forged_tokens(reader).items():
        response = client.request(
            method,
            f"/unsubscribe/{token}",
            content="List-Unsubscribe=One-Click",
            headers=ONE_CLICK,
            follow_redirects=False,
        )
        assert response.status_code == 400, problem
        assert "not valid" in response.text, problem
    assert _subscriptions() == before


# Preferences


def test_preferences_list_each_list_with_its_status(client: TestClient, reader: Reader) -> None:
    _one_click(client, unsubscribe_token(reader.subscriber_id, (reader.events_id,), None))
    response = client.get(f"/preferences/{reader.token()}")
    assert response.status_code == 200
    assert reader.email in response.text
    for name, status in (("News", "confirmed"), ("Events", "unsubscribed")):
        pill = rf'<span>{name}</span>\s*<span class="pill" data-status="{status}">'
        assert re.search(pill, response.text), (name, status)


def test_forged_preferences_tokens_are_refused(client: TestClient, reader: Reader) -> None:
    for problem, token in _forged_tokens(reader).items():
        response = client.get(f"/preferences/{token}")
        assert response.status_code == 400, problem
        assert "not valid" in response.text, problem


# Posts


def test_a_published_post_is_shown(client: TestClient) -> None:
    with unit_of_work() as session:
        post = add_post(session)
    response = client.get(f"/posts/{post.slug}")
    assert response.status_code == 200
    assert post.title in response.text
    assert "Reconstruction needs private capital" in response.text
    assert "<li>Energy</li>" in response.text


def test_unknown_and_unpublished_posts_are_not_found(client: TestClient) -> None:
    with unit_of_work() as session:
        draft = add_post(session)
        draft.slug, draft.status = "draft-post", "draft"
    assert client.get("/posts/no-such-post").status_code == 404
    assert client.get("/posts/draft-post").status_code == 404


def test_a_post_body_cannot_run_script(client: TestClient) -> None:
    with unit_of_work() as session:
        post = add_post(session)
        post.slug = "unsafe"
        post.body = (
            "<script>alert(1)</script>\n\n[x](javascript:alert(1)) and [ok](https://example.org)"
        )
    response = client.get("/posts/unsafe")
    assert response.status_code == 200
    page = response.text.lower()
    assert "<script" not in page
    assert not re.search(r"(href|src)\s*=\s*[\"']?\s*javascript:", page)
    assert 'href="https://example.org"' in page  # the sanitiser kept the safe link


# Admin


def _campaign_with_deliveries(subject: str = "") -> int:
    """A campaign mid-send with deliveries in the statuses of ``DELIVERY_MIX``."""
    with unit_of_work() as session:
        news = add_list(session, "news")
        people = iter(add_subscribers(session, news, sum(DELIVERY_MIX.values())))
        campaign = add_announcement(session, "news", subject=subject)
        campaign.status, campaign.total = "sending", sum(DELIVERY_MIX.values())
        for status, count in DELIVERY_MIX.items():
            for _ in range(count):
                person = next(people)
                session.add(
                    Delivery(campaign_id=campaign.id, subscriber_id=person.id, status=status)
                )
        return campaign.id


def test_admin_page_lists_campaigns_with_their_counts(admin: TestClient) -> None:
    campaign_id = _campaign_with_deliveries(subject="Forum «Відбудова» — report")
    response = admin.get("/admin")
    assert response.status_code == 200
    assert "Forum «Відбудова» — report" in response.text
    cells = _count_cells(response.text)[str(campaign_id)]
    assert cells["sent"] == "3"
    assert cells["failed"] == "2"
    assert cells["unknown"] == "1"
    assert cells["skipped"] == "1"
    assert cells["total"] == "8"


def test_campaigns_api_gives_the_same_counts(admin: TestClient) -> None:
    campaign_id = _campaign_with_deliveries()
    listed = {item["id"]: item for item in admin.get("/api/campaigns").json()}
    one = admin.get(f"/api/campaigns/{campaign_id}").json()
    for campaign in (listed[campaign_id], one):
        counts = {status: campaign[status] for status in DELIVERY_MIX}
        assert counts == DELIVERY_MIX
        assert (campaign["status"], campaign["total"], campaign["sending"]) == ("sending", 8, 0)


def test_unknown_campaign_is_not_found(admin: TestClient) -> None:
    assert admin.get("/api/campaigns/999999").status_code == 404


def test_admin_subject_is_escaped(admin: TestClient) -> None:
    _campaign_with_deliveries(subject="<img src=x onerror=alert(1)>")
    response = admin.get("/admin")
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text
    assert "<img" not in response.text
