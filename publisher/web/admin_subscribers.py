"""Admin pages for lists, subscribers, imports and segments."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
