"""Checks before sending, on the compiled email: what blocks a send and what only warns.

Blocks: no posts (an empty digest), a post that is not approved or published (sent back to
review), an empty subject, no unsubscribe link. Warns: a subject
longer than 78 characters (cut off by most mailboxes), images without alt text, links to this
site's posts that do not lead to a published post. The send and schedule paths (web, API,
CLI) refuse a campaign with a blocking finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Settings, get_settings
from publisher.campaigns import CampaignError, campaign_posts, campaign_review_problem
from publisher.deliveries import recipient_languages
from publisher.emails import compile_campaign
from publisher.models import Campaign, Post
from publisher.rendering import CompiledEmail, Recipient, RecipientRenderer

SUBJECT_LIMIT = 78
_SENTINEL = "https://checks.herald.invalid/unsubscribe/sentinel"

Level = Literal["block", "warn"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem the checks found: its level, a stable code and a sentence for editors."""

    level: Level
    code: str
    message: str


class CampaignBlocked(CampaignError):
    """The campaign cannot be sent or scheduled: its checks found blocking problems."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("blocked by checks: " + "; ".join(reasons))
        self.reasons = reasons


def blocking_reasons(findings: list[Finding]) -> list[str]:
    """The messages of the blocking findings."""
    return [finding.message for finding in findings if finding.level == "block"]


def enforce_checks(session: Session, campaign: Campaign) -> list[Finding]:
    """Run the checks; raise :class:`CampaignBlocked` if any blocks, else return the warnings."""
    findings = run_checks(session, campaign)
    reasons = blocking_reasons(findings)
    if reasons:
        raise CampaignBlocked(reasons)
    return findings


def run_checks(
    session: Session, campaign: Campaign, settings: Settings | None = None
) -> list[Finding]:
    """Every finding for the campaign, blocking ones first."""
    settings = settings or get_settings()
    if not campaign_posts(session, campaign.id):
        what = "The digest is empty" if campaign.kind == "digest" else "No post is chosen"
        return [Finding("block", "empty", f"{what}: choose at least one post.")]
    languages = recipient_languages(session, campaign.id)
    snapshot = compile_campaign(session, campaign, languages, settings, tracked=False)
    findings = review_findings(session, campaign)
    for language, data in sorted(snapshot["languages"].items()):
        findings += _check_email(session, language, CompiledEmail.from_json(data), settings)
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=lambda finding: finding.level != "block")


def _check_email(
    session: Session, language: str, compiled: CompiledEmail, settings: Settings
) -> list[Finding]:
    rendered = RecipientRenderer(compiled).render(
        Recipient(
            email="reader@example.com",
            name="Reader",
            unsubscribe_url=_SENTINEL,
            preferences_url=_SENTINEL.replace("unsubscribe", "preferences"),
        )
    )
    page = _Page()
    page.feed(rendered.html)
    findings = _subject_findings(language, rendered.subject)
    if _SENTINEL not in page.links or _SENTINEL not in rendered.text:
        findings.append(
            Finding("block", "unsubscribe", f"The {language} version has no unsubscribe link.")
        )
    if page.images_without_alt:
        findings.append(
            Finding(
                "warn",
                "alt",
                f"{len(page.images_without_alt)} image(s) without alt text in the {language} "
                "version: readers with images off or a screen reader see nothing.",
            )
        )
    for url in _broken_post_links(session, page.links, settings.base_url):
        findings.append(Finding("warn", "link", f"Link to an unpublished or missing post: {url}"))
    return findings


def _subject_findings(language: str, subject: str) -> list[Finding]:
    if not subject.strip():
        return [Finding("block", "subject", f"The {language} subject is empty.")]
    if len(subject) > SUBJECT_LIMIT:
        return [
            Finding(
                "warn",
                "subject",
                f"The {language} subject has {len(subject)} characters; mailboxes cut it "
                f"after about {SUBJECT_LIMIT}.",
            )
        ]
    return []


def _broken_post_links(session: Session, links: list[str], base_url: str) -> list[str]:
    prefix = base_url.rstrip("/") + "/posts/"
    wanted = {
        url: unquote(urlsplit(url).path.removeprefix(urlsplit(prefix).path).strip("/"))
        for url in dict.fromkeys(links)
        if url.startswith(prefix)
    }
    if not wanted:
        return []
    published = set(
        session.scalars(
            select(Post.slug).where(Post.slug.in_(wanted.values()), Post.status == "published")
        )
    )
    return [url for url, slug in wanted.items() if slug not in published]


class _Page(HTMLParser):
    """The links and the images without alt text of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.images_without_alt: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append((values["href"] or "").strip())
        if tag == "img" and not (values.get("alt") or "").strip():
            self.images_without_alt.append(values.get("src") or "")


def review_findings(session: Session, campaign: Campaign) -> list[Finding]:
    """A blocking finding when one of the campaign's posts is not approved or published."""
    problem = campaign_review_problem(session, campaign.id)
    return [Finding("block", "review", problem)] if problem else []
