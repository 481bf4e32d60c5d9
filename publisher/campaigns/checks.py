"""Checks before sending, on the compiled email: what blocks a send and what only warns.

Blocks: no posts (an empty digest), a post that is not approved or published (sent back to
review), an empty subject, no unsubscribe link, an HTML part over
100 KB as it travels (Gmail clips at about 102 KB, hiding the footer's unsubscribe link and
the open pixel). Warns: a subject longer than 78 characters (cut off by most mailboxes), HTML
from 80 KB, images without alt text, links to this site's posts that do not lead to a
published post. The send and schedule paths (web, API, CLI) refuse a campaign with a blocking
finding. :func:`check_campaign` also gives each language's HTML size, decoded and encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.mime import encode_part
from core.rendering.emails import CompiledEmail, Recipient, RecipientRenderer
from core.settings import Settings, get_settings
from publisher.campaigns.models import Campaign, CampaignKind
from publisher.campaigns.queries import campaign_posts
from publisher.campaigns.service import CampaignError, campaign_review_problem
from publisher.posts.models import Post, PostStatus
from publisher.sending.deliveries import recipient_languages
from publisher.sending.messages import compile_campaign
from publisher.tracking.links import CampaignLinks, click_urls, open_url, track_email

SUBJECT_LIMIT = 78
HTML_BLOCK_BYTES = 100_000
"""Encoded HTML above this blocks: Gmail clips a message's HTML at about 102 KB."""
HTML_WARN_BYTES = 80_000
"""Encoded HTML from this size warns: personal names and links still add to it."""
_SAMPLE_DELIVERY = 10**9  # tracking tokens as long as a large campaign's
_SENTINEL = "https://checks.herald.invalid/unsubscribe/sentinel"

Level = Literal["block", "warn"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem the checks found: its level, a stable code and a sentence for editors."""

    level: Level
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class HtmlSize:
    """One language's HTML part: bytes as written, and as it travels (transfer-encoded)."""

    language: str
    decoded_bytes: int
    encoded_bytes: int
    encoding: str


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What the checks found, blocking ones first, and the size of each language's HTML."""

    findings: list[Finding]
    sizes: list[HtmlSize]


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
    return check_campaign(session, campaign, settings).findings


def check_campaign(
    session: Session, campaign: Campaign, settings: Settings | None = None
) -> CheckReport:
    """Every finding for the campaign, blocking ones first, and each language's HTML size."""
    settings = settings or get_settings()
    if not campaign_posts(session, campaign.id):
        what = (
            "The digest is empty" if campaign.kind == CampaignKind.DIGEST else "No post is chosen"
        )
        return CheckReport([Finding("block", "empty", f"{what}: choose at least one post.")], [])
    languages = recipient_languages(session, campaign.id)
    snapshot = compile_campaign(session, campaign, languages, settings, tracked=False)
    findings = review_findings(session, campaign)
    sizes: list[HtmlSize] = []
    for language, data in sorted(snapshot["languages"].items()):
        compiled = CompiledEmail.from_json(data)
        findings += _check_email(session, language, compiled, settings)
        sizes.append(wire_size(language, compiled, campaign, settings))
        findings += _size_findings(sizes[-1])
    unique = list(dict.fromkeys(findings))
    return CheckReport(sorted(unique, key=lambda finding: finding.level != "block"), sizes)


def wire_size(
    language: str, compiled: CompiledEmail, campaign: Campaign, settings: Settings
) -> HtmlSize:
    """The HTML as a recipient gets it (tracked as the campaign says), encoded as it travels."""
    base_url = settings.base_url.rstrip("/")
    tracked = track_email(
        compiled,
        CampaignLinks.for_site(settings.base_url),
        opens=campaign.track_opens,
        clicks=campaign.track_clicks,
    )
    renderer = RecipientRenderer(tracked)
    html = renderer.render(
        _sample_reader(
            open_url=open_url(base_url, _SAMPLE_DELIVERY) if renderer.tracks_opens else "",
            click_urls=click_urls(base_url, _SAMPLE_DELIVERY, renderer.links),
        )
    ).html
    part = encode_part(html, "html")
    return HtmlSize(language, part.decoded_size, part.size, part.encoding)


def _size_findings(size: HtmlSize) -> list[Finding]:
    shown = f"{size.encoded_bytes / 1000:.1f} KB as sent ({size.encoding})"
    if size.encoded_bytes > HTML_BLOCK_BYTES:
        message = (
            f"The {size.language} HTML is {shown}, over {HTML_BLOCK_BYTES // 1000} KB: Gmail "
            "clips it and hides the unsubscribe link. Send a shorter version or a teaser."
        )
        return [Finding("block", "size", message)]
    if size.encoded_bytes >= HTML_WARN_BYTES:
        message = (
            f"The {size.language} HTML is {shown}; from {HTML_BLOCK_BYTES // 1000} KB sending "
            "is blocked, as Gmail clips it at about 102 KB."
        )
        return [Finding("warn", "size", message)]
    return []


def _sample_reader(*, open_url: str = "", click_urls: dict[int, str] | None = None) -> Recipient:
    return Recipient(
        email="reader@example.com",
        name="Reader",
        unsubscribe_url=_SENTINEL,
        preferences_url=_SENTINEL.replace("unsubscribe", "preferences"),
        open_url=open_url,
        click_urls=click_urls or {},
    )


def _check_email(
    session: Session, language: str, compiled: CompiledEmail, settings: Settings
) -> list[Finding]:
    rendered = RecipientRenderer(compiled).render(_sample_reader())
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
            select(Post.slug).where(
                Post.slug.in_(wanted.values()), Post.status == PostStatus.PUBLISHED
            )
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
