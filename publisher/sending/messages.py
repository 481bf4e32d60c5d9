"""A campaign's email: compiled once per language, then one message per recipient.

:func:`compile_campaign` is stage one (posts → MJML → HTML, once per campaign and language,
stored on the campaign as its snapshot, with the tracked links' original URLs);
:class:`CampaignEmails` is stage two (the snapshot filled per recipient with a name, tokens
and links).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import mail_headers
from core.message import Mailbox, OutgoingMessage
from core.rendering.content import (
    drop_repeated_lede,
    first_paragraph,
    fit_images,
    links_in,
    markdown_to_html,
    word_count,
)
from core.rendering.emails import (
    CompiledEmail,
    EmailContent,
    PostView,
    Recipient,
    RecipientRenderer,
    compile_email,
)
from core.settings import Settings
from publisher.campaigns.models import Campaign, CampaignKind
from publisher.campaigns.queries import campaign_list_ids, campaign_posts
from publisher.posts.models import Post, PostStatus
from publisher.sending.attempts import ClaimedDelivery
from publisher.tracking.links import CampaignLinks, click_urls, open_url, track_email
from subscribers.models import MailingList
from subscribers.unsubscribe import unsubscribe_token

PREHEADER_LENGTH = 140


def compile_campaign(
    session: Session,
    campaign: Campaign,
    languages: Iterable[str],
    settings: Settings,
    *,
    tracked: bool = True,
) -> dict[str, Any]:
    """The campaign's snapshot: its email compiled for its own language and each given one
    (each post in that language where a published version exists, else as the campaign
    carries it; the labels always in that language), tracked as the campaign says (never,
    with ``tracked`` off), and the original URLs of its tracked links."""
    posts = campaign_posts(session, campaign.id)
    versions = post_versions(session, posts)
    links = CampaignLinks.for_site(settings.base_url)
    words = settings.teaser_words if campaign.kind == CampaignKind.ANNOUNCEMENT else 0
    compiled: dict[str, dict[str, Any]] = {}
    for language in sorted({campaign.language, *languages}):
        chosen = [versions.get((post.id, language), post) for post in posts]
        content = EmailContent(
            template=campaign.template,
            language=language,
            subject=_subject(campaign, posts, chosen, settings),
            preheader=_preheader(campaign, chosen),
            posts=[post_view(post, teaser_words=words) for post in chosen],
            organisation_name=settings.organisation_name,
            organisation_address=settings.organisation_address,
            base_url=settings.base_url,
        )
        tracked_email = track_email(
            compile_email(content),
            links,
            opens=tracked and campaign.track_opens,
            clicks=tracked and campaign.track_clicks,
        )
        compiled[language] = tracked_email.to_json()
    return {"default_language": campaign.language, "languages": compiled, "links": links.urls}


def post_versions(session: Session, posts: list[Post]) -> dict[tuple[int, str], Post]:
    """Each post's published version per language: the post itself, its original and the
    original's translations (``Post.translation_of_id`` links a translation to its original).
    """
    roots = {post.id: post.translation_of_id or post.id for post in posts}
    family = session.scalars(
        select(Post).where(
            or_(Post.id.in_(roots.values()), Post.translation_of_id.in_(roots.values())),
            Post.status == PostStatus.PUBLISHED,
        )
    ).all()
    by_root: dict[tuple[int, str], Post] = {}
    for member in family:
        by_root.setdefault((member.translation_of_id or member.id, member.language), member)
    versions = {(post.id, post.language): post for post in posts}
    for post in posts:
        for (root, language), member in by_root.items():
            if root == roots[post.id]:
                versions.setdefault((post.id, language), member)
    return versions


def language_subjects(
    session: Session, campaign: Campaign, languages: Iterable[str], settings: Settings
) -> dict[str, str]:
    """The subject each language's recipients get (the campaign's language and each given
    one), as the campaign page and the preview show it."""
    posts = campaign_posts(session, campaign.id)
    versions = post_versions(session, posts)
    subjects = {}
    for language in sorted({campaign.language, *languages}):
        chosen = [versions.get((post.id, language), post) for post in posts]
        subjects[language] = _subject(campaign, posts, chosen, settings)
    return subjects


def _subject(
    campaign: Campaign, originals: list[Post], chosen: list[Post], settings: Settings
) -> str:
    # What the editor typed goes to every language: a translated title must never replace
    # it silently (per-language subjects would be an explicit, separate field). A subject
    # that is just the post's own title (as auto-announcements set it) is the title, and
    # so follows the translation.
    is_title = campaign.kind == CampaignKind.ANNOUNCEMENT and originals[:1] != chosen[:1]
    if campaign.subject.strip() and not (is_title and campaign.subject == originals[0].title):
        return campaign.subject
    if campaign.kind == CampaignKind.ANNOUNCEMENT and chosen:
        return chosen[0].title
    return f"{settings.organisation_name} — {' · '.join(post.title for post in chosen[:2])}"


def _preheader(campaign: Campaign, posts: list[Post]) -> str:
    """The inbox's preview line, never the lede word for word.

    The rule: an announcement's lede (its summary) is the first thing the email shows, so
    the preheader says what comes after it instead: the key takeaways, else the body's first
    paragraph that is not the lede, else nothing (the inbox then shows the lede itself, once).
    A digest shows no lede: its preheader names the posts.
    """
    if campaign.kind != CampaignKind.ANNOUNCEMENT or not posts:
        text = " · ".join(p.title for p in posts)
    elif posts[0].takeaways:
        text = " · ".join(posts[0].takeaways)
    else:
        text = first_paragraph(drop_repeated_lede(posts[0].body, posts[0].summary))
    text = " ".join(text.split())
    return text if len(text) <= PREHEADER_LENGTH else text[: PREHEADER_LENGTH - 1] + "…"


def post_view(post: Post, *, teaser_words: int = 0) -> PostView:
    """What the email templates see of a post (its Markdown body rendered and sanitised,
    without a first paragraph that repeats the summary).

    A post with a public page and a body of more than ``teaser_words`` words (when not 0)
    is shown as a teaser: no body, a "Read the full report" button near the top instead.
    """
    body = drop_repeated_lede(post.body, post.summary)
    teaser = bool(teaser_words and post.url and word_count(body) > teaser_words)
    body_html = "" if teaser else fit_images(markdown_to_html(body))
    in_body = links_in(body_html)  # recordings the body already lists are not listed twice
    return PostView(
        kind=post.kind,
        title=post.title,
        summary=post.summary,
        body_html=body_html,
        url=post.url,
        takeaways=list(post.takeaways),
        speakers=list(post.speakers),
        media=[item for item in post.media if item.get("url", "") not in in_body],
        author=post.author,
        image_url=post.image_url,
        image_alt=post.image_alt,
        location=post.location,
        starts_at=post.starts_at,
        timezone=post.timezone,
        published_at=post.published_at,
        topics=list(post.topics),
        language=post.language,
        teaser=teaser,
    )


class CampaignEmails:
    """Stage two for one campaign: its snapshot parsed once, a message per recipient.

    ``list_slug`` and ``list_name`` name the campaign's first list in ``List-Id`` and
    ``Feedback-ID`` (a message carries one ``List-Id``).
    """

    def __init__(
        self,
        campaign_id: int,
        snapshot: dict[str, Any],
        list_ids: tuple[int, ...],
        settings: Settings,
        *,
        kind: str = CampaignKind.ANNOUNCEMENT,
        list_slug: str = "",
        list_name: str = "",
    ) -> None:
        self.campaign_id = campaign_id
        self.list_ids = list_ids
        self.default_language: str = snapshot["default_language"]
        self.renderers = {
            language: RecipientRenderer(CompiledEmail.from_json(data))
            for language, data in snapshot["languages"].items()
        }
        self.settings = settings
        self.sender = mail_headers.sender(settings)
        self.reply_to = mail_headers.reply_to(settings)
        self.base_url = settings.base_url.rstrip("/")
        slug = list_slug or f"list-{list_ids[0] if list_ids else 0}"
        self.campaign_headers = {
            "List-Id": mail_headers.list_id(slug, list_name, settings),
            "Feedback-ID": mail_headers.feedback_id(str(campaign_id), slug, kind, settings),
        }

    @classmethod
    def for_campaign(
        cls, session: Session, campaign: Campaign, settings: Settings
    ) -> CampaignEmails:
        """Stage two for a compiled campaign, with its kind and first list for the headers."""
        assert campaign.compiled is not None
        list_ids = campaign_list_ids(session, campaign.id)
        first = session.get(MailingList, list_ids[0]) if list_ids else None
        return cls(
            campaign.id,
            campaign.compiled,
            list_ids,
            settings,
            kind=campaign.kind,
            list_slug=first.slug if first else "",
            list_name=first.name if first else "",
        )

    def message_for(self, delivery: ClaimedDelivery, *, attempt_id: str) -> OutgoingMessage:
        """The message for one claimed delivery, in the recipient's language when compiled.

        Its Message-ID is made of the attempt id (random per claim, kept by a replay) and the
        delivery id: unique across installs, and the same every time the attempt is re-sent.
        """
        language = delivery.language if delivery.language in self.renderers else None
        language = language or self.default_language
        renderer = self.renderers[language]
        token = unsubscribe_token(delivery.subscriber_id, self.list_ids, self.campaign_id)
        unsubscribe_url = f"{self.base_url}/unsubscribe/{token}"
        rendered = renderer.render(
            Recipient(
                email=delivery.email,
                name=delivery.name,
                unsubscribe_url=unsubscribe_url,
                preferences_url=f"{self.base_url}/preferences/{token}",
                open_url=open_url(self.base_url, delivery.id) if renderer.tracks_opens else "",
                click_urls=click_urls(self.base_url, delivery.id, renderer.links),
            )
        )
        return OutgoingMessage(
            key=str(delivery.id),
            sender=self.sender,
            to=Mailbox(delivery.email, delivery.name),
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            message_id=mail_headers.message_id(
                (self.campaign_id, delivery.id, attempt_id), self.settings
            ),
            headers={
                **mail_headers.unsubscribe_headers(unsubscribe_url, token, self.settings),
                **self.campaign_headers,
                "Content-Language": language,
            },
            metadata={"campaign_id": str(self.campaign_id), "delivery_id": str(delivery.id)},
            reply_to=self.reply_to,
        )
