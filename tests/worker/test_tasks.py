"""The task table holds: every task declared once, in worker/tasks.py, on the queue the table
gives it; the names and queues are the deployed ones; unknown names fail where enqueued."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from core import celery_app as celery_module
from core.celery_app import celery_app, dispatching_to, enqueue_after_commit, route_task
from core.database import unit_of_work
from core.tasks import ALL_QUEUES, QUEUE_OF, TaskName, UnknownTask
from tests.fixtures.paths import ROOT
from tests.fixtures.tasks import FLOWS, TaskRecorder, recording
from worker.app import app

DEPLOYED = {
    "herald.campaigns.enqueue": "bulk",
    "herald.campaigns.import_subscribers": "bulk",
    "herald.campaigns.plan": "bulk",
    "herald.campaigns.replay_attempt": "bulk",
    "herald.campaigns.send_batch": "bulk",
    "herald.scheduler.housekeeping": "control",
    "herald.scheduler.stats": "control",
    "herald.scheduler.tick": "control",
    "herald.transactional.send_confirmations": "transactional",
    "herald.transactional.send_welcomes": "transactional",
    "herald.transactional.test_send": "transactional",
    "herald.transactional.webhook_delivery": "transactional",
}
"""Names and queues as messages in flight and compose files know them: never to change."""

PACKAGES = ("core", "subscribers", "publisher", "worker", "sandbox")


def _declared_names(path: Path) -> list[str]:
    """The ``name=TaskName.X`` of every ``<app>.task(...)`` call in one module."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "task"
        ):
            continue
        for keyword in node.keywords:
            if keyword.arg == "name":
                names.append(ast.unparse(keyword.value))
    return names


def _string_literals(path: Path) -> list[str]:
    """Every string constant of a module, docstrings left out."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def test_the_names_and_queues_are_the_deployed_ones() -> None:
    assert {str(name): queue for name, queue in QUEUE_OF.items()} == DEPLOYED
    assert set(QUEUE_OF) == set(TaskName)
    assert set(QUEUE_OF.values()) == set(ALL_QUEUES)


def test_every_task_is_registered_and_routed_to_its_queue() -> None:
    registered = sorted(name for name in app.tasks if name.startswith("herald."))
    assert registered == sorted(DEPLOYED)
    for name, queue in DEPLOYED.items():
        route = app.amqp.router.route({}, name)
        assert route["queue"].name == queue, name


def test_each_task_is_declared_once_and_only_in_worker_tasks() -> None:
    declared = {
        path.relative_to(ROOT).as_posix(): _declared_names(path)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    elsewhere = {path: names for path, names in declared.items() if names}
    assert list(elsewhere) == ["worker/tasks.py"]
    counts = Counter(elsewhere["worker/tasks.py"])
    assert counts == Counter({f"TaskName.{name.name}": 1 for name in TaskName})


def test_no_module_spells_a_task_name_but_the_table() -> None:
    spelled = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if set(_string_literals(path)) & set(DEPLOYED)
    }
    assert spelled == {"core/tasks.py"}


def test_an_unknown_name_fails_where_it_is_enqueued(db: str) -> None:
    with recording(TaskRecorder()) as recorder, unit_of_work() as session:
        with pytest.raises(UnknownTask, match="plna"):
            enqueue_after_commit(session, "herald.campaigns.plna", 1)  # type: ignore[arg-type]
        enqueue_after_commit(session, TaskName.PLAN, 1)
    assert recorder.tasks == [(TaskName.PLAN, [1])]


def test_the_router_refuses_an_unknown_name_instead_of_a_default_queue() -> None:
    with pytest.raises(UnknownTask):
        route_task("herald.transactional.send_confirmation", (), {}, {})
    with pytest.raises(UnknownTask):
        celery_app.amqp.router.route({}, "herald.campaigns.plna")


def test_dispatching_to_gives_the_broker_back_after_the_block(db: str) -> None:
    before = celery_module._dispatcher
    seen: list[tuple[TaskName, list[Any]]] = []
    with pytest.raises(RuntimeError), dispatching_to(lambda name, args: seen.append((name, args))):
        with unit_of_work() as session:
            enqueue_after_commit(session, TaskName.ENQUEUE, 7)
        raise RuntimeError("the test failed half-way")
    assert seen == [(TaskName.ENQUEUE, [7])]
    assert celery_module._dispatcher is before


def test_the_in_memory_broker_can_run_every_task() -> None:
    assert set(FLOWS) == set(TaskName)
