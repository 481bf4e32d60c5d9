"""Seeing a campaign before (and after) it goes out: as one subscriber, a sample reader, or
nobody in particular (the public archive).

Previews are never tracked: links lead where they say and there is no open pixel. A preview
as a chosen subscriber carries their name, language and real unsubscribe and preferences
links; the archive's neutral rendering carries no token of anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Settings, get_settings
from publisher.campaigns import CampaignError, campaign_list_ids
from publisher.emails import compile_campaign
from publisher.models import Campaign
from publisher.rendering import CompiledEmail, Recipient, RecipientRenderer, RenderedEmail
from subscribers.models import Subscriber
from subscribers.unsubscribe import unsubscribe_token

_PIXEL = re.compile(r'<img src="\{\{ open_url \}\}"[^>]*>')
SAMPLE_NAME = "Alex Reader"


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
    """The campaign as the subscriber with ``email`` would see it (name, language, real
    links), or as a sample reader in ``language`` (default: the campaign's)."""
    settings = settings or get_settings()
    base = settings.base_url.rstrip("/")
    subscriber = find_subscriber(session, email) if email else None
    wanted = subscriber.language if subscriber else (language or campaign.language)
    snapshot = campaign_snapshot(session, campaign, [wanted], settings)
    renderer, chosen = untracked_renderer(snapshot, wanted)
    if subscriber is not None:
        token = unsubscribe_token(
            subscriber.id, campaign_list_ids(session, campaign.id), campaign.id
        )
        recipient = Recipient(
            email=subscriber.email,
            name=subscriber.name,
            unsubscribe_url=f"{base}/unsubscribe/{token}",
            preferences_url=f"{base}/preferences/{token}",
            click_urls=_original_links(snapshot, renderer),
        )
    else:
        recipient = Recipient(
            email=email or "reader@example.com",
            name=SAMPLE_NAME,
            unsubscribe_url=f"{base}/unsubscribe/preview",
            preferences_url=f"{base}/preferences/preview",
            click_urls=_original_links(snapshot, renderer),
        )
    return _preview(renderer.render(recipient), chosen, recipient.email)


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
