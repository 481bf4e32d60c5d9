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
DOOR_SQLALCHEMY: dict[str, set[str] | None] = {
    "sqlalchemy.orm": {"Session"},
    "sqlalchemy.exc": None,
}
SANDBOX_COMMAND = "publisher.cli.main"
MAX_MODULE_LINES = 400


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of Herald's packages under ``root``, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found[_module_name(path, root)] = path
    return found


@dataclass(frozen=True)
class Import:
    """One import of one module: what it names (a module of ours where it names one), and where."""

    module: str
    target: str
    names: tuple[str, ...]
    line: int
    path: Path


@cache
def imports(root: Path = ROOT) -> tuple[Import, ...]:
    """Every import of every module under ``root``."""
    known = modules(root)
    found = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            found.extend(_imports_of(node, name, path, known))
    return tuple(found)


def _imports_of(node: ast.AST, module: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield Import(module, alias.name, (), node.lineno, path)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        plain = []
        for alias in node.names:
            submodule = f"{node.module}.{alias.name}"
            if submodule in known:
                yield Import(module, submodule, (), node.lineno, path)
            else:
                plain.append(alias.name)
        if plain:
            yield Import(module, node.module, tuple(plain), node.lineno, path)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _where(imp: Import, root: Path) -> str:
    return f"{imp.path.relative_to(root)}:{imp.line} imports {imp.target}"


def layer_breaches(root: Path = ROOT) -> list[str]:
    """Imports of a package above the importer's: core <- subscribers <- publisher <- worker."""
    return [
        _where(imp, root)
        for imp in imports(root)
        for package in LAYERS
        if _within(imp.module, package)
        and any(_within(imp.target, up) for up in LAYERS[LAYERS.index(package) + 1 :])
    ]


def worker_importers(root: Path = ROOT) -> list[str]:
    """Imports of the worker from outside it: everyone else enqueues tasks by name."""
    return [
        _where(imp, root)
        for imp in imports(root)
        if _within(imp.target, "worker") and not _within(imp.module, "worker")
    ]


def sandbox_breaches(root: Path = ROOT) -> list[str]:
    """The sandbox imported by anything but its command, or itself importing a domain."""
    return [
        _where(imp, root)
        for imp in imports(root)
        if (
            _within(imp.target, "sandbox")
            and not _within(imp.module, "sandbox")
            and imp.module != SANDBOX_COMMAND
        )
        or (
            _within(imp.module, "sandbox")
            and any(_within(imp.target, domain) for domain in ("subscribers", "publisher"))
        )
    ]


def wings_at_doors(root: Path = ROOT) -> list[str]:
    """Imports of the web routes or the CLI from a wing: services never know their caller."""
    return [
        _where(imp, root)
        for imp in imports(root)
        if any(_within(imp.module, wing) for wing in WINGS)
        and any(_within(imp.target, door) for door in DOORS)
    ]


def queries_at_doors(root: Path = ROOT) -> list[str]:
    """SQLAlchemy names a route or command takes beyond the session type and error types."""
    found = []
    for imp in imports(root):
        if not any(_within(imp.module, door) for door in DOORS):
            continue
        if not _within(imp.target, "sqlalchemy"):
            continue
        allowed = DOOR_SQLALCHEMY.get(imp.target, set())
        if allowed is None:
            continue
        taken = [name for name in imp.names if name not in allowed] if imp.names else [imp.target]
        found += [f"{imp.path.relative_to(root)}:{imp.line} takes {name}" for name in taken]
    return found


def private_names_taken(root: Path = ROOT) -> list[str]:
    """Names with a leading underscore imported from another module of ours."""
    known = modules(root)
    return [
        f"{imp.path.relative_to(root)}:{imp.line} takes {imp.target}.{name}"
        for imp in imports(root)
        if imp.target in known
        for name in imp.names
        if name.startswith("_")
    ]


def _commits(path: Path) -> Iterator[int]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
            and not node.args
        ):
            yield node.lineno


def stray_commits(root: Path = ROOT) -> list[str]:
    """``.commit()`` calls outside the unit of work (and the import's chunks)."""
    return [
        f"{path.relative_to(root)}:{line}"
        for name, path in modules(root).items()
        if name not in COMMITTERS
        for line in _commits(path)
    ]


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_cycles(root: Path = ROOT) -> list[list[str]]:
    """Groups of modules that import each other round, at module level or in a function."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for imp in imports(root):
        if imp.target in known and imp.target != imp.module:
            graph.setdefault(imp.module, set()).add(imp.target)
    return _components(graph)


def long_modules(root: Path = ROOT) -> dict[str, int]:
    """Modules over the length a reader takes in at once, with their line counts."""
    return {
        str(path.relative_to(root)): lines
        for path in modules(root).values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }


def undocumented(root: Path = ROOT) -> list[str]:
    """Modules, and their public functions and classes, without a docstring."""
    missing = []
    for name, path in modules(root).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if ast.get_docstring(tree) is None:
            missing.append(name)
        for node in tree.body:
            public = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            if public and not node.name.startswith("_") and ast.get_docstring(node) is None:
                missing.append(f"{name}.{node.name}")
    return missing


RULES = {
    "layers point one way": layer_breaches,
    "nothing imports the worker": worker_importers,
    "the sandbox is a development tool": sandbox_breaches,
    "no wing imports a door": wings_at_doors,
    "doors leave queries to the services": queries_at_doors,
    "no private name from another module": private_names_taken,
    "only the unit of work commits": stray_commits,
    "no import cycles": import_cycles,
    "modules under 400 lines": long_modules,
    "a docstring on each module and public function": undocumented,
}


@pytest.mark.parametrize("rule", RULES)
def test_the_code_keeps_the_rule(rule: str) -> None:
    assert not RULES[rule](ROOT), rule


def test_the_rules_find_the_packages() -> None:
    """Guards the guards: an empty tree would keep every rule."""
    assert len(modules()) > 150
    assert {"core", "subscribers", "publisher.web", "publisher.cli", "worker"} <= set(modules())


# One misplaced line per rule, each in a tree of its own beside an otherwise clean one.
MISPLACED = {
    "layers point one way": ("core/clock.py", "from publisher.posts import service\n"),
    "nothing imports the worker": ("publisher/posts/service.py", "import worker.tasks\n"),
    "the sandbox is a development tool": ("publisher/posts/service.py", "import sandbox\n"),
    "no wing imports a door": ("publisher/posts/service.py", "from publisher.web import app\n"),
    "doors leave queries to the services": (
        "publisher/web/app.py",
        "from sqlalchemy import select\n",
    ),
    "no private name from another module": (
        "publisher/web/app.py",
        "from publisher.posts.service import _slug\n",
    ),
    "only the unit of work commits": ("publisher/posts/service.py", "def f(s):\n    s.commit()\n"),
    "no import cycles": ("core/clock.py", "def f():\n    from core import settings\n"),
    "modules under 400 lines": ("core/clock.py", "x = 1\n" * 401),
    "a docstring on each module and public function": ("core/clock.py", "def tick():\n    pass\n"),
}
CLEAN_TREE = {
    "core/__init__.py": "",
    "core/clock.py": "",
    "core/settings.py": "import core.clock\n",
    "core/database.py": 'def unit_of_work(s):\n    """Commit."""\n    s.commit()\n',
    "subscribers/__init__.py": "",
    "publisher/__init__.py": "",
    "publisher/posts/__init__.py": "",
    "publisher/posts/service.py": "import core.settings\n\n\ndef _slug():\n    pass\n",
    "publisher/web/__init__.py": "",
    "publisher/web/app.py": "from sqlalchemy.orm import Session\nimport publisher.posts.service\n",
    "publisher/cli/__init__.py": "",
    "publisher/cli/main.py": "import sandbox\n",
    "worker/__init__.py": "",
    "worker/tasks.py": "import publisher.posts.service\n",
    "sandbox/__init__.py": "import core.settings\n",
}


def _tree(root: Path, extra: tuple[str, str] | None) -> Path:
    for name, text in CLEAN_TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        docstring = '"""A module of the test tree."""\n' if name.endswith(".py") else ""
        path.write_text(docstring + text)
    if extra is not None:
        path = root / extra[0]
        path.write_text(path.read_text() + extra[1])
    return root


def test_a_clean_tree_keeps_every_rule(tmp_path: Path) -> None:
    root = _tree(tmp_path, None)
    assert {rule: check(root) for rule, check in RULES.items() if check(root)} == {}


@pytest.mark.parametrize("rule", MISPLACED)
def test_each_rule_catches_a_misplaced_line(rule: str, tmp_path: Path) -> None:
    root = _tree(tmp_path, MISPLACED[rule])
    broken = {name for name, check in RULES.items() if check(root)}
    assert rule in broken
