"""``herald digests``: recurring digests (lists, weekdays, a local time in a zone)."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer

from core.database import unit_of_work
from publisher.campaigns.digests import (
    create_schedule,
    get_schedule,
    list_schedules,
    parse_weekdays,
)
from publisher.campaigns.models import DigestSchedule
from publisher.campaigns.service import CampaignError

digests_app = typer.Typer(help="Recurring digests: create, list, show.", no_args_is_help=True)
JSON_OUT = typer.Option(False, "--json", help="Print JSON instead of text.")


@digests_app.command("create")
def create(
    name: str = typer.Option(..., help="What editors call it, e.g. 'Monday digest'."),
    lists: list[str] = typer.Option(..., "--list", help="A list's slug (repeat for more)."),
    weekdays: str = typer.Option(..., help="mon,thu or 1,4 (Monday is 1)."),
    at: str = typer.Option("09:00", "--at", help="Local time of day, HH:MM."),
    zone: str = typer.Option(..., "--zone", help="IANA zone, e.g. Europe/Kyiv."),
    subject: str = typer.Option("", help="Subject template: {date}, {count}, {organisation}."),
    language: str = typer.Option("en", help="The digests' default language."),
) -> None:
    """Create a recurring digest and print its id and first run."""
    try:
        with unit_of_work() as session:
            schedule = create_schedule(
                session,
                name=name,
                list_slugs=lists,
                weekdays=parse_weekdays(weekdays),
                local_time=at,
                timezone=zone,
                subject_template=subject,
                language=language,
            )
            described = describe(schedule)
    except CampaignError as error:
        _refuse(error)
    typer.echo(f"{described['id']}  next run {described['next_run_at']}")


@digests_app.command("list")
def list_digests(as_json: bool = JSON_OUT) -> None:
    """Every recurring digest with its next run."""
    with unit_of_work() as session:
        described = [describe(schedule) for schedule in list_schedules(session)]
    if as_json:
        typer.echo(json.dumps(described, indent=2, ensure_ascii=False))
        return
    for item in described:
        state = "active" if item["active"] else "paused"
        typer.echo(
            f"{item['id']:>4}  {item['name']}  {item['when']}  {state}  "
            f"next {item['next_run_at'] or '—'}  {item['last_outcome']}"
        )


@digests_app.command("show")
def show(schedule_id: int, as_json: bool = JSON_OUT) -> None:
    """One recurring digest."""
    try:
        with unit_of_work() as session:
            item = describe(get_schedule(session, schedule_id))
    except CampaignError as error:
        _refuse(error)
    if as_json:
        typer.echo(json.dumps(item, indent=2, ensure_ascii=False))
        return
    for key, value in item.items():
        typer.echo(f"{key:<16}{value}")


DAY_NAMES = ("", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def describe(schedule: DigestSchedule) -> dict[str, Any]:
    """A recurring digest as JSON-ready values."""
    days = ",".join(DAY_NAMES[day] for day in schedule.weekdays)
    return {
        "id": schedule.id,
        "name": schedule.name,
        "list_ids": schedule.list_ids,
        "weekdays": schedule.weekdays,
        "local_time": schedule.local_time,
        "timezone": schedule.timezone,
        "when": f"{days} {schedule.local_time} {schedule.timezone}",
        "subject_template": schedule.subject_template,
        "language": schedule.language,
        "active": schedule.active,
        "last_run_at": _iso(schedule.last_run_at),
        "next_run_at": _iso(schedule.next_run_at),
        "last_outcome": schedule.last_outcome,
    }


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def _refuse(error: CampaignError) -> NoReturn:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(2) from error
