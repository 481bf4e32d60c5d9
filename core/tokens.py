"""Signed, URL-safe tokens (HMAC-SHA256) for links in emails: unsubscribe, preferences.

A token carries a purpose (the salt) so that a token made for one link can never be
used for another.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from itsdangerous import BadData, URLSafeSerializer, URLSafeTimedSerializer

from core.settings import get_settings


class InvalidToken(Exception):
    """The token was forged, altered, made for another purpose, or has expired."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _timed_for(get_settings().secret_key, purpose)


def _untimed(purpose: str) -> URLSafeSerializer:
    return _untimed_for(get_settings().secret_key, purpose)


# Built once per key and purpose: a campaign signs a token for every recipient.
@lru_cache(maxsize=32)
def _timed_for(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret_key, salt=f"herald.{purpose}", signer_kwargs={"digest_method": hashlib.sha256}
    )


@lru_cache(maxsize=32)
def _untimed_for(secret_key: str, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(
        secret_key, salt=f"herald.{purpose}", signer_kwargs={"digest_method": hashlib.sha256}
    )


def make_token(purpose: str, value: Any, *, expiring: bool = False) -> str:
    """Sign ``value`` (JSON-serialisable) for ``purpose``; expiring tokens carry a timestamp."""
    serializer = _serializer(purpose) if expiring else _untimed(purpose)
    token = serializer.dumps(value)
    return token if isinstance(token, str) else token.decode()


def read_token(purpose: str, token: str, *, max_age_seconds: int | None = None) -> Any:
    """The value signed in ``token`` for ``purpose``, or :class:`InvalidToken`."""
    try:
        if max_age_seconds is None:
            return _untimed(purpose).loads(token)
        return _serializer(purpose).loads(token, max_age=max_age_seconds)
    except BadData as error:
        raise InvalidToken(str(error)) from error
