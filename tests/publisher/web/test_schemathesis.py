"""schemathesis against ``/openapi.json``: every operation, authenticated as an admin, no 5xx.

Runs in process through the ASGI app on a seeded PostgreSQL database (its int4 ids and its
refusal of NUL characters are where 500s hide). Bounded so CI stays stable: a few
derandomized examples per operation and a total time budget.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.database import unit_of_work
from publisher.accounts.models import User
from publisher.accounts.tokens import create_api_token
from publisher.web.app import create_app
from tests.fixtures.factories import (
    add_announcement,
    add_draft,
    add_list,
    add_subscribers,
    add_user,
)

# A deeper local run: HERALD_TEST_SCHEMATHESIS_EXAMPLES=80 HERALD_TEST_SCHEMATHESIS_SECONDS=600
EXAMPLES_PER_OPERATION = int(os.environ.get("HERALD_TEST_SCHEMATHESIS_EXAMPLES", "15"))
BUDGET_SECONDS = float(os.environ.get("HERALD_TEST_SCHEMATHESIS_SECONDS", "85"))
ADMIN = "admin@example.com"


def _seed(session: Session) -> None:
    """An admin, and rows of each kind so that small ids exist."""
    add_user(session, ADMIN)
    news = add_list(session, "news")
    add_list(session, "digest")
    add_subscribers(session, news, 3)
    add_draft(session)
    add_announcement(session, "news")


def _admin_token() -> str:
    """A new API token of the (re-activated) admin: an operation may have ended the last."""
    with unit_of_work() as session:
        admin = session.scalars(select(User).where(User.email == ADMIN)).one()
        admin.active = True
        return create_api_token(session, admin, name="schemathesis")


@pytest.fixture
def schema(pg_db: str) -> Any:
    with unit_of_work() as session:
        _seed(session)
    return schemathesis.openapi.from_asgi("/openapi.json", create_app())


def test_no_operation_answers_a_server_error(schema: Any) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 80  # the whole API, pages and JSON
    failures: list[str] = []
    answered: Counter[int] = Counter()
    started, covered = time.monotonic(), 0
    for operation in operations:
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        _exercise(operation, {"Authorization": f"Bearer {_admin_token()}"}, failures, answered)
        covered += 1
    assert failures == [], "\n".join(failures)
    # Authenticated as an admin throughout: nothing was refused for who was asking.
    assert answered[401] == answered[403] == 0 and answered[200] > 0, answered
    assert covered == len(operations), f"the time budget ran out after {covered} operations"


def _exercise(
    operation: Any, headers: dict[str, str], failures: list[str], answered: Counter[int]
) -> None:
    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        try:
            status = case.call(headers=headers).status_code
        except Exception as error:  # the in-process client re-raises what would be a 500
            status = f"500 ({type(error).__name__}: {str(error).splitlines()[0][:120]})"
        if isinstance(status, int):
            answered[status] += 1
        if not isinstance(status, int) or status >= 500:
            failures.append(f"{status}: {case.as_curl_command()[:400]}")

    call()
