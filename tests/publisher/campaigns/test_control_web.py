"""Campaign control and progress through the JSON API and the admin page: who may, CSRF and
the origin checks, and what the page shows.

Every test here records its tasks instead of sending them to a broker.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from core.database import unit_of_work, utcnow
from publisher.accounts.tokens import create_api_token
from publisher.sending.models import Delivery
from publisher.web.app import create_app
from tests.conftest import use_settings
from tests.fixtures.campaigns import (
    ALLOWED,
    MIX,
    PROGRESS_FIELDS,
    Dispatched,
    add_campaign,
    stored,
)
from tests.fixtures.factories import add_user, counts_by_status, log_in

OWN = {"Origin": "http://testserver"}
FOREIGN = {"Origin": "https://evil.example"}

pytestmark = pytest.mark.usefixtures("dispatched")


# The JSON API


@pytest.mark.parametrize(("action", "before"), sorted(ALLOWED))
def test_api_controls_answer_with_the_progress(admin: TestClient, action: str, before: str) -> None:
    campaign_id = add_campaign(before, {"queued": 2, "sent": 1})
    answer = admin.post(f"/api/campaigns/{campaign_id}/{action}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == PROGRESS_FIELDS
    assert body["status"] == stored(campaign_id).status == ALLOWED[action, before]
    assert body["cancelled"] == (2 if action == "cancel" else 0)
    assert admin.get(f"/api/campaigns/{campaign_id}").json()["status"] == body["status"]


def test_api_refuses_with_409_and_404(admin: TestClient) -> None:
    campaign_id = add_campaign("sent")
    refused = admin.post(f"/api/campaigns/{campaign_id}/resume")
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": f"campaign {campaign_id} is sent; only a paused campaign can be resumed"
    }
    assert admin.post("/api/campaigns/424242/pause").status_code == 404
    assert admin.post(f"/api/campaigns/{campaign_id}/restart").status_code == 422
    assert stored(campaign_id).status == "sent"


def test_api_progress_of_one_campaign(admin: TestClient) -> None:
    campaign_id = add_campaign("sending", {"sent": 3, "queued": 3})
    with unit_of_work() as session:
        session.execute(update(Delivery).where(Delivery.status == "sent").values(sent_at=utcnow()))
    body = admin.get(f"/api/campaigns/{campaign_id}").json()
    assert set(body) == PROGRESS_FIELDS
    assert (body["rate_per_s"], body["eta_seconds"], body["percent_done"]) == (0.05, 60, 50.0)


def test_api_controls_need_a_login_or_a_token(dispatched: Dispatched) -> None:
    client = TestClient(create_app())
    campaign_id = add_campaign("sending")
    for headers in ({}, {"Authorization": "Bearer hrld_forged"}):
        assert (
            client.post(f"/api/campaigns/{campaign_id}/pause", headers=headers).status_code == 401
        )
    page_form = client.post(f"/admin/campaigns/{campaign_id}/pause", headers=OWN)
    assert page_form.status_code == 401
    assert stored(campaign_id).status == "sending"
    with unit_of_work() as session:
        admin = add_user(session)
        token = create_api_token(session, admin, name="script")
    answer = client.post(
        f"/api/campaigns/{campaign_id}/pause", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert stored(campaign_id).status == "paused"


def test_an_editor_cannot_control_campaigns(dispatched: Dispatched) -> None:
    client = TestClient(create_app())
    csrf = log_in(client, "editor@example.com", role="editor")
    campaign_id = add_campaign("sending")
    answer = client.post(f"/api/campaigns/{campaign_id}/cancel", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 403
    assert stored(campaign_id).status == "sending"


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"], ids=["absent", "empty", "wrong"])
def test_cookie_requests_without_the_csrf_token_change_nothing(
    admin: TestClient, csrf: str | None
) -> None:
    campaign_id = add_campaign("sending", {"queued": 2})
    del admin.headers["X-CSRF-Token"]
    form = {} if csrf is None else {"csrf_token": csrf}
    url = f"/admin/campaigns/{campaign_id}/cancel"
    assert admin.post(url, data=form, headers=OWN, follow_redirects=False).status_code == 403
    headers = {} if csrf is None else {"X-CSRF-Token": csrf}
    assert admin.post(f"/api/campaigns/{campaign_id}/cancel", headers=headers).status_code == 403
    assert stored(campaign_id).status == "sending"
    assert counts_by_status(campaign_id) == {"queued": 2}


def test_the_page_form_carries_the_csrf_token(admin: TestClient) -> None:
    campaign_id = add_campaign("sending", {"queued": 1})
    csrf = admin.headers.pop("X-CSRF-Token")
    page = admin.get("/admin").text
    assert f'name="csrf_token" value="{csrf}"' in page
    answer = post_form(admin, campaign_id, "pause", OWN, data={"csrf_token": csrf})
    assert answer.status_code == 303
    assert stored(campaign_id).status == "paused"


def test_api_refuses_calls_from_another_sites_page(admin: TestClient) -> None:
    campaign_id = add_campaign("sending")
    answer = admin.post(f"/api/campaigns/{campaign_id}/cancel", headers=FOREIGN)
    assert answer.status_code == 403
    assert stored(campaign_id).status == "sending"


# The admin page


def post_form(
    client: TestClient,
    campaign_id: int,
    action: str,
    headers: dict[str, str],
    data: dict[str, str] | None = None,
) -> Any:
    """Press a control button of the admin page (the POST only, not the redirect after)."""
    url = f"/admin/campaigns/{campaign_id}/{action}"
    return client.post(url, headers=headers, data=data, follow_redirects=False)


def visible_controls(html: str, campaign_id: int) -> set[str]:
    """The control buttons shown (forms not hidden) in the campaign's row."""
    row = re.search(rf'<tr data-campaign-id="{campaign_id}".*?</tr>', html, re.S)
    assert row is not None
    forms = re.findall(r'<form method="post"[^>]*data-action="(\w+)"[^>]*>', row.group(0))
    hidden = re.findall(r'<form method="post"[^>]*data-action="(\w+)"[^>]* hidden>', row.group(0))
    return set(forms) - set(hidden)


def test_admin_page_shows_progress_and_only_the_allowed_controls(admin: TestClient) -> None:
    sending_id = add_campaign("sending", MIX)
    with unit_of_work() as session:  # six sent just now: 0.1 per second
        session.execute(update(Delivery).values(sent_at=utcnow()).where(Delivery.status == "sent"))
    paused_id = add_campaign("paused", {"queued": 1}, error="paused after 10 failed batches: 503")
    sent_id = add_campaign("sent", {"sent": 1})
    page = admin.get("/admin").text
    row = re.search(rf'<tr data-campaign-id="{sending_id}".*?</tr>', page, re.S)
    assert row is not None
    assert '<progress max="100" value="55"' in row.group(0)
    assert 'aria-label="Progress of campaign #' in row.group(0)
    assert '<span data-field="sent-of-total">6/20</span>' in row.group(0)
    assert '<span data-field="rate">0.1</span> messages/s' in row.group(0)
    assert '<span data-field="eta">2 min</span>' in row.group(0)  # 9 left at 0.1/s: 90 s
    assert "paused after 10 failed batches: 503" in page
    assert visible_controls(page, sending_id) == {"pause", "cancel"}
    assert visible_controls(page, paused_id) == {"resume", "cancel"}
    assert visible_controls(page, sent_id) == set()
    assert 'data-confirm="Cancel campaign' in page


def test_admin_buttons_post_and_come_back_to_the_page(admin: TestClient) -> None:
    campaign_id = add_campaign("sending", {"queued": 1})
    answer = post_form(admin, campaign_id, "pause", OWN)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin?")
    assert stored(campaign_id).status == "paused"
    page = admin.get(answer.headers["location"]).text
    assert f"Campaign #{campaign_id} paused." in page
    again = admin.post(f"/admin/campaigns/{campaign_id}/pause", headers=OWN)
    assert f"Campaign #{campaign_id} could not be paused: it is paused." in again.text
    assert admin.post("/admin/campaigns/424242/pause", headers=OWN).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        FOREIGN,
        {"Origin": "null"},
        {"Referer": "https://evil.example/admin"},
        {"Origin": "http://testserver.evil.example"},
    ],
    ids=["foreign origin", "null origin", "foreign referer", "look-alike origin"],
)
def test_admin_forms_refuse_cross_site_posts(admin: TestClient, headers: dict[str, str]) -> None:
    campaign_id = add_campaign("sending", {"queued": 2})
    assert post_form(admin, campaign_id, "cancel", headers).status_code == 403
    assert stored(campaign_id).status == "sending"
    assert counts_by_status(campaign_id) == {"queued": 2}


def test_admin_forms_accept_the_configured_base_url_and_own_referer(
    dispatched: Dispatched, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, base_url="https://news.example.org")
    client = TestClient(create_app(), base_url="https://testserver")  # the cookie is Secure
    client.headers["X-CSRF-Token"] = log_in(client)
    first, second = add_campaign("sending"), add_campaign("sending")
    behind_proxy = {"Origin": "https://news.example.org"}
    assert post_form(client, first, "pause", behind_proxy).status_code == 303
    own_referer = {"Referer": "https://testserver/admin"}
    assert post_form(client, second, "pause", own_referer).status_code == 303
    assert (stored(first).status, stored(second).status) == ("paused", "paused")
