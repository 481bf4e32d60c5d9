"""``herald segments``: lists filtered by attributes, language and engagement."""

from __future__ import annotations

import json
from typing import Any

import typer
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.database import unit_of_work
from publisher.audience.segments import (
    Segment,
    SegmentError,
    all_segments,
    count_members,
    create_segment,
    get_segment,
    use_segment,
)
from subscribers.lists import ids_by_slug, slugs_of

segments_app = typer.Typer(
    help="Segments: lists filtered by attributes, language and engagement.", no_args_is_help=True
)
JSON_OUT = typer.Option(False, "--json", help="Print JSON.")


def _describe(session: Session, segment: Segment, *, count: bool) -> dict[str, Any]:
    slugs = slugs_of(session, segment.list_ids)
    found: dict[str, Any] = {
        "id": segment.id,
        "name": segment.name,
        "lists": slugs,
        "rules": segment.rules,
    }
    if count:
        found["count"] = count_members(session, segment)
    return found


@segments_app.command("create")
def create(
    name: str = typer.Argument(..., help="The segment's name."),
    lists: list[str] = typer.Option(..., "--list", help="A list's slug (repeatable)."),
    rules: str = typer.Option('{"match": "all", "rules": []}', help="The rules, as JSON."),
    as_json: bool = JSON_OUT,
) -> None:
    """Create a segment: members of the lists who match the rules."""
    try:
        parsed = json.loads(rules)
    except json.JSONDecodeError as error:
        raise typer.BadParameter(f"not JSON: {error}", param_hint="--rules") from error
    with unit_of_work() as session:
        found = ids_by_slug(session, lists)
        missing = sorted(set(lists) - set(found))
        if missing:
            raise typer.BadParameter(f"no list {', '.join(missing)}", param_hint="--list")
        try:
            segment = create_segment(
                session, name=name, list_ids=list(found.values()), rules=parsed
            )
        except SegmentError as error:
            raise typer.BadParameter(str(error), param_hint="--rules") from error
        record_audit(
            session,
            actor="cli",
            action="segments.create",
            object_type="segment",
            object_id=segment.id,
            details={"name": name},
        )
        shown = _describe(session, segment, count=True)
    _print(shown, as_json=as_json)


@segments_app.command("list")
def list_segments(as_json: bool = JSON_OUT) -> None:
    """Every segment with its live count."""
    with unit_of_work() as session:
        shown = [_describe(session, segment, count=True) for segment in all_segments(session)]
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False))
        return
    for item in shown:
        typer.echo(
            f"#{item['id']}  {item['name']}  ({', '.join(item['lists'])})  {item['count']:,}"
        )


@segments_app.command("show")
def show(segment_id: int, as_json: bool = JSON_OUT) -> None:
    """One segment: its lists, rules and how many it would mail now."""
    with unit_of_work() as session:
        try:
            shown = _describe(session, get_segment(session, segment_id), count=True)
        except SegmentError as error:
            raise typer.BadParameter(str(error)) from error
    _print(shown, as_json=as_json)


@segments_app.command("use")
def use(segment_id: int, campaign: int = typer.Option(..., help="A draft campaign's id.")) -> None:
    """Send a draft or scheduled campaign to the segment only."""
    with unit_of_work() as session:
        try:
            use_segment(session, campaign_id=campaign, segment_id=segment_id)
        except SegmentError as error:
            raise typer.BadParameter(str(error)) from error
        record_audit(
            session,
            actor="cli",
            action="campaigns.segment",
            object_type="campaign",
            object_id=campaign,
            details={"segment_id": segment_id},
        )
    typer.echo(f"campaign #{campaign} goes to segment #{segment_id}")


def _print(shown: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False))
        return
    typer.echo(f"segment #{shown['id']}: {shown['name']}")
    typer.echo(f"  lists: {', '.join(shown['lists'])}")
    typer.echo(f"  rules: {json.dumps(shown['rules'], ensure_ascii=False)}")
    typer.echo(f"  would mail now: {shown['count']:,}")
