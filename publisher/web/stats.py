"""The delivery statistics dashboard, its JSON API and CSV exports."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
