"""Hostile input gets a clear 4xx or a per-item rejection, and nothing is stored.

YAML bombs, over-long and NUL-bearing post fields, year-1 dates, ids beyond int32 and
absurd webhook timestamps: each answer is checked, and so is the database afterwards.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditEntry
from core.database import unit_of_work
from publisher.app import create_app
from publisher.models import Post
from publisher.post_import import ImportSource, import_sources
from publisher.posts import CLI
from tests.factories import log_in

LAUGHS = "\n".join(
    [
        "---",
        'title: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join([f'*{before}'] * 9)}]"
            for before, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "speakers: [{name: *i}]",
        "---",
        "Body.",
    ]
).encode()


def _count(model: type[Any]) -> int:
    with unit_of_work() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_billion_laughs_file_is_rejected_quickly_with_a_reason(session: Session) -> None:
    assert len(LAUGHS) < 450
    started = time.perf_counter()
    report = import_sources(session, sources=[ImportSource("laughs.md", LAUGHS)], actor=CLI)
    assert time.perf_counter() - started < 0.1
    [rejection] = report.rejected
    assert rejection.origin == "laughs.md"
    assert "anchors and aliases (& and *) are not allowed (line 1)" in rejection.reason
    session.commit()
    assert (_count(Post), report.imported) == (0, [])


def test_a_merge_key_alias_is_refused_too(session: Session) -> None:
    text = b"---\nbase: &b {kind: event}\n<<: *b\ntitle: Forum\n---\n"
    report = import_sources(session, sources=[ImportSource("merge.md", text)], actor=CLI)
    assert "anchors and aliases" in report.rejected[0].reason
    assert report.imported == []


@pytest.fixture
def client(db: str) -> TestClient:
    """An admin's client (cookie and CSRF header) of the web app."""
    app = TestClient(create_app())
    app.headers["X-CSRF-Token"] = log_in(app)
    return app


POST = {"kind": "event", "title": "Kyiv–Tokyo forum", "timezone": "Europe/Kyiv"}
TOO_MUCH = [
    ({"title": "T" * 501}, "the title is longer than 500 characters"),
    ({"summary": "s" * 5001}, "the summary is longer than 5,000 characters"),
    ({"body": "b" * 500_001}, "the body is longer than 500,000 characters"),
    ({"speakers": [{"name": "N" * 201}]}, "speaker 1's name is longer than 200 characters"),
    ({"speakers": [{"name": "Ann", "role": "r" * 301}]}, "speaker 1's role is longer"),
    ({"speakers": [{"name": "Ann", "quote": "q" * 10_001}]}, "speaker 1's quote is longer"),
    ({"takeaways": ["t"] * 101}, "takeaways may have at most 100 items"),
    ({"takeaways": ["t" * 2001]}, "takeaway 1 is longer than 2,000 characters"),
    ({"media": [{"label": "l" * 301, "url": "https://v.example.org/1"}]}, "media 1's label"),
    ({"media": [{"url": "https://v.example.org/" + "x" * 2000}]}, "media 1's url is longer"),
    ({"topics": [f"t{n}" for n in range(51)]}, "topics may have at most 50 items"),
    ({"topics": ["t" * 101]}, "topic 1 is longer than 100 characters"),
    ({"title": "Forum\x00"}, "the title contains a NUL character"),
    ({"url": "https://example.org/\x00"}, "the url contains a NUL character"),
    ({"speakers": [{"name": "A\x00"}]}, "speaker 1's name contains a NUL character"),
    ({"starts_at": "0001-01-01T00:00:00+00:00"}, "starts at must be between the years 1900"),
    ({"published_at": "9999-12-31T23:59:59+00:00"}, "published at must be between"),
]


def test_post_fields_over_their_limits_are_422_with_the_reason(client: TestClient) -> None:
    for change, problem in TOO_MUCH:
        answer = client.post("/api/posts", json={**POST, **change})
        assert answer.status_code == 422, (change, answer.text)
        assert any(problem in line for line in answer.json()["detail"]), answer.json()
    assert _count(Post) == 0


def test_the_form_refuses_a_year_1_date_and_a_nul_title(client: TestClient) -> None:
    csrf, audited = client.headers["X-CSRF-Token"], _count(AuditEntry)
    form = {"csrf_token": csrf, "kind": "event", "title": "Forum", "timezone": "Europe/Kyiv"}
    answer = client.post("/admin/posts/new", data={**form, "starts_at": "0001-01-01T00:00"})
    assert answer.status_code == 422
    assert "starts at must be between the years 1900 and 2999" in answer.text
    answer = client.post("/admin/posts/new", data={**form, "title": "Forum\x00"})
    assert answer.status_code == 422
    assert "the title contains a NUL character" in answer.text
    assert (_count(Post), _count(AuditEntry)) == (0, audited)


def test_limits_leave_real_material_alone(client: TestClient) -> None:
    report = {
        **POST, "kind": "report", "body": "Слово word 言葉 — " * 10_000,
        "takeaways": [f"Takeaway {n}: «енергетика» — 復興" for n in range(10)],
        "speakers": [{"name": "佐藤 美咲", "role": "Director", "quote": "“Together.” " * 300}],
    }  # fmt: skip
    assert client.post("/api/posts", json=report).status_code == 201
    assert _count(Post) == 1
