"""Seeing a campaign before (and after) it goes out: as one subscriber, a sample reader, or
nobody in particular (the public archive).

Previews are never tracked: links lead where they say and there is no open pixel. A preview
as a chosen subscriber carries their name and language but never their tokens: its
unsubscribe and preferences links are inert (an editor forwarding a preview, or a test send
to a colleague, must not hand over that person's permanent preference link). The archive's
neutral rendering carries no token of anyone either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.rendering.emails import CompiledEmail, Recipient, RecipientRenderer, RenderedEmail
from core.settings import Settings, get_settings
from publisher.campaigns.models import Campaign
from publisher.campaigns.queries import campaign_posts
from publisher.campaigns.service import CampaignError
from publisher.sending.deliveries import recipient_languages
from publisher.sending.messages import compile_campaign, language_subjects, post_versions
from subscribers.models import Subscriber

_PIXEL = re.compile(r'<img src="\{\{ open_url \}\}"[^>]*>')
SAMPLE_NAME = "Alex Reader"
INERT_PATH = "preview"
"""Stands where a recipient's token goes: no token verifies as it, so the links lead to the
"invalid link" page."""


@dataclass(frozen=True, slots=True)
class Preview:
    """One rendering of a campaign, and for whom and in which language it was made."""

    subject: str
    html: str
    text: str
    language: str
    recipient: str


def campaign_snapshot(
    session: Session, campaign: Campaign, languages: list[str], settings: Settings
) -> dict[str, Any]:
    """The stored snapshot of a campaign that went out, else a fresh untracked compilation."""
    if campaign.compiled is not None:
        return campaign.compiled
    return compile_campaign(session, campaign, languages, settings, tracked=False)


def untracked_renderer(snapshot: dict[str, Any], language: str) -> tuple[RecipientRenderer, str]:
    """A renderer of the snapshot's version for ``language`` (else its default language)
    without the open pixel, and the language chosen."""
    versions = snapshot["languages"]
    chosen = language if language in versions else snapshot["default_language"]
    data = dict(versions[chosen])
    data["html"] = _PIXEL.sub("", str(data["html"]))
    return RecipientRenderer(CompiledEmail.from_json(data)), chosen


def _original_links(snapshot: dict[str, Any], renderer: RecipientRenderer) -> dict[int, str]:
    urls: list[str] = snapshot.get("links", [])
    return {number: urls[number] for number in renderer.links if number < len(urls)}


def preview_campaign(
    session: Session,
    campaign: Campaign,
    *,
    email: str | None = None,
    language: str | None = None,
    settings: Settings | None = None,
) -> Preview:
    """The campaign as the subscriber with ``email`` would see it (their name and language,
    inert unsubscribe and preferences links), or as a sample reader in ``language`` (default:
    the campaign's)."""
    settings = settings or get_settings()
    base = settings.base_url.rstrip("/")
    subscriber = find_subscriber(session, email) if email else None
    wanted = subscriber.language if subscriber else (language or campaign.language)
    snapshot = campaign_snapshot(session, campaign, [wanted], settings)
    renderer, chosen = untracked_renderer(snapshot, wanted)
    recipient = Recipient(
        email=subscriber.email if subscriber else (email or "reader@example.com"),
        name=subscriber.name if subscriber else SAMPLE_NAME,
        unsubscribe_url=f"{base}/unsubscribe/{INERT_PATH}",
        preferences_url=f"{base}/preferences/{INERT_PATH}",
        click_urls=_original_links(snapshot, renderer),
    )
    return _preview(renderer.render(recipient), chosen, recipient.email)


def campaign_subjects(
    session: Session, campaign: Campaign, settings: Settings | None = None
) -> dict[str, str]:
    """The subject each language will get: the campaign's language, its recipients' and its
    posts' translations' (the stored snapshot's, once the campaign went out)."""
    settings = settings or get_settings()
    if campaign.compiled is not None:
        versions = campaign.compiled["languages"]
        return {language: str(data["subject"]) for language, data in sorted(versions.items())}
    versions = post_versions(session, campaign_posts(session, campaign.id))
    languages = {*recipient_languages(session, campaign.id), *(code for _, code in versions)}
    return language_subjects(session, campaign, languages, settings)


def neutral_rendering(
    snapshot: dict[str, Any], language: str, *, audience: str, home_url: str
) -> Preview:
    """The snapshot for nobody in particular: no name, no token, no pixel, original links;
    the footer's links lead to ``home_url`` and it says it went to ``audience``."""
    renderer, chosen = untracked_renderer(snapshot, language)
    rendered = renderer.render(
        Recipient(
            email=audience,
            name="",
            unsubscribe_url=home_url,
            preferences_url=home_url,
            click_urls=_original_links(snapshot, renderer),
        )
    )
    return _preview(rendered, chosen, audience)


def _preview(rendered: RenderedEmail, language: str, recipient: str) -> Preview:
    return Preview(rendered.subject, rendered.html, rendered.text, language, recipient)


def find_subscriber(session: Session, email: str) -> Subscriber:
    """The subscriber with this address, or :class:`CampaignError`."""
    subscriber = session.scalars(
        select(Subscriber).where(Subscriber.email == email.strip().lower())
    ).first()
    if subscriber is None:
        raise CampaignError(f"no subscriber {email.strip()!r}")
    return subscriber
