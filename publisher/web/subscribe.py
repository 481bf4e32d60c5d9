"""Public subscriber pages: subscribe forms and JSON, confirmation, preferences."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
