"""schemathesis against ``/openapi.json``: every operation, authenticated as an admin, no 5xx.

Runs in process through the ASGI app on a seeded PostgreSQL database (its int4 ids and its
refusal of NUL characters are where 500s hide). Bounded so CI stays stable: a few
derandomized examples per operation and a total time budget.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from sqlalchemy.orm import Session

from core.database import unit_of_work
from publisher.app import create_app
from publisher.users import create_api_token
from tests.factories import add_announcement, add_draft, add_list, add_subscribers, add_user

# A deeper local run: HERALD_TEST_SCHEMATHESIS_EXAMPLES=80 HERALD_TEST_SCHEMATHESIS_SECONDS=600
EXAMPLES_PER_OPERATION = int(os.environ.get("HERALD_TEST_SCHEMATHESIS_EXAMPLES", "15"))
BUDGET_SECONDS = float(os.environ.get("HERALD_TEST_SCHEMATHESIS_SECONDS", "85"))


def _seed(session: Session) -> str:
    """An admin with an API token, and rows of each kind so that small ids exist."""
    admin = add_user(session)
    news = add_list(session, "news")
    add_list(session, "digest")
    add_subscribers(session, news, 3)
    add_draft(session)
    add_announcement(session, "news")
    token = create_api_token(session, admin, name="schemathesis")
    session.commit()
    return token


@pytest.fixture
def api(pg_db: str) -> Iterator[tuple[Any, str]]:
    with unit_of_work() as session:
        token = _seed(session)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    yield schema, token


def test_no_operation_answers_a_server_error(api: tuple[Any, str]) -> None:
    schema, token = api
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 80  # the whole API, pages and JSON
    failures: list[str] = []
    started, covered = time.monotonic(), 0
    for operation in operations:
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        _exercise(operation, headers, failures)
        covered += 1
    assert failures == [], "\n".join(failures)
    assert covered == len(operations), f"the time budget ran out after {covered} operations"


def _exercise(operation: Any, headers: dict[str, str], failures: list[str]) -> None:
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
        if not isinstance(status, int) or status >= 500:
            failures.append(f"{status}: {case.as_curl_command()[:400]}")

    call()
