"""The URL map: every router of the web app, one line each with the paths it serves.

Grouped by who asks: the public pages (subscribers, their mail clients, the providers), then
the admin by area, each area's pages beside its JSON API. No route module includes another
router, so this is the whole map; the app adds only ``/`` (app.py).
Requests try the routes in this order and the first match wins.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from publisher.web import health, metrics
from publisher.web.admin import accounts, campaigns, posts, progress, stats, subscribers, webhooks
from publisher.web.api import campaigns as campaigns_api
from publisher.web.api import posts as posts_api
from publisher.web.public import archive, preferences, provider_webhooks, subscribe, tracking

ROUTERS: tuple[APIRouter, ...] = (
    # Public: no sign-in; the links in sent emails point here.
    archive.router,  # /archive
    subscribe.router,  # /subscribe, /confirm, /api/subscribe, /api/subscribers
    preferences.router,  # /unsubscribe, /preferences, /posts
    tracking.router,  # /t
    provider_webhooks.router,  # /webhooks
    # Admin, signed in: pages under /admin, the same data as JSON under /api.
    accounts.router,  # /admin/{login,setup,logout,account,users,tokens}
    campaigns.router,  # /admin/campaigns
    campaigns_api.router,  # /api/campaigns, /api/campaigns/{id}[/checks,preview,test,send,...]
    # After the two above: its /{action} routes would catch their /send, /schedule and /test.
    progress.router,  # /admin, /admin/campaigns/{id}/{action}
    posts.router,  # /admin/posts
    posts_api.router,  # /api/posts
    subscribers.router,  # /admin/{lists,subscribers,segments,imports}, /api/imports
    stats.router,  # /admin/stats, /api/stats
    webhooks.router,  # /admin/stats/webhooks, /api/stats/webhooks
    # Operations.
    metrics.router,  # /metrics
    health.router,  # /healthz, /livez, /readyz
)
"""The routers in matching order."""


def include_routes(app: FastAPI) -> None:
    """Mount every router of :data:`ROUTERS` on ``app``, in order."""
    for router in ROUTERS:
        app.include_router(router)
