"""Tables of the statistics: aggregates maintained as events arrive (filled in by issue 7)."""

from __future__ import annotations
