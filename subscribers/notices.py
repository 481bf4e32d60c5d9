"""The emails a subscriber gets about their subscription: the confirmation and the welcome.

Rendered like campaigns, in two stages: the MJML template is compiled once per list and
language with :func:`core.rendering.emails.compile_email` (and kept), then filled per person
with their name and signed links, which is cheap: a million-row double opt-in import
compiles each language once. Both go out as transactional messages with the headers of
:mod:`core.mail_headers` (From, Reply-To, Content-Language, a unique Message-ID); the
welcome also carries the one-click ``List-Unsubscribe`` headers like every campaign email.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from uuid import uuid4

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from core import mail_headers
from core.message import Mailbox, OutgoingMessage
from core.rendering.emails import EmailContent, compile_email, labels_for
from core.settings import Settings
from subscribers.consent import Notice

_HTML = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_TEXT = SandboxedEnvironment(
    autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True
)


@dataclass(frozen=True, slots=True)
class _Parsed:
    subject: Template
    html: Template
    text: Template


def confirmation_message(notice: Notice, settings: Settings) -> OutgoingMessage:
    """The email asking ``notice``'s subscriber to confirm the list (double opt-in)."""
    return _message("confirm", notice, settings, headers={})


def welcome_message(notice: Notice, settings: Settings) -> OutgoingMessage:
    """The email welcoming ``notice``'s subscriber to the list they confirmed."""
    token = notice.unsubscribe_token
    unsubscribe_url = f"{settings.base_url.rstrip('/')}/unsubscribe/{token}"
    headers = mail_headers.unsubscribe_headers(unsubscribe_url, token, settings)
    return _message("welcome", notice, settings, headers=headers)


def _message(
    kind: str, notice: Notice, settings: Settings, *, headers: dict[str, str]
) -> OutgoingMessage:
    base_url = settings.base_url.rstrip("/")
    parsed = _compiled(
        kind,
        notice.language,
        notice.list_name,
        notice.list_description,
        settings.organisation_name,
        settings.organisation_address,
        settings.base_url,
    )
    values = {
        "name": notice.name,
        "email": notice.email,
        "unsubscribe_url": f"{base_url}/unsubscribe/{notice.unsubscribe_token}",
        "preferences_url": f"{base_url}/preferences/{notice.unsubscribe_token}",
        "confirm_url": f"{base_url}/confirm/{notice.confirm_token}",
    }
    unique = (kind, notice.list_id, notice.subscriber_id, uuid4().hex)
    return OutgoingMessage(
        # One file per subscription and kind in the outbox: a resend replaces the last one.
        key=f"{kind}-{notice.list_id}-{notice.subscriber_id}",
        sender=mail_headers.sender(settings),
        to=Mailbox(notice.email, notice.name),
        subject=parsed.subject.render(values),
        html=parsed.html.render(values),
        text=parsed.text.render(values),
        message_id=mail_headers.message_id(unique, settings),
        headers={
            **headers,
            "Feedback-ID": mail_headers.feedback_id(
                "notice", f"list-{notice.list_id}", kind, settings
            ),
            "Content-Language": notice.language,
        },
        metadata={"kind": kind, "list_id": str(notice.list_id)},
        transactional=True,
        reply_to=mail_headers.reply_to(settings),
    )


@lru_cache(maxsize=64)
def _compiled(
    kind: str,
    language: str,
    list_name: str,
    description: str,
    organisation: str,
    address: str,
    base_url: str,
) -> _Parsed:
    """Stage one for a kind of email, a list and a language (kept: lists rarely change)."""
    labels = labels_for(language)[kind]
    intro = _fill(labels["intro"], list_name, organisation)
    compiled = compile_email(
        EmailContent(
            template=kind,
            language=language,
            subject=_fill(labels["subject"], list_name, organisation),
            preheader=f"{intro} {description}".strip() if kind == "welcome" else intro,
            posts=[],
            organisation_name=organisation,
            organisation_address=address,
            base_url=base_url,
        )
    )
    return _Parsed(
        _TEXT.from_string(compiled.subject),
        _HTML.from_string(compiled.html),
        _TEXT.from_string(compiled.text),
    )


def _fill(label: str, list_name: str, organisation: str) -> str:
    # Not str.format: a list name may hold braces.
    return label.replace("{list}", list_name).replace("{organisation}", organisation)
