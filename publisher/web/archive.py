"""The public archive of sent campaigns, per list and language, and its Atom feed."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
