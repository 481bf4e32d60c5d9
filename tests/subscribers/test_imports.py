"""Importing subscribers from CSV: good rows kept, bad rows reported, nothing half-applied."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from core.activity import ActivityEvent
from core.database import unit_of_work
from core.tasks import TaskName
from publisher.cli.main import app
from subscribers.addresses import InvalidAddress, normalise_address
from subscribers.import_rows import quick_normalise
from subscribers.imports import CHUNK, ImportJob, create_import, rejections, run_import
from subscribers.models import MailingList, Subscriber, Subscription, Suppression
from subscribers.suppression import address_hash
from tests.fixtures.factories import add_list
from tests.fixtures.paths import DATA
from tests.fixtures.tasks import TaskRecorder, recording

DATA = DATA / "imports"
runner = CliRunner()


@pytest.fixture
def tasks() -> Iterator[list[tuple[TaskName, list[Any]]]]:
    """Tasks enqueued after commit (recorded, not sent)."""
    with recording(TaskRecorder()) as recorder:
        yield recorder.tasks


def make_list(slug: str = "news", opt_in: str = "single") -> int:
    with unit_of_work() as session:
        mailing_list = add_list(session, slug)
        mailing_list.opt_in = opt_in
        return mailing_list.id


def do_import(name: str | Path, slug: str = "news", **options: Any) -> dict[str, Any]:
    """Run an import through the CLI (--json) and return its summary.

    A sample file is copied out first: the import writes its report beside the file.
    """
    path = name if isinstance(name, Path) else _copied(DATA / name)
    flags = [f"--{key.replace('_', '-')}" for key, on in options.items() if on is True]
    flags += [f"--{key}={value}" for key, value in options.items() if isinstance(value, str)]
    answer = runner.invoke(
        app, ["subscribers", "import", str(path), "--list", slug, "--json", *flags]
    )
    assert answer.exit_code in (0, 1), answer.output
    result: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    result["exit_code"] = answer.exit_code
    return result


def _copied(sample: Path) -> Path:
    copy = Path(tempfile.mkdtemp()) / sample.name
    shutil.copy(sample, copy)
    return copy


def members(slug: str = "news") -> dict[str, str]:
    with unit_of_work() as session:
        rows = session.execute(
            select(Subscriber.email, Subscription.status)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .join(MailingList, MailingList.id == Subscription.list_id)
            .where(MailingList.slug == slug)
        )
        return dict(rows.all())


def report(result: dict[str, Any]) -> list[tuple[int, str, str]]:
    with unit_of_work() as session:
        return [(r.line, r.email, r.reason) for r in rejections(session, result["id"])]


def test_good_file_on_single_opt_in_list_is_confirmed_with_consent_record(pg_db: str) -> None:
    list_id = make_list()
    result = do_import("good.csv")
    assert result["status"] == "done"
    assert (result["rows"], result["added"], result["new_subscribers"], result["rejected"]) == (
        3, 3, 3, 0,
    )  # fmt: skip
    assert result["attribute_columns"] == ["City"]
    with unit_of_work() as session:
        olena = session.scalars(
            select(Subscriber).where(Subscriber.email == "olena@example.com")
        ).one()
        assert (olena.name, olena.language, olena.timezone) == (
            "Олена Шевченко",
            "uk",
            "Europe/Kyiv",
        )
        assert olena.attributes == {"City": "Kyiv"}
        subscription = session.get_one(Subscription, (olena.id, list_id))
        assert subscription.status == "confirmed"
        assert subscription.consent_source == "import:good.csv"
        assert subscription.consent_at is not None
        kinds = session.execute(
            select(ActivityEvent.kind, func.count()).where(ActivityEvent.list_id == list_id)
            .group_by(ActivityEvent.kind)
        )  # fmt: skip
        assert dict(kinds.all()) == {
            "subscriber.subscribed": 3,
            "subscriber.confirmed": 3,
        }
    assert members() == dict.fromkeys(
        ["olena@example.com", "misaki@example.com", "alex@example.com"], "confirmed"
    )


def test_double_opt_in_list_asks_for_confirmation_after_commit(
    pg_db: str, tasks: list[tuple[str, list[Any]]]
) -> None:
    list_id = make_list("digest", opt_in="double")
    result = do_import("good.csv", slug="digest")
    assert result["added"] == 3
    assert set(members("digest").values()) == {"unconfirmed"}
    asked = [args for name, args in tasks if name == "herald.transactional.send_confirmations"]
    assert len(asked) == 1 and asked[0][0] == list_id and len(asked[0][1]) == 3


def test_double_opt_in_with_confirmed_flag_sends_nothing(
    pg_db: str, tasks: list[tuple[str, list[Any]]]
) -> None:
    make_list("digest", opt_in="double")
    result = do_import("good.csv", slug="digest", confirmed=True)
    assert result["added"] == 3
    assert set(members("digest").values()) == {"confirmed"}
    assert tasks == []


def test_never_resubscribes_someone_who_unsubscribed(pg_db: str) -> None:
    list_id = make_list()
    with unit_of_work() as session:
        person = Subscriber(email="olena@example.com", name="Olena")
        session.add(person)
        session.flush()
        session.add(Subscription(subscriber_id=person.id, list_id=list_id, status="unsubscribed"))
    result = do_import("good.csv")
    assert (result["added"], result["unsubscribed"], result["rejected"]) == (2, 1, 1)
    assert members()["olena@example.com"] == "unsubscribed"
    assert report(result) == [
        (2, "olena@example.com", "unsubscribed from this list: not resubscribed")
    ]


def test_suppressed_addresses_are_rejected_never_imported(pg_db: str) -> None:
    make_list()
    with unit_of_work() as session:
        session.add(Suppression(email="misaki@example.com", reason="complaint"))
    result = do_import("good.csv")
    assert "misaki@example.com" not in members()
    assert report(result) == [(3, "", "suppressed: this address is never mailed")]
    with unit_of_work() as session:
        assert (
            session.scalar(select(Subscriber).where(Subscriber.email == "misaki@example.com"))
            is None
        )


def test_every_kind_of_row_is_decided_alike_on_both_databases(db: str, tmp_path: Path) -> None:
    """PostgreSQL checks and writes through COPY-filled temporary tables, SQLite through
    parameters: the outcome must be the same row for row."""
    list_id = make_list()
    with unit_of_work() as session:
        gone = Subscriber(email="gone@example.com", name="Gone")
        blocked = Subscriber(email="blocked@example.com", status="blocked")
        pending = Subscriber(email="pending@example.com", name="Old", attributes={"since": "2020"})
        other = Subscriber(email="other@example.com", name="Other", language="uk")
        session.add_all([gone, blocked, pending, other])
        session.flush()
        session.add(Subscription(subscriber_id=gone.id, list_id=list_id, status="unsubscribed"))
        session.add(Subscription(subscriber_id=pending.id, list_id=list_id, status="unconfirmed"))
        session.add(Suppression(email="bounced@example.com", reason="complaint"))
        # Erased: only the hash of the address is left.
        session.add(
            Suppression(email=None, email_hash=address_hash("erased@example.com"), reason="erased")
        )
    source = tmp_path / "people.csv"
    source.write_text(
        "email,name,team\nnew@example.com,New,red\ngone@example.com,Back,\n"
        "bounced@example.com,,\nErased@Example.com,,\nblocked@example.com,,\n"
        "pending@example.com,Pending,blue\nother@example.com,,\nnew@example.com,,green\n",
        encoding="utf-8",
    )
    result = do_import(source)
    counts = {name: result[name] for name in ("rows", "duplicates", "rejected", "unsubscribed")}
    assert counts == {"rows": 8, "duplicates": 1, "rejected": 4, "unsubscribed": 1}
    assert (result["added"], result["new_subscribers"], result["updated"]) == (2, 1, 1)
    assert (result["now_confirmed"], result["already"]) == (1, 0)
    assert sorted(report(result)) == [
        (3, "gone@example.com", "unsubscribed from this list: not resubscribed"),
        (4, "", "suppressed: this address is never mailed"),
        (5, "", "suppressed: this address is never mailed"),
        (6, "blocked@example.com", "subscriber is blocked"),
    ]
    assert members() == {
        "new@example.com": "confirmed", "pending@example.com": "confirmed",
        "other@example.com": "confirmed", "gone@example.com": "unsubscribed",
    }  # fmt: skip
    with unit_of_work() as session:
        people = {
            person.email: (person.name, person.language, person.attributes)
            for person in session.scalars(select(Subscriber))
        }
        kinds = session.execute(
            select(ActivityEvent.kind, func.count()).where(ActivityEvent.list_id == list_id)
            .group_by(ActivityEvent.kind)
        )  # fmt: skip
        assert dict(kinds.all()) == {"subscriber.subscribed": 2, "subscriber.confirmed": 3}
    assert people == {
        "new@example.com": ("New", "en", {"team": "green"}),
        "gone@example.com": ("Gone", "en", {}),
        "blocked@example.com": ("", "en", {}),
        "pending@example.com": ("Pending", "en", {"since": "2020", "team": "blue"}),
        "other@example.com": ("Other", "uk", {}),
    }


def test_double_opt_in_import_asks_the_people_added_on_both_databases(
    db: str, tasks: list[tuple[str, list[Any]]]
) -> None:
    list_id = make_list("digest", opt_in="double")
    result = do_import("good.csv", slug="digest")
    assert result["added"] == 3
    with unit_of_work() as session:
        ids = set(session.scalars(select(Subscriber.id)))
    asked = [args for name, args in tasks if name == "herald.transactional.send_confirmations"]
    assert [(found, set(people)) for found, people in asked] == [(list_id, ids)]


def test_duplicates_in_the_file_and_in_the_database_are_upserted_and_counted(pg_db: str) -> None:
    make_list()
    first = do_import("duplicates.csv")
    assert (first["rows"], first["duplicates"], first["added"], first["new_subscribers"]) == (
        3,
        1,
        2,
        2,
    )
    with unit_of_work() as session:
        dup = session.scalars(select(Subscriber).where(Subscriber.email == "dup@example.com")).one()
        assert (dup.name, dup.attributes) == ("First Name", {"team": "red"})
    again = do_import("duplicates.csv")
    assert (again["added"], again["already"], again["new_subscribers"], again["updated"]) == (
        0,
        2,
        0,
        0,
    )
    assert len(members()) == 2


def test_existing_subscriber_details_are_updated_and_unconfirmed_confirmed(pg_db: str) -> None:
    list_id = make_list()
    with unit_of_work() as session:
        person = Subscriber(email="alex@example.com", name="", attributes={"since": "2020"})
        session.add(person)
        session.flush()
        session.add(Subscription(subscriber_id=person.id, list_id=list_id, status="unconfirmed"))
    result = do_import("good.csv")
    assert (result["updated"], result["now_confirmed"], result["added"]) == (1, 1, 2)
    with unit_of_work() as session:
        alex = session.scalars(
            select(Subscriber).where(Subscriber.email == "alex@example.com")
        ).one()
        assert alex.name == "O'Brien, Alex"
        assert alex.attributes == {"since": "2020", "City": "London"}
    assert members()["alex@example.com"] == "confirmed"


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
        (3, "broken quoting"), (4, "broken quoting"),
    ]  # fmt: skip


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
        app, ["subscribers", "import", str(_copied(DATA / "unknown_column.csv")), "--list", "news"]
    )
    assert "column 'Favourite Colour' is not a known column: kept as an attribute" in text.output
    with unit_of_work() as session:
        assert session.scalar(select(Subscriber.attributes)) == {
            "Favourite Colour": "teal", "company": "Acme",
        }  # fmt: skip


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
        assert session.scalar(select(func.count()).select_from(ActivityEvent).where(
            ActivityEvent.list_id == list_id)) == 0  # fmt: skip


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
    "Anna@Example.com", " bob@example.org ", "a.b+c@sub.example.co.uk", "x..y@example.com",
    ".x@example.com", "x.@example.com", "üser@example.com", "user@exämple.com", '"q"@example.com',
    "a@b", "a@localhost", "a@example", "a@-bad.com", "a@example..com", "a@[127.0.0.1]",
    "a" * 64 + "@example.com", "a" * 65 + "@example.com", "a@" + "b" * 250 + ".com",
    "Name <a@example.com>", "a@b@example.com", "a b@example.com", "o'brien@example.ie",
    "a@test", "a@example.invalid", "a@1.2.3.4", "a@ex_ample.com", "{a}@example.com", "",
    "@example.com", "a@", "a@.com", "a@xn--80ak6aa92e.com",
]  # fmt: skip


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
