"""``herald lists``: create lists, list them, show one with its subscribers per status."""

from __future__ import annotations

import dataclasses
import json

import typer

from core.audit import record_audit
from core.database import unit_of_work
from core.settings import get_settings
from subscribers.lists import ListError, ListSummary, all_lists, create_list, find_list, summaries
from subscribers.models import OptIn

lists_app = typer.Typer(
    help="Lists: create them, show their counts.",
    no_args_is_help=True,
)
JSON_OUT = typer.Option(False, "--json", help="Print JSON instead of text.")


@lists_app.command("create")
def create(
    slug: str,
    name: str = typer.Option(..., "--name", help="The list's name, as subscribers see it."),
    double_opt_in: bool = typer.Option(
        False, "--double-opt-in", help="New subscribers confirm by email before they are mailed."
    ),
    private: bool = typer.Option(False, "--private", help="No public subscribe form."),
    language: str = typer.Option("en", help="Default language of new subscribers."),
    topic: list[str] = typer.Option([], "--topic", help="A topic (repeat: --topic Events)."),
    description: str = typer.Option("", help="One or two sentences for the subscribe form."),
    as_json: bool = JSON_OUT,
) -> None:
    """Create a list (single opt-in unless --double-opt-in; public unless --private)."""
    try:
        with unit_of_work() as session:
            created = create_list(
                session,
                slug=slug,
                name=name,
                opt_in=OptIn.DOUBLE if double_opt_in else OptIn.SINGLE,
                public=not private,
                language=language,
                topics=topic,
                description=description,
            )
            summary = summaries(session, [created])[0]
            record_audit(
                session,
                actor="cli",
                action="lists.create",
                object_type="list",
                object_id=created.id,
                details={"slug": created.slug},
            )
    except ListError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(_json(summary) if as_json else f"list {slug} created\n{_block(summary)}")


@lists_app.command("list")
def list_lists(as_json: bool = JSON_OUT) -> None:
    """Every list with its subscribers per status."""
    with unit_of_work() as session:
        # Listed by slug here: the slug is what a command takes.
        items = summaries(session, sorted(all_lists(session), key=lambda item: item.slug))
    if as_json:
        typer.echo(json.dumps([_data(item) for item in items], indent=2, ensure_ascii=False))
        return
    for item in items:
        counts = item.counts
        typer.echo(
            f"{item.slug:<24} {item.opt_in:<6} {'public' if item.public else 'private':<7} "
            f"{counts['confirmed']} confirmed, {counts['unconfirmed']} unconfirmed, "
            f"{counts['unsubscribed']} unsubscribed  {item.name}"
        )


@lists_app.command("show")
def show(slug: str, as_json: bool = JSON_OUT) -> None:
    """One list: its settings, and its subscribers per status."""
    with unit_of_work() as session:
        found = find_list(session, slug)
        if found is None:
            typer.echo(f"error: no list {slug!r}", err=True)
            raise typer.Exit(1)
        summary = summaries(session, [found])[0]
    typer.echo(_json(summary) if as_json else _block(summary))


def _data(summary: ListSummary) -> dict[str, object]:
    data = dataclasses.asdict(summary)
    if summary.public:
        base = get_settings().base_url.rstrip("/")
        data["subscribe_url"] = f"{base}/subscribe/{summary.slug}"
        data["embed_url"] = f"{base}/subscribe/{summary.slug}/embed"
    return data


def _json(summary: ListSummary) -> str:
    return json.dumps(_data(summary), indent=2, ensure_ascii=False)


def _block(summary: ListSummary) -> str:
    data = _data(summary)
    counts = summary.counts
    lines = [
        f"{summary.name} ({summary.slug})",
        f"opt-in      {summary.opt_in} · {'public' if summary.public else 'private'} · "
        f"language {summary.language}",
        f"topics      {', '.join(summary.topics) or '—'}",
        f"confirmed   {counts['confirmed']}",
        f"unconfirmed {counts['unconfirmed']}",
        f"unsubscribed {counts['unsubscribed']}",
        f"suppressed  {counts['suppressed']} (of those still on the list)",
    ]
    if "subscribe_url" in data:
        lines.append(f"form        {data['subscribe_url']}  (embed: {data['embed_url']})")
    return "\n".join(lines)
