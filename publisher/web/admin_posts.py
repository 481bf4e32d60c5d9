"""Admin pages for posts: write, review, approve, publish, import."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
