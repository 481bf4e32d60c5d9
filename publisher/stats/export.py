"""CSV exports of the statistics: UTF-8 with a byte-order mark, so spreadsheets keep the
Cyrillic and Japanese of subjects intact, and cells that would start a formula quoted flat
(``core.spreadsheets``)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from core.spreadsheets import safe_writer
from publisher.stats.list_queries import ListDayView
from publisher.stats.queries import CampaignReport, LinkClicks, TimelinePoint

REPORT_COLUMNS = tuple(
    name for name in CampaignReport.model_fields if name not in ("rates", "warnings")
)
RATE_COLUMNS = ("delivered", "bounced", "opened", "clicked", "complained", "unsubscribed")
TIMELINE_KINDS = (
    "delivered",
    "deferred",
    "bounced",
    "complained",
    "opened",
    "machine_opened",
    "clicked",
    "machine_clicked",
    "unsubscribed",
    "failed",
)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document (with a BOM) of ``header`` and ``rows``."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = safe_writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def reports_csv(reports: Sequence[CampaignReport]) -> str:
    """One row per campaign: every count, then the rates."""
    header = [*REPORT_COLUMNS, *(f"{name}_rate" for name in RATE_COLUMNS)]
    rows = [
        [*(getattr(r, name) for name in REPORT_COLUMNS), *(r.rates[n] for n in RATE_COLUMNS)]
        for r in reports
    ]
    return to_csv(header, rows)


def timeline_csv(points: Sequence[TimelinePoint]) -> str:
    """One row per hour, one column per event kind."""
    rows = [[p.hour.isoformat(), *(p.counts.get(k, 0) for k in TIMELINE_KINDS)] for p in points]
    return to_csv(["hour", *TIMELINE_KINDS], rows)


def links_csv(links: Sequence[LinkClicks]) -> str:
    """One row per URL."""
    return to_csv(
        ["url", "clicks", "machine_clicks"], ([x.url, x.clicks, x.machine_clicks] for x in links)
    )


def list_days_csv(days: Sequence[ListDayView]) -> str:
    """One row per day of a list."""
    names = list(ListDayView.model_fields)
    return to_csv(names, ([getattr(day, name) for name in names] for day in days))
