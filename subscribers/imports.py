"""Importing subscribers from CSV (streamed, bulk upserts) and exporting a list as CSV."""

from __future__ import annotations
