"""Telling a person from a machine at our tracking URLs: scanners, proxies, prefetches.

Link scanners and mail-privacy proxies fetch pixels and links without anyone reading, so
their hits are stored apart (``machine=True``) and never count as a person's open or click.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

MACHINE_WINDOW = timedelta(seconds=2)
"""Nobody reads a message within this time of its sending, nor clicks two links so fast."""

Kind = Literal["open", "click"]

SCANNER_AGENTS = (
    # Mail security gateways that fetch every link (and image) of a message on arrival.
    "barracuda",
    "proofpoint",
    "mimecast",
    "bingpreview",
    "ironport",
    "forcepoint",
    "messagelabs",
    "symantec",
    "trendmicro",
    "trend micro",
    "sophos",
    "fortiguard",
    "zscaler",
    # Link previews and crawlers.
    "googlebot",
    "bingbot",
    "slackbot",
    "facebookexternalhit",
    "twitterbot",
    "linkedinbot",
    "telegrambot",
    "discordbot",
    "skypeuripreview",
    "whatsapp",
    "spider",
    "crawler",
    # Scripts and headless browsers.
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "go-http-client",
    "java/",
    "libwww-perl",
    "headlesschrome",
    "phantomjs",
)
"""Lower-case fragments of user agents that are never a person reading."""
IMAGE_PROXIES = {"googleimageproxy": "gmail", "yahoomailproxy": "yahoo"}
"""Webmail image proxies: they fetch the pixel when the reader opens the message, so an
open through them counts, though it says nothing about the reader's device or place."""
APPLE_PRIVACY_AGENT = "Mozilla/5.0"
"""All Apple Mail Privacy Protection sends: it fetches every message's images on arrival,
read or not. A few other clients send a bare agent too; we count none of them."""
GMAIL_ARRIVAL_AGENT = ("Chrome/42.0.2311.135", "Edge/12.246")
"""Marks of the agent Gmail fetches images with as a message arrives, before anyone reads."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One request to a tracking URL: what helps tell a person from a machine."""

    at: datetime
    method: str = "GET"
    user_agent: str = ""
    purpose: str = ""
    """The ``Sec-Purpose`` or ``Purpose`` header: "prefetch" for a speculative load."""


def machine_reason(
    hit: Hit, kind: Kind, *, sent_at: datetime | None, other_click_at: datetime | None = None
) -> str | None:
    """Why ``hit`` was a machine rather than a person, or None if it looks like a person.

    Machines: HEAD requests and prefetches; no user agent, Apple's bare one, Gmail's arrival
    fetch, known scanners, crawlers and scripts (and image proxies, for clicks); anything
    within :data:`MACHINE_WINDOW` of the sending, or of a click on another link (scanners
    follow every link at once; a person double-clicking one link is not flagged).
    """
    return (
        _request_reason(hit)
        or _agent_reason(hit.user_agent.strip(), kind)
        or _timing_reason(hit.at, sent_at, other_click_at)
    )


def image_proxy(user_agent: str) -> str | None:
    """The webmail whose image proxy made the request, if one did."""
    agent = user_agent.lower()
    return next((name for mark, name in IMAGE_PROXIES.items() if mark in agent), None)


def _request_reason(hit: Hit) -> str | None:
    if hit.method.upper() == "HEAD":
        return "HEAD request"
    if any(word in hit.purpose.lower() for word in ("prefetch", "prerender", "preview")):
        return "prefetch"
    return None


def _agent_reason(agent: str, kind: Kind) -> str | None:
    if not agent:
        return "no user agent"
    if agent == APPLE_PRIVACY_AGENT:
        return "Apple Mail Privacy Protection"
    if all(mark in agent for mark in GMAIL_ARRIVAL_AGENT):
        return "Gmail arrival fetch"
    lowered = agent.lower()
    scanner = next((mark for mark in SCANNER_AGENTS if mark in lowered), None)
    if scanner is not None:
        return f"scanner ({scanner.strip('/')})"
    if kind == "click" and image_proxy(agent):
        return "image proxy"
    return None


def _timing_reason(
    at: datetime, sent_at: datetime | None, other_click_at: datetime | None
) -> str | None:
    if sent_at is not None and at - sent_at < MACHINE_WINDOW:
        return "at sending time"
    if other_click_at is not None and at - other_click_at < MACHINE_WINDOW:
        return "burst of clicks"
    return None
