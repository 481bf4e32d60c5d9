"""Our own open and click tracking: signed tokens, rewritten links, the pixel, and the record.

Stage one (once per campaign and language) replaces each http(s) link of the compiled HTML
by a ``click_urls[n]`` placeholder and keeps the original URL in the campaign's snapshot,
numbered across its languages; it appends the ``open_url`` pixel. Stage two fills both per
recipient with signed tokens. A click token names a delivery and a link number, never a
URL: the redirect can only lead to a URL that was in that campaign's email.

The plain-text part keeps its links as they are: people who read it see the address they
will visit, and a long opaque redirect there looks like phishing; its clicks are few.

Opens and clicks become ``delivery_events`` rows (source "herald"), a person's first one
also ``Delivery.opened_at`` / ``clicked_at``. Mail-privacy proxies and link scanners are
stored too, with ``machine=True`` and the reason, and never set those columns (the
heuristic: :mod:`publisher.tracking.machines`). The campaign statistics are bumped in the same unit
of work, only for an event stored now and a first time set now (an ``UPDATE … WHERE
opened_at IS NULL`` that changed a row), so a reloaded pixel never counts twice.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from core.database import insert_ignoring_conflicts
from core.providers.events import EventType
from core.rendering.emails import CompiledEmail
from core.tokens import make_id_token, read_id_token
from publisher.campaigns.models import Campaign
from publisher.sending.models import Delivery
from publisher.stats import aggregates
from publisher.tracking.machines import MACHINE_WINDOW, Hit, image_proxy, machine_reason
from publisher.tracking.models import DeliveryEvent

SOURCE = "herald"
OPEN_PURPOSE = "open"
CLICK_PURPOSE = "click"

_A_TAG = re.compile(r"""<a\s(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
_ATTRIBUTE = re.compile(
    r"""\s+(?P<name>[^\s"'>/=]+)(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'>]+)))?"""
)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_PIXEL = '<img src="{{ open_url }}" width="1" height="1" alt="" style="display:none">'


# Tokens ------------------------------------------------------------------------------------


def open_url(base_url: str, delivery_id: int) -> str:
    """The pixel URL of one delivery."""
    return f"{base_url}/t/o/{make_id_token(OPEN_PURPOSE, delivery_id)}.gif"


def click_urls(base_url: str, delivery_id: int, links: tuple[int, ...]) -> dict[int, str]:
    """The click URL of each of the given link numbers, for one delivery."""
    prefix = f"{base_url}/t/c/"
    return {number: prefix + make_id_token(CLICK_PURPOSE, delivery_id, number) for number in links}


def read_open_token(token: str) -> int:
    """The delivery id an open token names, or :class:`InvalidToken`."""
    (delivery_id,) = read_id_token(OPEN_PURPOSE, token, count=1)
    return delivery_id


def read_click_token(token: str) -> tuple[int, int]:
    """The delivery id and link number a click token names, or :class:`InvalidToken`."""
    delivery_id, number = read_id_token(CLICK_PURPOSE, token, count=2)
    return delivery_id, number


# Stage one: links and pixel ----------------------------------------------------------------

_OWN_PAGES = ("unsubscribe", "preferences", "t")


@dataclass
class CampaignLinks:
    """A campaign's tracked URLs, numbered once across all its languages.

    One list, not one per language: a click then needs no language, and a subscriber who
    changes language after the send still lands where the link pointed.
    """

    untracked_prefixes: tuple[str, ...] = ()
    urls: list[str] = field(default_factory=list)
    _numbers: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_site(cls, base_url: str) -> CampaignLinks:
        """Links for a campaign of the site at ``base_url``; its own pages stay untracked."""
        base = base_url.rstrip("/")
        return cls(untracked_prefixes=tuple(f"{base}/{page}/" for page in _OWN_PAGES))

    def number(self, url: str) -> int | None:
        """The link number of ``url``, or None if it is not a link we track."""
        if not _is_trackable(url) or url.startswith(self.untracked_prefixes):
            return None
        if url not in self._numbers:
            self._numbers[url] = len(self.urls)
            self.urls.append(url)
        return self._numbers[url]


def _is_trackable(url: str) -> bool:
    try:
        return urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def track_email(
    compiled: CompiledEmail, links: CampaignLinks, *, opens: bool, clicks: bool
) -> CompiledEmail:
    """The compiled email with its links rewritten (``clicks``) and the pixel (``opens``)."""
    page, used = track_links(compiled.html, links) if clicks else (compiled.html, ())
    page = add_open_pixel(page) if opens else page
    return replace(compiled, html=page, links=used, tracks_opens=opens)


def track_links(page: str, links: CampaignLinks) -> tuple[str, tuple[int, ...]]:
    """Replace each trackable ``<a href>`` by a click placeholder; return the numbers used."""
    used: set[int] = set()

    def rewrite(match: re.Match[str]) -> str:
        tag, number = _rewrite_tag(match.group(0), links)
        if number is not None:
            used.add(number)
        return tag

    return _A_TAG.sub(rewrite, page), tuple(sorted(used))


def _rewrite_tag(tag: str, links: CampaignLinks) -> tuple[str, int | None]:
    position = 2  # after "<a"
    while attribute := _ATTRIBUTE.match(tag, position):
        position = attribute.end()
        if attribute["name"].lower() == "href":
            return _rewrite_href(tag, attribute, links)
    return tag, None


def _rewrite_href(
    tag: str, attribute: re.Match[str], links: CampaignLinks
) -> tuple[str, int | None]:
    group = next((g for g in ("dq", "sq", "bare") if attribute[g] is not None), None)
    if group is None:
        return tag, None
    # The value is HTML with braces neutralised; the stored URL is what it means.
    number = links.number(html.unescape(attribute[group]).strip())
    if number is None:
        return tag, None
    start, end = attribute.span(group)
    placeholder = "{{ click_urls[" + str(number) + "] }}"
    value = f'"{placeholder}"' if group == "bare" else placeholder
    return tag[:start] + value + tag[end:], number


def add_open_pixel(page: str) -> str:
    """``page`` with the open pixel placeholder at the end of its body."""
    ends = list(_BODY_END.finditer(page))
    if not ends:
        return page + _PIXEL
    at = ends[-1].start()
    return page[:at] + _PIXEL + page[at:]


# Recording ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Sent:
    """The delivery a token names, as recording needs it."""

    delivery_id: int
    campaign_id: int
    sent_at: datetime | None


def record_open(session: Session, delivery_id: int, hit: Hit) -> bool:
    """Store a pixel fetch of one delivery (unless its campaign stopped tracking opens);
    return whether it counted as a person's open."""
    row = session.execute(
        select(Delivery.campaign_id, Delivery.sent_at, Delivery.dispatched_at)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.id == delivery_id, Campaign.track_opens.is_(True))
    ).one_or_none()
    if row is None:
        return False
    sent = _Sent(delivery_id, row.campaign_id, row.sent_at or row.dispatched_at)
    reason = machine_reason(hit, "open", sent_at=sent.sent_at)
    details: dict[str, Any] = {"user_agent": _agent(hit)}
    if proxy := image_proxy(hit.user_agent):
        details["proxy"] = proxy
    event = _event(sent, EventType.OPENED, f"open:{delivery_id}", hit, reason, details)
    if _store(session, event):
        aggregates.count_events(session, [_counted(event)])
    if reason is None:
        first = _first(session, Delivery.opened_at, delivery_id, hit.at)
        aggregates.count_first_engagement(session, sent.campaign_id, "opened", first)
    return reason is None


def record_click(session: Session, delivery_id: int, link: int, hit: Hit) -> str | None:
    """The URL of link number ``link`` in the delivery's email, None if it had no such link;
    the click is stored unless the campaign stopped tracking clicks."""
    row = session.execute(
        select(
            Delivery.campaign_id,
            Delivery.sent_at,
            Delivery.dispatched_at,
            Campaign.track_clicks,
            Campaign.compiled[("links", link)].as_string().label("url"),
        )
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.id == delivery_id)
    ).one_or_none()
    if row is None or not row.url:
        return None
    if row.track_clicks:
        sent = _Sent(delivery_id, row.campaign_id, row.sent_at or row.dispatched_at)
        _store_click(session, sent, link, str(row.url), hit)
    return str(row.url)


def _store_click(session: Session, sent: _Sent, link: int, url: str, hit: Hit) -> None:
    other_click_at = _last_click_on_another_link(session, sent.delivery_id, link, hit.at)
    reason = machine_reason(hit, "click", sent_at=sent.sent_at, other_click_at=other_click_at)
    details = {"url": url, "link": link, "user_agent": _agent(hit)}
    key = f"click:{sent.delivery_id}:{link}"
    event = _event(sent, EventType.CLICKED, key, hit, reason, details)
    if _store(session, event):
        aggregates.count_events(session, [_counted(event)])
    if reason is None:
        first = _first(session, Delivery.clicked_at, sent.delivery_id, hit.at)
        aggregates.count_first_engagement(session, sent.campaign_id, "clicked", first)
    elif other_click_at is not None and hit.at - other_click_at < MACHINE_WINDOW:
        _flag_burst(session, sent, since=hit.at - MACHINE_WINDOW)


def _last_click_on_another_link(
    session: Session, delivery_id: int, link: int, at: datetime
) -> datetime | None:
    rows = session.execute(
        select(DeliveryEvent.occurred_at, DeliveryEvent.details).where(
            *_our_clicks(delivery_id), DeliveryEvent.occurred_at > at - MACHINE_WINDOW
        )
    ).all()
    times = [row.occurred_at for row in rows if row.details.get("link") != link]
    return max(times, default=None)


def _flag_burst(session: Session, sent: _Sent, *, since: datetime) -> None:
    """A burst's first click was the same machine: flag it, and take back its first-click time
    (and the statistics that counted it as a person's)."""
    delivery_id = sent.delivery_id
    in_burst = (*_our_clicks(delivery_id), DeliveryEvent.occurred_at >= since)
    people = session.execute(
        select(DeliveryEvent.occurred_at, DeliveryEvent.details).where(
            *in_burst, DeliveryEvent.machine.is_(False)
        )
    ).all()
    session.execute(update(DeliveryEvent).where(*in_burst).values(machine=True))
    aggregates.count_reclassified_clicks(
        session,
        [
            aggregates.CountedEvent(
                sent.campaign_id,
                EventType.CLICKED,
                False,
                row.occurred_at,
                str(row.details.get("url", "")),
            )
            for row in people
        ],
    )
    taken_back = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.clicked_at >= since)
        .values(clicked_at=None)
    )
    aggregates.count_first_engagement(session, sent.campaign_id, "clicked", -_rowcount(taken_back))


def _our_clicks(delivery_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        DeliveryEvent.source == SOURCE,
        DeliveryEvent.delivery_id == delivery_id,
        DeliveryEvent.type == EventType.CLICKED,
    )


def _event(
    sent: _Sent, kind: str, key: str, hit: Hit, reason: str | None, details: dict[str, Any]
) -> dict[str, Any]:
    # One event per minute (and per verdict), so reloading a page or an image counts once.
    minute = int(hit.at.timestamp()) // 60
    machine = reason is not None
    return {
        "source": SOURCE,
        "event_id": f"{key}:{minute}:machine" if machine else f"{key}:{minute}",
        "delivery_id": sent.delivery_id,
        "campaign_id": sent.campaign_id,
        "type": kind,
        "machine": machine,
        "occurred_at": hit.at,
        "received_at": hit.at,
        "details": {**details, "machine_reason": reason} if machine else details,
    }


def _store(session: Session, event: dict[str, Any]) -> bool:
    """Store the event unless stored already; return whether it was stored now."""
    insert = insert_ignoring_conflicts(
        session, DeliveryEvent, index_elements=["source", "event_id"]
    )
    stored = session.execute(insert.values(**event).returning(DeliveryEvent.id)).first()
    return stored is not None


def _first(session: Session, column: Any, delivery_id: int, at: datetime) -> int:
    """Set a first-engagement time unless one is set; return 1 if it was set now, else 0."""
    result = session.execute(
        update(Delivery).where(Delivery.id == delivery_id, column.is_(None)).values({column: at})
    )
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _counted(event: dict[str, Any]) -> aggregates.CountedEvent:
    return aggregates.CountedEvent(
        campaign_id=event["campaign_id"],
        type=event["type"],
        machine=event["machine"],
        occurred_at=event["occurred_at"],
        url=str(event["details"].get("url", "")) if event["type"] == EventType.CLICKED else "",
    )


def _agent(hit: Hit) -> str:
    return hit.user_agent[:500]
