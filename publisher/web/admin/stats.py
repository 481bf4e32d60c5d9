"""The delivery statistics dashboard, its JSON API and CSV exports (editors and admins).

Pages draw charts as inline SVG (publisher/stats/charts.py) with the same numbers in a table
beside them; ``/api/stats/...`` answers the same reports as JSON, and ``….csv`` as CSV. Every
number is read from the aggregates, never by scanning events. The outgoing webhooks' admin
pages live in :mod:`publisher.web.admin.webhooks` (admins only).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from publisher.campaigns.models import Campaign
from publisher.campaigns.progress import duration_text
from publisher.stats import export, health, queries
from publisher.stats.charts import Series, bar_chart, line_chart
from publisher.stats.list_queries import ListReport, list_report
from publisher.web.deps import CurrentUser, DbSession, RowId
from publisher.web.pages import templates
from subscribers.lists import all_lists
from subscribers.models import MailingList

router = APIRouter()

TIMELINE_SERIES = (
    ("delivered", "Delivered", "var(--ok)"),
    ("opened", "Opens", "var(--accent)"),
    ("clicked", "Clicks", "var(--warn)"),
    ("bounced", "Bounces", "var(--bad)"),
)


PROVIDER_SERIES = (
    ("accepted", "Accepted", "var(--ok)"),
    ("errors", "Errors", "var(--bad)"),
    ("throttled", "429s", "var(--warn)"),
    ("deferrals", "Deferrals", "var(--muted)"),
)


def _campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such campaign")
    return campaign


def _list(session: Session, list_id: int) -> MailingList:
    mailing_list = session.get(MailingList, list_id)
    if mailing_list is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such list")
    return mailing_list


def _csv(text: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


def _page(request: Request, template: str, title: str, **context: Any) -> HTMLResponse:
    context |= {"title": title, "section": "stats", "pct": _pct, "duration_text": duration_text}
    return templates.TemplateResponse(request, template, context)


def _pct(rate: float) -> str:
    return f"{100 * rate:.2f}%" if rate < 0.1 else f"{100 * rate:.1f}%"


# Dashboard -----------------------------------------------------------------------------------


@router.get("/admin/stats", response_class=HTMLResponse, tags=["stats"])
def dashboard(request: Request, session: DbSession, _user: CurrentUser) -> HTMLResponse:
    """Recent campaigns at a glance: what was delivered, opened, clicked; warnings first."""
    reports = queries.campaign_reports(session, queries.recent_campaigns(session))
    shown = list(reversed(reports))
    labels = [f"#{r.id}" for r in shown]
    chart = bar_chart(
        "Recent campaigns: delivered, opened, clicked (unique)",
        labels,
        [
            Series("Delivered", [r.delivered for r in shown], "var(--ok)"),
            Series("Opened", [r.opened for r in shown], "var(--accent)"),
            Series("Clicked", [r.clicked for r in shown], "var(--warn)"),
        ],
    )
    rates = line_chart(
        "Open and click rates of delivered (%)",
        labels,
        [
            Series("Open rate", [round(100 * r.rates["opened"], 2) for r in shown]),
            Series("Click rate", [round(100 * r.rates["clicked"], 2) for r in shown]),
        ],
    )
    return _page(
        request,
        "admin/stats/dashboard.html",
        "Delivery statistics",
        reports=reports,
        chart=chart,
        rates_chart=rates,
        lists=all_lists(session),
    )


@router.get("/admin/stats/campaigns.csv", tags=["stats"])
def campaigns_csv(session: DbSession, _user: CurrentUser) -> Response:
    """Every number of the recent campaigns, one row each."""
    reports = queries.campaign_reports(session, queries.recent_campaigns(session, limit=500))
    return _csv(export.reports_csv(reports), "herald-campaigns.csv")


@router.get("/api/stats/campaigns", tags=["stats"])
def campaigns_api(
    session: DbSession, _user: CurrentUser, limit: int = 20
) -> list[queries.CampaignReport]:
    """The reports of the most recent campaigns that started sending."""
    campaigns = queries.recent_campaigns(session, limit=max(1, min(limit, 500)))
    return queries.campaign_reports(session, campaigns)


# One campaign --------------------------------------------------------------------------------


@router.get("/admin/stats/campaigns/{campaign_id}", response_class=HTMLResponse, tags=["stats"])
def campaign_page(
    request: Request, campaign_id: RowId, session: DbSession, _user: CurrentUser
) -> HTMLResponse:
    """One campaign in detail: the funnel, the timeline, the links."""
    (report,) = queries.campaign_reports(session, [_campaign(session, campaign_id)])
    points = queries.timeline(session, campaign_id)
    return _page(
        request,
        "admin/stats/campaign.html",
        f"Statistics of campaign #{campaign_id}",
        report=report,
        points=points,
        links=queries.link_clicks(session, campaign_id),
        funnel=_funnel_chart(report),
        timeline_chart=_timeline_chart(points),
    )


def _funnel_chart(report: queries.CampaignReport) -> Any:
    steps = [
        ("Recipients", report.recipients),
        ("Sent", report.sent),
        ("Delivered", report.delivered),
        ("Opened", report.opened),
        ("Clicked", report.clicked),
        ("Bounced", report.bounced),
        ("Complaints", report.complained),
        ("Unsubscribed", report.unsubscribed),
    ]
    return bar_chart(
        "From recipients to clicks (unique)",
        [name for name, _ in steps],
        [Series("Deliveries", [value for _, value in steps])],
    )


def _timeline_chart(points: list[queries.TimelinePoint]) -> Any:
    labels = [p.hour.strftime("%d %H:00") for p in points]
    return line_chart(
        "Events per hour (UTC), first days",
        labels,
        [
            Series(name, [p.counts.get(kind, 0) for p in points], colour)
            for kind, name, colour in TIMELINE_SERIES
        ],
    )


@router.get("/api/stats/campaigns/{campaign_id}", tags=["stats"])
def campaign_api(campaign_id: RowId, session: DbSession, _user: CurrentUser) -> dict[str, Any]:
    """One campaign's report, its hourly timeline and its clicks per link."""
    (report,) = queries.campaign_reports(session, [_campaign(session, campaign_id)])
    return {
        "report": report.model_dump(mode="json"),
        "timeline": [p.model_dump(mode="json") for p in queries.timeline(session, campaign_id)],
        "links": [x.model_dump(mode="json") for x in queries.link_clicks(session, campaign_id)],
    }


@router.get("/admin/stats/campaigns/{campaign_id}/timeline.csv", tags=["stats"])
def timeline_csv(campaign_id: RowId, session: DbSession, _user: CurrentUser) -> Response:
    """The campaign's events per hour."""
    _campaign(session, campaign_id)
    points = queries.timeline(session, campaign_id, hours=24 * 30)
    return _csv(export.timeline_csv(points), f"herald-campaign-{campaign_id}-timeline.csv")


@router.get("/admin/stats/campaigns/{campaign_id}/links.csv", tags=["stats"])
def links_csv(campaign_id: RowId, session: DbSession, _user: CurrentUser) -> Response:
    """The campaign's clicks per link."""
    _campaign(session, campaign_id)
    links = queries.link_clicks(session, campaign_id, limit=10_000)
    return _csv(export.links_csv(links), f"herald-campaign-{campaign_id}-links.csv")


# Lists ---------------------------------------------------------------------------------------


@router.get("/admin/stats/lists/{list_id}", response_class=HTMLResponse, tags=["stats"])
def list_page(
    request: Request, list_id: RowId, session: DbSession, _user: CurrentUser
) -> HTMLResponse:
    """A list over the last 30 days, and how its recent campaigns did."""
    report = list_report(session, _list(session, list_id))
    return _page(
        request,
        "admin/stats/list.html",
        f"Statistics of {report.name}",
        report=report,
        **_list_charts(report),
    )


def _list_charts(report: ListReport) -> dict[str, Any]:
    labels = [day.day.strftime("%d %b") for day in report.days]
    size = line_chart(
        "Confirmed subscribers", labels, [Series("Size", [d.size or 0 for d in report.days])]
    )
    moves = bar_chart(
        "Subscribes, confirmations, unsubscribes and bounces per day",
        labels,
        [
            Series("Subscribed", [d.subscribed for d in report.days], "var(--accent)"),
            Series("Confirmed", [d.confirmed for d in report.days], "var(--ok)"),
            Series("Unsubscribed", [d.unsubscribed for d in report.days], "var(--warn)"),
            Series("Bounced", [d.bounced for d in report.days], "var(--bad)"),
        ],
    )
    return {"size_chart": size, "moves_chart": moves}


@router.get("/api/stats/lists/{list_id}", tags=["stats"])
def list_api(list_id: RowId, session: DbSession, _user: CurrentUser) -> ListReport:
    """A list's last 30 days and its recent campaigns."""
    return list_report(session, _list(session, list_id))


@router.get("/admin/stats/lists/{list_id}/days.csv", tags=["stats"])
def list_csv(list_id: RowId, session: DbSession, _user: CurrentUser) -> Response:
    """A list's days, one row each."""
    report = list_report(session, _list(session, list_id), days=365)
    return _csv(export.list_days_csv(report.days), f"herald-list-{report.slug}.csv")


# Providers -----------------------------------------------------------------------------------


@router.get("/admin/stats/providers", response_class=HTMLResponse, tags=["stats"])
def providers_page(request: Request, session: DbSession, _user: CurrentUser) -> HTMLResponse:
    """Each provider's calls, errors, 429s, latency and deferrals over the last day."""
    points = health.provider_series(session)
    labels = sorted({p.at.strftime("%d %H:00") for p in points})
    charts = []
    for provider in sorted({p.provider for p in points}):
        mine = {p.at.strftime("%d %H:00"): p for p in points if p.provider == provider}
        series = [
            Series(name, [getattr(mine[x], field) if x in mine else 0 for x in labels], colour)
            for field, name, colour in PROVIDER_SERIES
        ]
        charts.append(line_chart(f"{provider}: per hour (UTC)", labels, series))
    return _page(
        request,
        "admin/stats/providers.html",
        "Provider health",
        points=points,
        charts=charts,
        totals=health.provider_totals(session),
    )


@router.get("/api/stats/providers", tags=["stats"])
def providers_api(
    session: DbSession, _user: CurrentUser, hours: int = 24
) -> list[health.ProviderPoint]:
    """Each provider's figures per hour over the last ``hours`` hours."""
    return health.provider_series(session, hours=max(1, min(hours, 24 * 31)))
