"""Rotating the secret key: links already sent keep working while the old key is a fallback.

A real campaign email is sent under key A; after the rotation to key B its one-click
unsubscribe link works through the web app while A is in ``secret_key_fallbacks``, and is
refused without it. New tokens of each kind (plain, expiring, id) are signed with B alone.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.database import unit_of_work
from core.settings import get_settings
from core.tokens import InvalidToken, make_id_token, make_token, read_id_token, read_token
from publisher.campaigns.service import start_sending
from subscribers.models import Subscription
from tests.conftest import use_settings
from tests.fixtures.factories import add_announcement, add_list, add_subscribers
from tests.fixtures.mailroom import Mailroom

KEY_A = "a" * 16 + "-the-key-the-email-was-signed-with"
KEY_B = "b" * 16 + "-the-key-after-the-rotation"
ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


def _sent_unsubscribe_link(mailroom: Mailroom) -> tuple[str, int]:
    """Send a campaign to one subscriber; the path of its List-Unsubscribe link, and who."""
    with unit_of_work() as session:
        news = add_list(session, "news")
        (person,) = add_subscribers(session, news, 1)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    mailroom.run()
    (path,) = (get_settings().outbox_dir / f"campaign-{campaign.id}").glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    links = [part.strip(" <>") for part in str(message["List-Unsubscribe"]).split(",")]
    https = next(link for link in links if "/unsubscribe/" in link)
    return https.replace("http://testserver", ""), person.id


def _status(subscriber_id: int) -> str:
    with unit_of_work() as session:
        return session.scalars(
            select(Subscription.status).where(Subscription.subscriber_id == subscriber_id)
        ).one()


def test_an_old_unsubscribe_link_works_after_a_rotation_with_the_old_key_as_fallback(
    client: TestClient, mailroom: Mailroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, secret_key=KEY_A)
    link, subscriber_id = _sent_unsubscribe_link(mailroom)

    use_settings(monkeypatch, secret_key=KEY_B, secret_key_fallbacks="")
    refused = client.post(link, content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
    assert refused.status_code == 400
    assert _status(subscriber_id) == "confirmed"

    use_settings(monkeypatch, secret_key=KEY_B, secret_key_fallbacks=f"{KEY_A}")
    left = client.post(link, content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
    assert left.status_code == 200 and "You are unsubscribed" in left.text
    assert _status(subscriber_id) == "unsubscribed"


def test_every_kind_of_token_verifies_with_a_fallback_and_is_signed_with_the_new_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_settings(monkeypatch, secret_key=KEY_A)
    old = (make_token("t", [1, 2]), make_token("t", "x", expiring=True), make_id_token("t", 7))

    use_settings(
        monkeypatch, secret_key=KEY_B, secret_key_fallbacks=f'["other-{KEY_A}", "{KEY_A}"]'
    )
    assert read_token("t", old[0]) == [1, 2]
    assert read_token("t", old[1], max_age_seconds=60) == "x"
    assert read_id_token("t", old[2], count=1) == (7,)
    new = (make_token("t", [1, 2]), make_token("t", "x", expiring=True), make_id_token("t", 7))
    assert set(new).isdisjoint(old)

    use_settings(monkeypatch, secret_key=KEY_B, secret_key_fallbacks="")
    assert read_token("t", new[0]) == [1, 2]
    assert read_token("t", new[1], max_age_seconds=60) == "x"
    assert read_id_token("t", new[2], count=1) == (7,)
    for reading in (
        lambda: read_token("t", old[0]),
        lambda: read_token("t", old[1], max_age_seconds=60),
        lambda: read_id_token("t", old[2], count=1),
    ):
        with pytest.raises(InvalidToken):
            reading()
