"""Capturing the tasks the web app enqueues and reading the mail they write, for the tests of
subscribing, preferences, suppression and privacy.

:class:`Mailroom` stands in for the broker (like ``tests.test_pipeline.TaskRecorder``, but
running transactional mail too) and reads the outbox's transactional folder like an inbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

import core.celery_app
from core.activity import ActivityEvent
from core.database import unit_of_work
from core.settings import get_settings
from subscribers.consent import CONFIRM_TASK, WELCOME_TASK
from subscribers.models import Subscriber, Subscription, Suppression
from worker import pipeline, sending, transactional


class Mailroom:
    """Stands in for the broker: keeps tasks enqueued after each commit, runs them on demand
    (transactional mail and the campaign pipeline), and reads the outbox like an inbox."""

    RUNNERS: ClassVar[dict[str, Callable[..., None]]] = {
        CONFIRM_TASK: transactional.deliver_confirmations,
        WELCOME_TASK: transactional.deliver_welcomes,
        "herald.campaigns.plan": pipeline.plan_campaign,
        "herald.campaigns.send_batch": sending.send_batch,
    }

    def __init__(self) -> None:
        self.tasks: list[tuple[str, list[Any]]] = []

    def __call__(self, name: str, args: list[Any]) -> None:
        self.tasks.append((name, args))

    def run(self) -> None:
        """Run every recorded task, and those they enqueue, to completion."""
        while self.tasks:
            name, args = self.tasks.pop(0)
            self.RUNNERS[name](*args)

    def names(self) -> list[str]:
        return [name for name, _ in self.tasks]

    def message(self, kind: str, list_id: int, subscriber_id: int) -> EmailMessage | None:
        """The last ``confirm`` or ``welcome`` email written for one subscription, if any."""
        path = get_settings().outbox_dir / "transactional" / f"{kind}-{list_id}-{subscriber_id}.eml"
        if not path.exists():
            return None
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(parsed, EmailMessage)
        return parsed

    def sent(self) -> list[str]:
        """File names of every transactional email written so far."""
        folder = get_settings().outbox_dir / "transactional"
        return sorted(path.name for path in folder.glob("*.eml")) if folder.exists() else []


def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailroom]:
    """Put a :class:`Mailroom` in the broker's place for one test (yield from a fixture)."""
    recorder = Mailroom()
    monkeypatch.setattr(core.celery_app, "_dispatch", recorder)
    pipeline.current_provider.cache_clear()  # the outbox of this test's settings
    yield recorder
    pipeline.current_provider.cache_clear()


@pytest.fixture
def mailroom(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailroom]:
    """Tasks captured on the test database, to run with ``mailroom.run()``."""
    yield from recording(monkeypatch)


def confirm_url(message: EmailMessage) -> str:
    """The confirmation link of an email, from its plain-text part, as a path."""
    text = message.get_body(("plain",))
    assert text is not None
    line = next(word for word in text.get_content().split() if "/confirm/" in word)
    return line.replace("http://testserver", "")


def subscription(email: str, list_id: int) -> Subscription | None:
    with unit_of_work() as session:
        person = session.scalars(select(Subscriber).where(Subscriber.email == email)).first()
        return session.get(Subscription, (person.id, list_id)) if person else None


def subscriber_id(email: str) -> int:
    with unit_of_work() as session:
        found = session.scalar(select(Subscriber.id).where(Subscriber.email == email))
        assert found is not None
        return found


def activity(kind: str) -> list[ActivityEvent]:
    with unit_of_work() as session:
        return list(session.scalars(select(ActivityEvent).where(ActivityEvent.kind == kind)))


def everything() -> list[tuple[object, ...]]:
    """Every subscriber, subscription and suppression row, for before/after comparisons."""
    with unit_of_work() as session:
        rows: list[tuple[object, ...]] = []
        for model in (Subscriber, Subscription, Suppression):
            for item in session.scalars(select(model)):
                rows.append(
                    tuple(sorted((k, repr(v)) for k, v in vars(item).items() if k[0] != "_"))
                )
        return sorted(rows, key=repr)
