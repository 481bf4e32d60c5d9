"""Importing subscribers from CSV: consent and opt-in, suppressions and unsubscribes respected,
duplicates and known subscribers upserted, the same decisions on both databases.

Files that are not clean are in test_import_files.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.activity import ActivityEvent
from core.database import unit_of_work
from core.tasks import TaskName
from subscribers.models import Subscriber, Subscription, Suppression
from subscribers.suppression import address_hash
from tests.fixtures.imports import do_import, make_list, members, report
from tests.fixtures.tasks import TaskRecorder, recording


@pytest.fixture
def tasks() -> Iterator[list[tuple[TaskName, list[Any]]]]:
    """Tasks enqueued after commit (recorded, not sent)."""
    with recording(TaskRecorder()) as recorder:
        yield recorder.tasks


def test_good_file_on_single_opt_in_list_is_confirmed_with_consent_record(pg_db: str) -> None:
    list_id = make_list()
    result = do_import("good.csv")
    assert result["status"] == "done"
    assert (result["rows"], result["added"], result["new_subscribers"], result["rejected"]) == (
        3,
        3,
        3,
        0,
    )
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
            select(ActivityEvent.kind, func.count())
            .where(ActivityEvent.list_id == list_id)
            .group_by(ActivityEvent.kind)
        )
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
        "new@example.com": "confirmed",
        "pending@example.com": "confirmed",
        "other@example.com": "confirmed",
        "gone@example.com": "unsubscribed",
    }
    with unit_of_work() as session:
        people = {
            person.email: (person.name, person.language, person.attributes)
            for person in session.scalars(select(Subscriber))
        }
        kinds = session.execute(
            select(ActivityEvent.kind, func.count())
            .where(ActivityEvent.list_id == list_id)
            .group_by(ActivityEvent.kind)
        )
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
