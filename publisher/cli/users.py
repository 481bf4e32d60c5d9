"""``herald users``: create accounts, list them, make, list and revoke API tokens, deactivate
and reactivate accounts."""

from __future__ import annotations

import json

import typer
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.database import unit_of_work
from publisher.accounts.models import ROLES, Role, User
from publisher.accounts.service import (
    api_tokens_of,
    deactivate_user,
    reactivate_user,
    revoke_api_token,
)
from publisher.accounts.tokens import create_api_token
from publisher.accounts.users import UserError, all_users, create_user, find_user

users_app = typer.Typer(help="Accounts of editors and admins.", no_args_is_help=True)
JSON_OUT = typer.Option(False, "--json", help="Print JSON instead of text.")


@users_app.command("create")
def create(
    email: str,
    role: str = typer.Option(Role.EDITOR, help=f"One of: {', '.join(ROLES)}."),
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
            record_audit(
                session,
                actor="cli",
                action="user.create",
                object_type="user",
                object_id=user.id,
                details=details,
            )
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
        user = _user(session, email)
        secret = create_api_token(session, user, name=name)
        record_audit(
            session,
            actor="cli",
            action="user.api_token",
            object_type="user",
            object_id=user.id,
            details={"name": name},
        )
    typer.echo(secret)


def _user(session: Session, email: str) -> User:
    try:
        user = find_user(session, email)
    except UserError as error:
        raise typer.BadParameter(str(error)) from error
    if user is None:
        raise typer.BadParameter(f"no user {email}")
    return user


@users_app.command("tokens")
def tokens(email: str, as_json: bool = JSON_OUT) -> None:
    """EMAIL's API tokens: id, name, first characters, made, last used."""
    with unit_of_work() as session:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
            }
            for t, _owner in api_tokens_of(session, _user(session, email).id)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        used = row["last_used_at"] or "never used"
        typer.echo(f"{row['id']}\t{row['prefix']}…\t{row['name']}\t{row['created_at']}\t{used}")


@users_app.command("revoke-token")
def revoke_token(token_id: int) -> None:
    """End the API token TOKEN_ID (see ``herald users tokens``) at once."""
    try:
        with unit_of_work() as session:
            revoked = revoke_api_token(session, token_id, actor="cli")
    except UserError as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"revoked token {revoked.id} ({revoked.name})")


@users_app.command("deactivate")
def deactivate(email: str) -> None:
    """Stop EMAIL logging in: their sessions end, their API tokens are refused."""
    try:
        with unit_of_work() as session:
            user = _user(session, email)
            address = user.email
            changed = deactivate_user(session, user, actor="cli")
    except UserError as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"deactivated {address}" if changed else f"{address} was already inactive")


@users_app.command("reactivate")
def reactivate(email: str) -> None:
    """Let EMAIL log in again (their API tokens work again too)."""
    with unit_of_work() as session:
        user = _user(session, email)
        changed = reactivate_user(session, user, actor="cli")
    typer.echo(f"reactivated {user.email}" if changed else f"{user.email} was already active")
