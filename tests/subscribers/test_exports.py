"""CSV out: list exports (every member, text unmangled, re-importable) and the one formula
guard every CSV Herald writes goes through."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from core.database import unit_of_work
from core.spreadsheets import escape_formula, unescape_formula
from publisher.cli.main import app
from publisher.stats.export import to_csv
from subscribers.models import Subscriber
from tests.fixtures.factories import add_list, add_subscribers
from tests.fixtures.paths import ROOT

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


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Київ", "Київ"),
        ("a=b", "a=b"),
        (None, ""),
        (3, 3),
    ],
)
def test_every_formula_start_is_escaped_and_read_back(value: Any, cell: Any) -> None:
    assert escape_formula(value) == cell
    if isinstance(value, str):
        assert unescape_formula(escape_formula(value)) == value


def test_every_csv_we_write_goes_through_the_one_guard() -> None:
    root = ROOT
    writers = [
        str(path.relative_to(root))
        for package in ("core", "subscribers", "publisher", "worker")
        for path in (root / package).rglob("*.py")
        if "csv.writer(" in path.read_text(encoding="utf-8")
        or "csv.DictWriter(" in path.read_text(encoding="utf-8")
    ]
    assert writers == ["core/spreadsheets.py"]


def test_the_statistics_csvs_defuse_formulas() -> None:
    text = to_csv(["subject", "url"], [['=HYPERLINK("https://evil.example")', "@x"], ["ok", 1]])
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [
        ["subject", "url"],
        ['\'=HYPERLINK("https://evil.example")', "'@x"],
        ["ok", "1"],
    ]
