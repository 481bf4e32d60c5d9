"""Transactional mail tasks: confirmations, welcomes, test sends (one message, at once)."""

from __future__ import annotations
