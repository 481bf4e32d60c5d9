"""Previews never carry a real subscriber's tokens: as a chosen subscriber, the web preview,
the CLI preview, the API and a test send show their name and language, but no unsubscribe or
preferences token verifies and no link is tracked. And the editor's subject reaches every
language, as the preview and the campaign page show."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.database import unit_of_work
from core.settings import get_settings
from core.tokens import InvalidToken
from publisher.campaigns.preview import preview_campaign
from publisher.campaigns.proofs import proof_messages
from publisher.campaigns.queries import campaign_list_ids
from publisher.campaigns.service import create_campaign
from publisher.cli.main import app as cli_app
from publisher.sending.messages import compile_campaign
from publisher.web.app import create_app
from subscribers.unsubscribe import read_unsubscribe_token, unsubscribe_token
from tests.fixtures.factories import add_announcement, add_list, add_post, add_subscribers, log_in

# Anything shaped like a signed token (payload.signature) or a link's last path segment.
_CANDIDATES = re.compile(
    r"[A-Za-z0-9_\-]{6,}(?:\.[A-Za-z0-9_\-]{6,})+|/(?:unsubscribe|preferences)/([^\s\"'<>?#&]+)"
)


def _verifying_tokens(text: str) -> list[str]:
    found = []
    for match in _CANDIDATES.finditer(text):
        candidate = match[1] or match[0]
        try:
            read_unsubscribe_token(candidate)
        except (InvalidToken, ValueError):
            continue
        found.append(candidate)
    return found


def test_a_real_token_is_found_by_the_probe() -> None:
    # The probe itself can fail: a sent message's footer link verifies.
    token = unsubscribe_token(7, (1,), 3)
    text = f'<a href="https://h.example/unsubscribe/{token}">Unsubscribe</a>'
    assert _verifying_tokens(text) == [token]


def test_no_preview_as_a_subscriber_carries_a_token_that_verifies(db: str) -> None:
    with unit_of_work() as session:
        people = add_subscribers(session, add_list(session), 2)
        campaign = add_announcement(session, "news")
        campaign_id, person_email = campaign.id, people[1].email
        real = unsubscribe_token(people[1].id, campaign_list_ids(session, campaign.id), campaign.id)
        service = preview_campaign(session, campaign, email=person_email)
        proof = proof_messages(session, campaign, [person_email], get_settings())[0]
    client = TestClient(create_app())
    log_in(client)
    query = {"email": person_email}
    shown = {
        "service": service.html + service.text,
        "proof": proof.html + proof.text,
        "page html": client.get(f"/admin/campaigns/{campaign_id}/preview.html", params=query).text,
        "page text": client.get(f"/admin/campaigns/{campaign_id}/preview.txt", params=query).text,
        "api": client.get(f"/api/campaigns/{campaign_id}/preview", params=query).text,
        "cli html": CliRunner()
        .invoke(cli_app, ["campaigns", "preview", str(campaign_id), "--email", person_email])
        .output,
        "cli text": CliRunner()
        .invoke(
            cli_app, ["campaigns", "preview", str(campaign_id), "--email", person_email, "--text"]
        )
        .output,
    }
    for where, text in shown.items():
        assert "Мар" in text, where  # their name: it is their preview
        assert real not in text, where
        assert _verifying_tokens(text) == [], where
        assert "/t/" not in text, where  # no tracked link, no pixel


def test_the_editors_subject_reaches_every_language(db: str) -> None:
    with unit_of_work() as session:
        people = add_subscribers(session, add_list(session), 3)  # en, uk, ja
        original = add_post(session, "Ukraine–Japan Forum")
        translation = add_post(session, "Форум Україна–Японія: відбудова та безпека")
        translation.language, translation.translation_of_id = "uk", original.id
        translation.slug = "forum-uk"
        campaign = create_campaign(
            session,
            kind="announcement",
            list_slugs=["news"],
            post_ids=[original.id],
            subject="Forum in Kyiv: register now",
        )
        snapshot = compile_campaign(session, campaign, ["uk", "ja"], get_settings())
        ukrainian = preview_campaign(session, campaign, email=people[1].email)
        campaign_id = campaign.id
    subjects = {language: data["subject"] for language, data in snapshot["languages"].items()}
    assert subjects == dict.fromkeys(("en", "ja", "uk"), "Forum in Kyiv: register now")
    assert ukrainian.subject == "Forum in Kyiv: register now"
    assert "Форум Україна–Японія" in ukrainian.html  # the content is still translated
    client = TestClient(create_app())
    log_in(client)
    api = client.get(f"/api/campaigns/{campaign_id}/preview", params={"lang": "uk"}).json()
    assert api["subjects"] == dict.fromkeys(("en", "ja", "uk"), "Forum in Kyiv: register now")
    page = client.get(f"/admin/campaigns/{campaign_id}").text
    assert '<tr data-language="uk"><td>uk</td><td>Forum in Kyiv: register now</td></tr>' in page


def test_a_subject_that_is_the_title_follows_the_translation(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        original = add_post(session, "Ukraine–Japan Forum")
        translation = add_post(session, "Форум Україна–Японія")
        translation.language, translation.translation_of_id = "uk", original.id
        translation.slug = "forum-uk"
        campaign = create_campaign(
            session,
            kind="announcement",
            list_slugs=["news"],
            post_ids=[original.id],
            subject=original.title,  # as an auto-announcement sets it
        )
        snapshot = compile_campaign(session, campaign, ["uk"], get_settings())
    assert snapshot["languages"]["uk"]["subject"] == "Форум Україна–Японія"
    assert snapshot["languages"]["en"]["subject"] == "Ukraine–Japan Forum"
