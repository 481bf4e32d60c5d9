"""The web and CLI modules are doors: they parse, call a service and present its answer.

They may name the ``Session`` type and catch ``sqlalchemy.exc`` errors, but a query built
with sqlalchemy's constructs (select, update, delete, func, text, ...) belongs in the
service of its wing, where the page, the API and the CLI share it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOORS = (ROOT / "publisher" / "web", ROOT / "publisher" / "cli")
ALLOWED = {"sqlalchemy.orm": {"Session"}, "sqlalchemy.exc": None}
"""What a door may import from sqlalchemy: these names of a module (None: any name)."""


def query_imports(source: str) -> list[str]:
    """The sqlalchemy imports in ``source`` that a door may not have, as ``module.name``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("sqlalchemy")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            module = node.module or ""
            allowed = ALLOWED.get(module, set())
            if allowed is None:
                continue
            found += [f"{module}.{alias.name}" for alias in node.names if alias.name not in allowed]
    return found


def test_no_route_or_command_imports_a_query_construct() -> None:
    modules = [path for door in DOORS for path in sorted(door.rglob("*.py"))]
    assert len(modules) > 20  # the doors were found
    offenders = {
        str(path.relative_to(ROOT)): names
        for path in modules
        if (names := query_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_guard_notices_a_query_but_lets_the_session_type_and_errors_through() -> None:
    source = (
        "from sqlalchemy import select, func\n"
        "from sqlalchemy.orm import Session, selectinload\n"
        "from sqlalchemy.exc import OperationalError\n"
        "import sqlalchemy as sa\n"
    )
    assert query_imports(source) == [
        "sqlalchemy.select",
        "sqlalchemy.func",
        "sqlalchemy.orm.selectinload",
        "sqlalchemy",
    ]
