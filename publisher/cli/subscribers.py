"""``herald subscribers``: show one, export their data, erase them, lift a suppression.

``import`` and ``export`` (CSV) are added to the same command group by
:mod:`publisher.cli.imports`.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from core.database import unit_of_work
from publisher.audience.privacy import erase_address, export_address, recent_deliveries
from subscribers.addresses import InvalidAddress, normalise_address
from subscribers.privacy import find_subscriber, subscriber_data
from subscribers.suppression import lift_suppression

subscribers_app = typer.Typer(
    help="Subscribers: show one, export their data, erase them.", no_args_is_help=True
)
JSON_OUT = typer.Option(False, "--json", help="Print JSON instead of text.")
ACTOR = "cli"
LAST = 10


def _address(raw: str) -> str:
    try:
        return normalise_address(raw)
    except InvalidAddress as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


@subscribers_app.command("show")
def show(email: str, as_json: bool = JSON_OUT) -> None:
    """One subscriber: status, lists with their consent, suppression, last events."""
    address = _address(email)
    with unit_of_work() as session:
        data = subscriber_data(session, address, activity_limit=LAST)
        person = find_subscriber(session, address)
        data["deliveries"] = recent_deliveries(session, person.id, limit=LAST) if person else []
    if data["subscriber"] is None and not data["suppression"]:
        typer.echo(f"error: no subscriber {address}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else _block(data))


def _block(data: dict[str, Any]) -> str:
    person = data["subscriber"]
    lines = [f"{data['email']}"]
    if person:
        lines.append(
            f"status      {person['status']} · {person['language']} · {person['timezone']}"
            + (f" · {person['name']}" if person["name"] else "")
        )
    for entry in data["suppression"]:
        lines.append(f"suppressed  {entry['reason']} since {entry['since']}")
    for item in data["subscriptions"]:
        consent = item["consent"]
        lines.append(f"list        {item['list']}: {item['status']}")
        if consent["at"]:
            lines.append(
                f"  consent   {consent['at']} via {consent['source']} "
                f"from {consent['ip'] or '?'} on {consent['page'] or '?'}"
            )
        if item["unsubscribed_at"]:
            lines.append(f"  left      {item['unsubscribed_at']} ({item['unsubscribed_via']})")
    for event in data["activity"]:
        lines.append(f"event       {event['at']} {event['kind']} {event['list'] or ''}".rstrip())
    for delivery in data["deliveries"]:
        lines.append(
            f"delivery    campaign {delivery['campaign_id']}: {delivery['status']}"
            f"{' · ' + delivery['outcome'] if delivery['outcome'] else ''}"
        )
    return "\n".join(lines)


@subscribers_app.command("export-data")
def export_data(email: str) -> None:
    """Everything Herald holds on one address, as JSON (a person's access request)."""
    address = _address(email)
    with unit_of_work() as session:
        data = export_address(session, address)
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@subscribers_app.command("erase")
def erase(
    email: str, yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")
) -> None:
    """Forget an address for good: only its hash stays, suppressed."""
    address = _address(email)
    if not yes:
        typer.confirm(f"Erase everything Herald holds on {address}?", abort=True)
    with unit_of_work() as session:
        erasure = erase_address(session, address, actor=ACTOR)
    found = "erased" if erasure.subscriber_id else "no subscriber; suppressed by hash"
    typer.echo(f"{address}: {found} (sha256 {erasure.email_hash})")


@subscribers_app.command("unsuppress")
def unsuppress(
    email: str,
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Lift a suppression (bounce, complaint, erasure): an explicit, audited admin action."""
    address = _address(email)
    try:
        with unit_of_work() as session:
            was = lift_suppression(session, address, actor=ACTOR, reason=reason)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if not was:
        typer.echo(f"error: {address} is not suppressed", err=True)
        raise typer.Exit(1)
    typer.echo(f"{address}: suppression lifted (was: {', '.join(was)})")
