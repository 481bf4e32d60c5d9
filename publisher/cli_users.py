"""``herald users``: create accounts, list them, make API tokens."""

from __future__ import annotations

import json

import typer

from core.audit import record_audit
from core.database import unit_of_work
from publisher.users import ROLES, UserError, all_users, create_api_token, create_user, find_user

users_app = typer.Typer(help="Accounts of editors and admins.", no_args_is_help=True)
JSON_OUT = typer.Option(False, "--json", help="Print JSON instead of text.")


@users_app.command("create")
def create(
    email: str,
    role: str = typer.Option("editor", help=f"One of: {', '.join(ROLES)}."),
    name: str = typer.Option("", help="Shown in the admin and the audit log."),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters."
    ),
) -> None:
    """Create an editor or an admin (the password is asked for unless given)."""
    try:
        with unit_of_work() as session:
            user = create_user(session, email=email, password=password, role=role, name=name)
            details = {"email": user.email, "role": role}
            record_audit(session, actor="cli", action="user.create", object_type="user",
                         object_id=user.id, details=details)  # fmt: skip
            typer.echo(f"{user.id}\t{user.email}\t{user.role}")
    except UserError as error:
        raise typer.BadParameter(str(error)) from error


@users_app.command("list")
def list_users(as_json: bool = JSON_OUT) -> None:
    """Every account with its role."""
    with unit_of_work() as session:
        rows = [
            {"id": u.id, "email": u.email, "name": u.name, "role": u.role, "active": u.active}
            for u in all_users(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['id']}\t{row['email']}\t{row['role']}\t{row['name']}")


@users_app.command("token")
def token(email: str, name: str = typer.Option("cli", help="What the token is for.")) -> None:
    """Print a new API token acting as EMAIL (shown only this once)."""
    with unit_of_work() as session:
        user = find_user(session, email)
        if user is None:
            raise typer.BadParameter(f"no user {email}")
        secret = create_api_token(session, user, name=name)
        record_audit(session, actor="cli", action="user.api_token", object_type="user",
                     object_id=user.id, details={"name": name})  # fmt: skip
    typer.echo(secret)
