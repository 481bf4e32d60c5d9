"""``herald posts``: Posts: import, list, show, submit, approve, publish.

The command line acts as ``cli`` (with an admin's rights) in the audit log, or with
``--as EMAIL`` as that user, with their role's rights.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from sqlalchemy.orm import Session

from core.database import unit_of_work
from publisher.accounts.users import UserError, find_user
from publisher.posts.importing import import_sources, read_paths
from publisher.posts.service import (
    CLI,
    Actor,
    PostInputError,
    PostNotFound,
    PostPermissionError,
    get_post,
    list_posts,
    post_json,
)
from publisher.posts.workflow import WorkflowError, take_step

posts_app = typer.Typer(
    help="Posts: import, list, show, submit, approve, publish.", no_args_is_help=True
)
JSON_OUT = typer.Option(False, "--json", help="Print JSON instead of text.")
AS_USER = typer.Option("", "--as", help="Act as this user (their role's rights), not as cli.")
_REFUSALS = (PostInputError, PostNotFound, PostPermissionError, WorkflowError)


def _actor(session: Session, email: str) -> Actor:
    if not email:
        return CLI
    try:
        user = find_user(session, email)
    except UserError as error:
        raise typer.BadParameter(str(error), param_hint="--as") from error
    if user is None or not user.active:
        raise typer.BadParameter(f"no active user {email}", param_hint="--as")
    return Actor(label=user.email, role=user.role, user_id=user.id)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _fail(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(1)


@posts_app.command("list")
def list_command(
    status: str = typer.Option("", help="Only posts with this status."), as_json: bool = JSON_OUT
) -> None:
    """Posts, most recently changed first."""
    try:
        with unit_of_work() as session:
            rows = [post_json(post) for post in list_posts(session, status=status or None)]
    except PostInputError as error:
        raise typer.BadParameter(str(error), param_hint="--status") from error
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['id']}\t{row['status']}\t{row['kind']}\t{row['language']}\t{row['title']}"
        )


@posts_app.command("show")
def show(post_id: int, as_json: bool = JSON_OUT) -> None:
    """One post with all its fields."""
    try:
        with unit_of_work() as session:
            data = post_json(get_post(session, post_id))
    except PostNotFound as error:
        raise _fail(error) from error
    if as_json:
        _print_json(data)
        return
    for key, value in data.items():
        if key != "body" and value not in (None, "", []):
            typer.echo(f"{key}: {value}")
    typer.echo(f"\n{data['body']}")


@posts_app.command("import")
def import_command(paths: list[str], as_user: str = AS_USER) -> None:
    """Import Markdown files (YAML front matter), folders of them, RSS/Atom files or URLs.

    Prints one line per post (id, title, what happened); rejected files go to stderr with
    their reason, and the exit status is 1 when any was rejected.
    """
    sources, unread = read_paths(paths)
    with unit_of_work() as session:
        report = import_sources(session, sources=sources, actor=_actor(session, as_user))
        lines = [f"{item.post.id}\t{item.post.title}\t{item.outcome}" for item in report.imported]
    for line in lines:
        typer.echo(line)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    for rejection in [*unread, *report.rejected]:
        typer.echo(f"rejected: {rejection.origin}: {rejection.reason}", err=True)
    if unread or report.rejected:
        raise typer.Exit(1)


def _step(post_id: int, step: str, as_user: str, comment: str = "") -> None:
    try:
        with unit_of_work() as session:
            actor = _actor(session, as_user)
            post = get_post(session, post_id)
            result = take_step(session, post=post, actor=actor, step=step, comment=comment)
            line = f"{post.id}\t{post.status}\t{post.title}"
            campaign = result.announcement
    except _REFUSALS as error:
        raise _fail(error) from error
    typer.echo(line)
    if campaign is not None:
        how = "sending" if result.announcement_sent else "held as a draft for an admin"
        typer.echo(f"announcement campaign {campaign.id}: {how}")


@posts_app.command("submit")
def submit(post_id: int, as_user: str = AS_USER) -> None:
    """Submit a draft for review."""
    _step(post_id, "submit", as_user)


@posts_app.command("approve")
def approve(post_id: int, as_user: str = AS_USER) -> None:
    """Approve a post in review (admins)."""
    _step(post_id, "approve", as_user)


@posts_app.command("publish")
def publish(post_id: int, as_user: str = AS_USER) -> None:
    """Publish an approved post (admins); may draft its announcement."""
    _step(post_id, "publish", as_user)


@posts_app.command("send-back")
def send_back(
    post_id: int,
    comment: str = typer.Option(..., "--comment", help="Why it goes back to its author."),
    as_user: str = AS_USER,
) -> None:
    """Send a post in review (or approved) back to draft, with a comment (admins)."""
    _step(post_id, "send_back", as_user, comment)
