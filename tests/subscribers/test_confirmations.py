"""Confirmation emails asked for by others than the form (imports), sent in chunks, and once
through a real web process and a real Celery worker on the embedded broker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.database import unit_of_work
from core.settings import get_settings
from core.tasks import TaskName
from subscribers.consent import TASK_CHUNK, ask_for_confirmation
from subscribers.lists import create_list
from subscribers.models import Subscriber, Subscription
from tests.conftest import use_settings
from tests.fixtures.mailroom import Mailroom, confirm_url, subscriber_id, subscription
from tests.fixtures.processes import celery_worker, herald_env, wait_until
from tests.fixtures.subscribing import Lists
from worker import transactional

# Confirmations asked for by others (imports)


def test_confirmations_are_asked_in_chunks_of_ids(mailroom: Mailroom, lists: Lists) -> None:
    with unit_of_work() as session:
        ask_for_confirmation(session, list_id=lists.forum, subscriber_ids=range(1, 1202))
        assert mailroom.tasks == []  # only once committed
    sizes = [len(args[1]) for name, args in mailroom.tasks if name == TaskName.SEND_CONFIRMATIONS]
    assert sizes == [TASK_CHUNK, TASK_CHUNK, 201]


def test_an_imported_subscriber_gets_a_working_link(
    client: TestClient, mailroom: Mailroom, lists: Lists
) -> None:
    with unit_of_work() as session:
        person = Subscriber(email="imported@example.org", name="Ім'я", language="uk")
        session.add(person)
        session.flush()
        session.add(
            Subscription(
                subscriber_id=person.id, list_id=lists.forum, consent_source="import:x.csv"
            )
        )
        ask_for_confirmation(session, list_id=lists.forum, subscriber_ids=[person.id])
    mailroom.run()
    message = mailroom.message("confirm", lists.forum, person.id)
    assert message is not None and "Підтвердьте" in str(message["Subject"])
    assert client.post(confirm_url(message)).status_code == 200
    with unit_of_work() as session:
        count = session.scalar(
            select(func.count()).select_from(Subscription).where(Subscription.status == "confirmed")
        )
    assert count == 1


def test_a_provider_that_cannot_be_built_holds_the_confirmation_for_a_retry(
    mailroom: Mailroom, lists: Lists, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work() as session:
        person = Subscriber(email="held@example.org", name="Held")
        session.add(person)
        session.flush()
        session.add(Subscription(subscriber_id=person.id, list_id=lists.forum))
        person_id = person.id
    use_settings(monkeypatch, provider="postmark", postmark_server_token="")
    with pytest.raises(transactional.SendLater) as later:
        transactional.deliver_confirmations(lists.forum, [person_id])
    assert later.value.subscriber_ids == [person_id]
    assert mailroom.message("confirm", lists.forum, person_id) is None
    use_settings(monkeypatch, provider="outbox")  # fixed: the retry sends it
    transactional.deliver_confirmations(lists.forum, [person_id])
    assert mailroom.message("confirm", lists.forum, person_id) is not None


# Through a real worker


SUBSCRIBE_IN_A_WEB_PROCESS = """
import pytest
from fastapi.testclient import TestClient
from publisher.web.app import app
answer = TestClient(app).post("/subscribe/forum", data={"email": "anna@example.org"})
assert answer.status_code == 200, answer.text
"""


def test_a_real_worker_emails_the_confirmation(sqlite_db: str, tmp_path: Path) -> None:
    with unit_of_work() as session:
        forum = create_list(session, slug="forum", name="Forum", opt_in="double").id
    settings = get_settings()
    env = herald_env(
        database_url=sqlite_db,
        broker_url=settings.broker_url,
        env="test",
        outbox_dir=str(settings.outbox_dir),
        base_url="http://testserver",
    )
    with celery_worker(env, tmp_path, name="transactional"):
        web = subprocess.run(
            [sys.executable, "-c", SUBSCRIBE_IN_A_WEB_PROCESS],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert web.returncode == 0, web.stderr
        person = subscriber_id("anna@example.org")
        wait_until(
            lambda: Mailroom().message("confirm", forum, person) is not None,
            timeout=120,
            what="the confirmation email",
        )
    message = Mailroom().message("confirm", forum, person)
    assert message is not None and "/confirm/" in confirm_url(message)
    pending = subscription("anna@example.org", forum)
    assert pending is not None and pending.confirmation_sent_at is not None
