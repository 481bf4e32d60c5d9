"""Exporting a list as CSV: every member, text unmangled, formulas defused, re-importable."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from core.database import unit_of_work
from publisher.cli import app
from subscribers.models import Subscriber
from tests.factories import add_list, add_subscribers

runner = CliRunner()


def test_export_then_import_round_trips(pg_db: str, tmp_path: Path) -> None:
    with unit_of_work() as session:
        news = add_list(session, "news")
        people = add_subscribers(session, news, 3)
        people[0].attributes = {"city": "Київ", "note": '=HYPERLINK("http://x")'}
        people[1].name = "-Dash, “quoted”"
        add_list(session, "copy")
    output = tmp_path / "news.csv"
    answer = runner.invoke(
        app, ["subscribers", "export", "--list", "news", "--output", str(output)]
    )
    assert answer.exit_code == 0, answer.output
    raw = output.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # spreadsheets then read UTF-8 correctly
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [row["email"] for row in rows] == [p.email for p in people]
    assert rows[0]["city"] == "Київ" and rows[0]["note"].startswith("'=")
    assert rows[1]["name"] == "'-Dash, “quoted”" and rows[2]["name"] == "佐藤 美咲"
    back = runner.invoke(app, ["subscribers", "import", str(output), "--list", "copy", "--json"])
    assert back.exit_code == 0, back.output
    with unit_of_work() as session:
        first = session.scalars(select(Subscriber).where(Subscriber.email == people[0].email)).one()
        assert first.attributes == {"city": "Київ", "note": '=HYPERLINK("http://x")'}
        assert session.scalar(
            select(Subscriber.name).where(Subscriber.email == people[1].email)
        ) == ("-Dash, “quoted”")


def test_export_to_standard_output_streams_large_lists(pg_db: str) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session, "news"), 5_100)  # more than one batch
    answer = runner.invoke(app, ["subscribers", "export", "--list", "news"])
    lines = answer.stdout.splitlines()
    assert answer.exit_code == 0 and len(lines) == 5_101 and lines[0].endswith("consent_source")
    assert runner.invoke(app, ["subscribers", "export", "--list", "nope"]).exit_code == 2


def test_an_attribute_named_like_a_formula_is_defused_in_the_header(pg_db: str) -> None:
    with unit_of_work() as session:
        news = add_list(session, "news")
        [person] = add_subscribers(session, news, 1)
        person.attributes = {'=HYPERLINK("https://evil.example")': "@SUM(1)", "city": "Київ"}
    answer = runner.invoke(app, ["subscribers", "export", "--list", "news"])
    assert answer.exit_code == 0, answer.output
    header, row = list(csv.reader(io.StringIO(answer.stdout.removeprefix("\ufeff"))))
    assert header[-2:] == ['\'=HYPERLINK("https://evil.example")', "city"]
    assert row[-2:] == ["'@SUM(1)", "Київ"]
