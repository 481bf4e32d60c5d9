"""CSV cells a spreadsheet shows as text, never runs: the one guard every CSV we write uses.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and
some strip a leading tab or carriage return first), so a subscriber named
``=HYPERLINK("https://evil.example","Click")`` would become a live link in an admin's
export. Such a cell gets a leading apostrophe, which spreadsheets hide and our importer
removes again (:func:`unescape_formula`), so an export imports back unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: Any) -> Any:
    """``value`` for a CSV cell: text that would start a formula gets an apostrophe first."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape_formula(value: str) -> str:
    """The text :func:`escape_formula` was given (an importer reading our own export)."""
    if value[:1] == "'" and value[1:2] and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def safe_writer(file: Any, **options: Any) -> SafeWriter:
    """A ``csv.writer`` over ``file`` whose every row is escaped (the header too)."""
    return SafeWriter(csv.writer(file, **options))


class SafeWriter:
    """A ``csv.writer`` that escapes formulas in every cell it writes."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, values: Iterable[Any]) -> None:
        """Write one row, every cell through :func:`escape_formula`."""
        self._writer.writerow([escape_formula(value) for value in values])
