"""``herald subscribers import|export``: CSV in (streamed, with a report), CSV out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.audit import record_audit
from core.database import unit_of_work
from core.spreadsheets import safe_writer
from publisher.cli.subscribers import subscribers_app
from subscribers.exports import export_lines
from subscribers.imports import (
    ImportJob,
    ImportRefused,
    ImportStatus,
    create_import,
    rejections,
    run_import,
    summary,
)
from subscribers.lists import find_list

LIST = typer.Option(..., "--list", help="The list's slug.")
LABELS = {
    "rows": "rows read",
    "new_subscribers": "new subscribers",
    "added": "subscribed to the list",
    "now_confirmed": "confirmed (were unconfirmed)",
    "already": "already on the list",
    "updated": "existing subscribers updated",
    "duplicates": "repeated in the file",
    "unsubscribed": "unsubscribed, left alone",
    "rejected": "rejected (see the report)",
}


@subscribers_app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A CSV file."),
    list_slug: str = LIST,
    confirmed: bool = typer.Option(False, help="Consent was confirmed elsewhere: no emails."),
    dry_run: bool = typer.Option(False, help="Show what would change; change nothing."),
    encoding: str = typer.Option("utf-8", help="The file's encoding when it is not UTF-8."),
    report: Path | None = typer.Option(None, help="Rejected rows CSV [FILE.rejected.csv]."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import subscribers from CSV (email, name, language, timezone; other columns become
    attributes) into a list, in constant memory; rejected rows go to a report file."""
    with unit_of_work() as session:
        try:
            job = create_import(
                session,
                list_slug=list_slug,
                file_name=file.name,
                path=file.resolve(),
                confirmed=confirmed,
                dry_run=dry_run,
                encoding=encoding,
            )
        except ImportRefused as error:
            raise typer.BadParameter(str(error), param_hint="--list") from error
        record_audit(
            session,
            actor="cli",
            action="subscribers.import",
            object_type="list",
            object_id=job.list_id,
            details={"file": file.name, "dry_run": dry_run, "job": job.id},
        )
        job_id = job.id
    with unit_of_work() as session:
        job = _run_with_progress(session, job_id, quiet=as_json)
        result = summary(job)
        report_path = report or file.with_name(f"{file.name}.rejected.csv")
        if result["rejected"]:
            _write_report(session, job_id, report_path)
            result["report"] = str(report_path)
    _print_summary(result, as_json=as_json)
    if result["status"] == ImportStatus.FAILED:
        raise typer.Exit(1)


def _run_with_progress(session: Any, job_id: int, *, quiet: bool) -> ImportJob:
    console = Console(stderr=True)
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=quiet or not console.is_terminal) as bar:
        task = bar.add_task("import", total=None)

        def advance(job: ImportJob) -> None:
            bar.update(task, total=job.lines_total, completed=job.line_done)

        return run_import(session, job_id, progress=advance)


def _write_report(session: Any, job_id: int, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = safe_writer(file)
        writer.writerow(["line", "email", "reason"])
        for rejection in rejections(session, job_id):
            writer.writerow([rejection.line, rejection.email, rejection.reason])


def _print_summary(result: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    if result["error"]:
        typer.echo(f"import failed: {result['error']}", err=True)
    heading = "dry run, nothing changed" if result["dry_run"] else f"import #{result['id']}"
    typer.echo(f"{result['file']} ({heading}):")
    for name, label in LABELS.items():
        typer.echo(f"  {result[name]:>9,}  {label}")
    for column in result["attribute_columns"]:
        typer.echo(f"  column {column!r} is not a known column: kept as an attribute")
    if result.get("report"):
        typer.echo(f"rejected rows: {result['report']}")


@subscribers_app.command("export")
def export_file(
    list_slug: str = LIST,
    output: Path | None = typer.Option(None, help="Write here instead of standard output."),
) -> None:
    """Export a list's subscribers as CSV (UTF-8), one column per attribute."""
    with unit_of_work() as session:
        mailing_list = find_list(session, list_slug)
        if mailing_list is None:
            raise typer.BadParameter(f"no list with slug {list_slug!r}", param_hint="--list")
        list_id = mailing_list.id
        record_audit(
            session,
            actor="cli",
            action="subscribers.export",
            object_type="list",
            object_id=list_id,
            details={"output": str(output or "-")},
        )
        if output is None:
            for text in export_lines(session, list_id):
                sys.stdout.write(text)
            return
        with output.open("w", encoding="utf-8", newline="") as file:
            for text in export_lines(session, list_id):
                file.write(text)
