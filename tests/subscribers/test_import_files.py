"""Importing subscribers from files that are not clean: bad addresses and quoting, encodings,
unknown columns, NUL bytes, big files in chunks; the dry run and the report of rejected rows."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.activity import ActivityEvent
from core.database import unit_of_work
from publisher.cli.main import app
from subscribers.addresses import InvalidAddress, normalise_address
from subscribers.import_rows import quick_normalise
from subscribers.imports import CHUNK, ImportJob, create_import, run_import
from subscribers.models import Subscriber, Subscription
from tests.fixtures.imports import DATA, copied, do_import, make_list, members, report, runner


def test_invalid_addresses_are_reported_with_line_and_reason(pg_db: str) -> None:
    make_list()
    result = do_import("invalid.csv")
    assert (result["added"], result["rejected"]) == (1, 4)
    rows = report(result)
    assert [line for line, _, _ in rows] == [2, 4, 5, 6]
    assert rows[0][1] == "not-an-address" and rows[0][2].startswith("invalid address: ")
    assert rows[3] == (6, "", "no email address")
    assert members() == {"ok@example.com": "confirmed"}


def test_broken_quoting_costs_only_the_broken_rows(pg_db: str) -> None:
    make_list()
    result = do_import("broken_quoting.csv")
    assert set(members()) == {"first@example.com", "fourth@example.com"}
    assert [(line, reason.split(":")[0]) for line, _, reason in report(result)] == [
        (3, "broken quoting"),
        (4, "broken quoting"),
    ]


def test_not_utf8_is_refused_with_the_line_and_nothing_imported(pg_db: str) -> None:
    make_list()
    result = do_import("windows_1252.csv")
    assert result["status"] == "failed" and result["exit_code"] == 1
    assert result["error"].startswith("line 3: byte 0xe9 is not utf-8; nothing was imported")
    assert members() == {}
    fixed = do_import("windows_1252.csv", encoding="cp1252")
    assert fixed["added"] == 2
    with unit_of_work() as session:
        assert session.scalar(
            select(Subscriber.name).where(Subscriber.email == "rene@example.com")
        ) == ("René Müller")


def test_utf8_bom_semicolons_and_header_spellings(pg_db: str) -> None:
    make_list()
    result = do_import("bom_semicolon.csv")
    assert result["added"] == 1 and result["attribute_columns"] == []
    with unit_of_work() as session:
        assert session.scalar(select(Subscriber.name)) == "Мар'яна"


def test_unknown_columns_are_kept_as_attributes_and_named_in_the_summary(pg_db: str) -> None:
    make_list()
    result = do_import("unknown_column.csv")
    assert result["attribute_columns"] == ["Favourite Colour", "company"]
    text = runner.invoke(
        app, ["subscribers", "import", str(copied(DATA / "unknown_column.csv")), "--list", "news"]
    )
    assert "column 'Favourite Colour' is not a known column: kept as an attribute" in text.output
    with unit_of_work() as session:
        assert session.scalar(select(Subscriber.attributes)) == {
            "Favourite Colour": "teal",
            "company": "Acme",
        }


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("empty.csv", "the file is empty"),
        ("picture.png", "this is not a CSV file: it looks like a PNG image"),
        ("list.json", "this is not a CSV file: it looks like JSON"),
        ("no_email_column.csv", "no email column in the header (columns: 'name', 'city')"),
    ],
)
def test_files_that_cannot_be_imported_fail_clearly_and_change_nothing(
    pg_db: str, name: str, error: str
) -> None:
    make_list()
    result = do_import(name)
    assert (result["status"], result["error"], result["exit_code"]) == ("failed", error, 1)
    assert members() == {}


def test_header_only_file_imports_nothing_and_succeeds(pg_db: str) -> None:
    make_list()
    result = do_import("header_only.csv")
    assert (result["status"], result["rows"]) == ("done", 0)


def test_dry_run_counts_without_changing_anything(pg_db: str) -> None:
    list_id = make_list()
    with unit_of_work() as session:
        session.add(Subscriber(email="alex@example.com", name="Alex"))
    result = do_import("good.csv", dry_run=True)
    assert result["dry_run"] is True
    assert (result["added"], result["new_subscribers"], result["updated"]) == (3, 2, 1)
    assert members() == {}
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 1
        assert (
            session.scalar(
                select(func.count())
                .select_from(ActivityEvent)
                .where(ActivityEvent.list_id == list_id)
            )
            == 0
        )


def test_report_file_lists_rejected_rows(pg_db: str, tmp_path: Path) -> None:
    make_list()
    source = tmp_path / "people.csv"
    shutil.copy(DATA / "invalid.csv", source)
    result = do_import(source)
    written = Path(result["report"]).read_text(encoding="utf-8").splitlines()
    assert written[0] == "line,email,reason" and len(written) == 5
    assert written[-1] == "6,,no email address"


def test_rows_across_chunks_and_a_resumed_job(pg_db: str, tmp_path: Path) -> None:
    make_list()
    source = tmp_path / "many.csv"
    count = CHUNK * 2 + 7
    with source.open("w", encoding="utf-8") as file:
        file.write("email,name\n")
        file.writelines(f"p{n}@example.com,Person {n}\n" for n in range(count))
    with unit_of_work() as session:
        job = create_import(session, list_slug="news", file_name="many.csv", path=source)
        # As if a worker died after committing the first chunk: the rerun resumes there.
        job.status, job.line_done = "running", CHUNK + 1
        job.counts = job.counts | {"rows": CHUNK, "added": CHUNK}
        job_id = job.id
    with unit_of_work() as session:
        done = run_import(session, job_id)
        assert (done.status, done.counts["rows"], done.counts["added"]) == ("done", count, count)
        assert done.line_done == count + 1
        assert session.scalar(select(func.count()).select_from(Subscription)) == count - CHUNK
        assert session.get_one(ImportJob, job_id).lines_total == count + 1


TRICKY_ADDRESSES = [
    "Anna@Example.com",
    " bob@example.org ",
    "a.b+c@sub.example.co.uk",
    "x..y@example.com",
    ".x@example.com",
    "x.@example.com",
    "üser@example.com",
    "user@exämple.com",
    '"q"@example.com',
    "a@b",
    "a@localhost",
    "a@example",
    "a@-bad.com",
    "a@example..com",
    "a@[127.0.0.1]",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a@" + "b" * 250 + ".com",
    "Name <a@example.com>",
    "a@b@example.com",
    "a b@example.com",
    "o'brien@example.ie",
    "a@test",
    "a@example.invalid",
    "a@1.2.3.4",
    "a@ex_ample.com",
    "{a}@example.com",
    "",
    "@example.com",
    "a@",
    "a@.com",
    "a@xn--80ak6aa92e.com",
]


@pytest.mark.parametrize("raw", TRICKY_ADDRESSES)
def test_the_per_domain_shortcut_agrees_with_normalise_address(raw: str) -> None:
    def outcome(normalise: Any) -> str:
        try:
            return str(normalise(raw))
        except InvalidAddress as error:
            return f"invalid: {error}"

    assert outcome(quick_normalise) == outcome(normalise_address)


def test_a_nul_byte_rejects_its_row_only_and_the_chunk_is_kept(db: str, tmp_path: Path) -> None:
    make_list()
    lines = ["email,name,City"] + [f"p{n}@example.com,Person {n},Kyiv" for n in range(1, 2001)]
    lines[10] = "p10@example.com,Nul\x00Name,Kyiv"  # inside the first 64 KB
    lines[1990] = "p1990@exam\x00ple.com,Late,Kyiv"  # past them
    path = tmp_path / "nul.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 1 << 16
    result = do_import(path)
    counts = (result["status"], result["rows"], result["added"], result["rejected"])
    assert counts == ("done", 2000, 1998, 2)
    assert report(result) == [
        (11, "p10@example.com", "the row contains a NUL character"),
        (1991, "p1990@example.com", "the row contains a NUL character"),
    ]
    kept = members()
    assert len(kept) == 1998 and "p10@example.com" not in kept and "p11@example.com" in kept


def test_a_file_full_of_nul_bytes_is_refused_whole(db: str, tmp_path: Path) -> None:
    make_list()
    path = tmp_path / "utf16.csv"
    path.write_bytes("email\nolena@example.com\n".encode("utf-16-le"))  # no byte-order mark
    result = do_import(path)
    assert result["status"] == "failed" and "binary data" in result["error"]
    assert members() == {}


def test_a_nul_in_the_header_refuses_the_file(db: str, tmp_path: Path) -> None:
    make_list()
    path = tmp_path / "header.csv"
    path.write_text("email,Ci\x00ty\nolena@example.com,Kyiv\n", encoding="utf-8")
    result = do_import(path)
    assert result["status"] == "failed" and "NUL character" in result["error"]
    assert members() == {}


def test_the_cli_report_of_rejected_rows_never_holds_a_live_formula(
    db: str, tmp_path: Path
) -> None:
    make_list()
    formula = '=HYPERLINK("https://evil.example/","Open")'
    path = tmp_path / "evil.csv"
    path.write_text(f'email\n"{formula.replace(chr(34), chr(34) * 2)}"\n@evil\n', "utf-8")
    result = do_import(path)
    written = Path(result["report"]).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(written)))
    assert [row[1] for row in rows[1:]] == ["'" + formula, "'@evil"]
    assert members() == {}
