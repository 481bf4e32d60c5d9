"""Segments: lists filtered by attributes, language and engagement, with a live count."""

from __future__ import annotations
