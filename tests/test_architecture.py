"""The floor plan, held by a test: which package may import which, where the commits are,
what the doors (routes and commands) may touch, and that no module imports itself round.

The rules are CONVENTIONS.md's; each test names the rule it holds. The import graph is read
from the source with ``ast`` (every import, at module level or inside a function), so an
import added anywhere shows up here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.fixtures.paths import ROOT

PACKAGES = ("core", "subscribers", "publisher", "worker", "sandbox")
LAYERS = ("core", "subscribers", "publisher", "worker")
DOORS = ("publisher.web", "publisher.cli")
WINGS = (
    "publisher.posts",
    "publisher.campaigns",
    "publisher.audience",
    "publisher.sending",
    "publisher.tracking",
    "publisher.stats",
    "publisher.webhooks",
    "publisher.accounts",
)
# The one exception to "services never commit": an import commits each chunk it has written,
# so a large file is kept in parts and a crash resumes where it stopped.
COMMITTERS = {"core.database", "subscribers.imports"}
# What a door may take from SQLAlchemy: the session type it is handed, and error types it
# turns into answers. Queries belong to the services.
DOOR_SQLALCHEMY = {"sqlalchemy.orm", "sqlalchemy.exc"}
MAX_MODULE_LINES = 400


@dataclass(frozen=True)
class Import:
    """One import statement of one module: what it names, and where."""

    module: str
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of Herald's packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _targets(node: ast.AST, known: dict[str, Path]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        for alias in node.names:
            submodule = f"{node.module}.{alias.name}"
            yield submodule if submodule in known else node.module


@cache
def imports() -> tuple[Import, ...]:
    """Every import of every module, resolved to a module where it names one of ours."""
    known = modules()
    found = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            found.extend(Import(name, target, node.lineno) for target in _targets(node, known))
    return tuple(found)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _where(imp: Import) -> str:
    return f"{modules()[imp.module].relative_to(ROOT)}:{imp.line} imports {imp.target}"


@pytest.mark.parametrize("package", LAYERS)
def test_layers_point_one_way(package: str) -> None:
    """core <- subscribers <- publisher <- worker: a package imports only those below it."""
    above = LAYERS[LAYERS.index(package) + 1 :]
    wrong = [
        _where(imp)
        for imp in imports()
        if _within(imp.module, package) and any(_within(imp.target, up) for up in above)
    ]
    assert wrong == []


def test_nothing_imports_the_worker() -> None:
    """The web app and the CLI enqueue tasks by name; only the worker knows its own modules."""
    wrong = [
        _where(imp)
        for imp in imports()
        if _within(imp.target, "worker") and not _within(imp.module, "worker")
    ]
    assert wrong == []


def test_the_sandbox_is_a_development_tool() -> None:
    """Only the ``herald sandbox`` command starts it, and it stands on core alone."""
    users = {imp.module for imp in imports() if _within(imp.target, "sandbox")}
    assert {user for user in users if not _within(user, "sandbox")} <= {"publisher.cli.main"}
    wrong = [
        _where(imp)
        for imp in imports()
        if _within(imp.module, "sandbox")
        and any(_within(imp.target, package) for package in ("subscribers", "publisher"))
    ]
    assert wrong == []


def test_no_wing_imports_a_door() -> None:
    """Services never know who calls them: no wing imports the web routes or the CLI."""
    wrong = [
        _where(imp)
        for imp in imports()
        if any(_within(imp.module, wing) for wing in WINGS)
        and any(_within(imp.target, door) for door in DOORS)
    ]
    assert wrong == []


def test_doors_leave_queries_to_the_services() -> None:
    """Routes and commands parse, call a service and present: no SQL of their own."""
    wrong = [
        _where(imp)
        for imp in imports()
        if any(_within(imp.module, door) for door in DOORS)
        and _within(imp.target, "sqlalchemy")
        and not any(_within(imp.target, allowed) for allowed in DOOR_SQLALCHEMY)
    ]
    assert wrong == []


def test_no_private_name_is_taken_from_another_module() -> None:
    """A leading underscore means "this module's own": another module asks for a public name."""
    known = modules()
    wrong = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in known:
                private = [a.name for a in node.names if a.name.startswith("_")]
                wrong.extend(f"{name}:{node.lineno} takes {node.module}.{p}" for p in private)
    assert wrong == []


def _commits(path: Path) -> Iterator[int]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
            and not node.args
        ):
            yield node.lineno


def test_only_the_unit_of_work_commits() -> None:
    """One commit per request and per task, in core.database.unit_of_work (imports apart)."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line}"
        for name, path in modules().items()
        if name not in COMMITTERS
        for line in _commits(path)
    ]
    assert wrong == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative enough)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round() -> None:
    """A cycle is a design bug: the shared piece moves down to a module both can import."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for imp in imports():
        if imp.target in known and imp.target != imp.module:
            # A package's face hands names on; importing the face is importing the package.
            graph.setdefault(imp.module, set()).add(imp.target)
    assert _cycles(graph) == []


def test_modules_stay_readable_at_once() -> None:
    """Modules under about 400 lines: a module longer than that holds two subjects."""
    long = {
        str(path.relative_to(ROOT)): lines
        for path in modules().values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_every_module_and_public_function_says_what_it_is() -> None:
    """A docstring on each module and each public function or class."""
    missing = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if ast.get_docstring(tree) is None:
            missing.append(name)
        for node in tree.body:
            public = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            if public and not node.name.startswith("_") and ast.get_docstring(node) is None:
                missing.append(f"{name}.{node.name}")
    assert missing == []
