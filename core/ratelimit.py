"""One rate limit per provider, shared by every worker on every machine.

A token bucket: ``rate_limit_per_second`` tokens flow in each second up to ``burst``; a batch
takes one token per message. A 429 with Retry-After stops everyone until that moment.

A batch larger than the burst goes once the bucket is full and leaves it in debt (negative),
which every sender then waits out: the long-run rate holds. A capacity raised to the request
would let a big batch beat the rate after a quiet spell, and the next small request would
clamp the bucket back to the burst, so the big batch might never see enough tokens.

A rate of 0 means no limit on tokens, but blocks are still kept in the shared store: a 429
must slow every worker whether or not a rate is configured.

When the shared store fails (Redis restarting, a database error) the limiter cannot say
whether sending is allowed, so it answers :class:`LimiterUnavailable`, a kind of
:class:`RateLimited`: the caller puts its batch back and tries again later, exactly as when
the rate is exhausted, instead of failing the batch or sending unpaced.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import Any, Protocol

import redis
from sqlalchemy import (
    Connection,
    Engine,
    Float,
    String,
    create_engine,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from core.database import Base, get_engine
from core.settings import Settings, get_settings


class ProviderRateLimit(Base):
    """The database-backed bucket of one provider (the embedded default; Redis otherwise)."""

    __tablename__ = "provider_rate_limits"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    refilled_at: Mapped[float] = mapped_column(Float, default=0.0)
    """Unix time of the last refill (wall clock: workers on several machines share it)."""
    blocked_until: Mapped[float] = mapped_column(Float, default=0.0)
    """Unix time before which nobody sends (set from a 429's Retry-After)."""


class RateLimited(Exception):
    """Sending now would mean waiting longer than allowed; retry after ``wait_seconds``."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"rate limited for {wait_seconds:.3f}s")
        self.wait_seconds = wait_seconds


class LimiterUnavailable(RateLimited):
    """The limiter's shared store failed; nothing was taken. Retry with backoff."""

    def __init__(self, error: Exception) -> None:
        super().__init__(0.0)
        self.args = (f"rate limiter unavailable: {error!r}",)


STORE_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, SQLAlchemyError, OSError)
"""What a failing shared store raises: Redis errors (connection, timeout), database errors."""


class RateLimiter(Protocol):
    """A provider's shared token bucket and its 429 block (subclass it for wait_and_acquire)."""

    def acquire(self, provider: str, tokens: int) -> float:
        """Take ``tokens`` now and return 0.0, or take nothing and return seconds to wait."""
        ...

    def block(self, provider: str, seconds: float) -> None:
        """Let nobody send for ``provider`` for ``seconds``; never shortens a longer block."""
        ...

    def wait_and_acquire(self, provider: str, tokens: int, *, max_wait: float) -> float:
        """Sleep until ``tokens`` are taken and return the seconds slept.

        Raises RateLimited instead of sleeping past ``max_wait`` in total, so a worker can
        requeue its batch with a countdown rather than sit idle, and LimiterUnavailable when
        the shared store fails.
        """
        waited = 0.0
        while (wait := self._acquire_or_unavailable(provider, tokens)) > 0:
            if waited + wait > max_wait:
                raise RateLimited(wait)
            time.sleep(wait)
            waited += wait
        return waited

    def _acquire_or_unavailable(self, provider: str, tokens: int) -> float:
        try:
            return self.acquire(provider, tokens)
        except STORE_ERRORS as error:
            raise LimiterUnavailable(error) from error


def _capacity(rate_per_second: float, burst: int) -> float:
    # Settings document burst 0 as one second's worth; at least one token so anything passes.
    return float(burst) if burst > 0 else max(1.0, rate_per_second)


def _refill_and_take(
    tokens: float, elapsed: float, block_wait: float, *, rate: float, capacity: float, wanted: int
) -> tuple[float, float]:
    # The same arithmetic runs in Redis as ACQUIRE_SCRIPT: keep the two alike.
    tokens = min(capacity, tokens + max(0.0, elapsed) * rate)
    needed = min(float(wanted), capacity)
    wait = max(0.0, block_wait)
    if tokens < needed:
        wait = max(wait, (needed - tokens) / rate)
    return (tokens - wanted, 0.0) if wait == 0 else (tokens, wait)


class NoRateLimit(RateLimiter):
    """No rate and blocks kept in this process only: for tests and single-process tools."""

    def __init__(self) -> None:
        self._blocked_until: dict[str, float] = {}

    def acquire(self, provider: str, tokens: int) -> float:
        """Always grant, unless a block of this process is still running."""
        return max(0.0, self._blocked_until.get(provider, 0.0) - time.monotonic())

    def block(self, provider: str, seconds: float) -> None:
        """Block ``provider`` in this process for ``seconds`` (never shortening a block)."""
        until = max(self._blocked_until.get(provider, 0.0), time.monotonic() + seconds)
        self._blocked_until[provider] = until


# KEYS: bucket, block. ARGV: rate, capacity, wanted. Returns the wait as a string because
# Redis truncates Lua numbers to integers. Redis's TIME is the one clock of every machine.
ACQUIRE_SCRIPT = """
local rate, capacity, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local block_wait = math.max(0, redis.call('PTTL', KEYS[2])) / 1000
if rate == 0 then return string.format('%.6f', block_wait) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'refilled_at')
local tokens = tonumber(state[1]) or capacity
local elapsed = math.max(0, now - (tonumber(state[2]) or now))
tokens = math.min(capacity, tokens + elapsed * rate)
local needed = math.min(wanted, capacity)
local wait = block_wait
if tokens < needed then wait = math.max(wait, (needed - tokens) / rate) end
if wait == 0 then tokens = tokens - wanted end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
           'refilled_at', string.format('%.6f', now))
-- Once full again the bucket equals a missing one: let it expire.
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""

BLOCK_SCRIPT = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
"""


class RedisRateLimiter(RateLimiter):
    """The bucket in Redis: one atomic script per call, on Redis's own clock."""

    def __init__(self, url: str, rate_per_second: float, burst: int) -> None:
        self.rate = rate_per_second
        self.capacity = _capacity(rate_per_second, burst)
        # Short socket timeouts: a Redis that hangs must not hold a claimed batch for minutes.
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self._acquire = self._client.register_script(ACQUIRE_SCRIPT)
        self._block = self._client.register_script(BLOCK_SCRIPT)

    def acquire(self, provider: str, tokens: int) -> float:
        """Take ``tokens`` now and return 0.0, or take nothing and return seconds to wait."""
        keys = [f"herald:ratelimit:{provider}", f"herald:ratelimit:{provider}:blocked"]
        return float(self._acquire(keys=keys, args=[self.rate, self.capacity, tokens]))

    def block(self, provider: str, seconds: float) -> None:
        """Let nobody send for ``provider`` for ``seconds``; never shortens a longer block."""
        milliseconds = math.ceil(seconds * 1000)
        if milliseconds > 0:
            self._block(keys=[f"herald:ratelimit:{provider}:blocked"], args=[milliseconds])


def _sqlite_engine(url: str) -> Engine:
    # The driver must not open transactions itself, so that BEGIN IMMEDIATE takes the write
    # lock before the row is read: a deferred read that upgrades to a write fails under WAL
    # instead of waiting. No pool: nothing to share with a forked child.
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"timeout": 30, "isolation_level": None}
    )

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class DatabaseRateLimiter(RateLimiter):
    """The bucket in the ``provider_rate_limits`` row, on the workers' wall clocks.

    Each call commits its own short transaction on its own connection, unlike services:
    the bucket is infrastructure shared across processes, like the broker, and holding its
    row lock for the length of a caller's unit of work would serialise every sender.
    """

    def __init__(self, rate_per_second: float, burst: int, url: str | None = None) -> None:
        self.rate = rate_per_second
        self.capacity = _capacity(rate_per_second, burst)
        url = url or get_settings().database_url
        self._engine = _sqlite_engine(url) if url.startswith("sqlite") else get_engine(url)

    def acquire(self, provider: str, tokens: int) -> float:
        """Take ``tokens`` now and return 0.0, or take nothing and return seconds to wait."""
        if self.rate == 0:
            return self._block_wait(provider)
        with self._engine.begin() as connection:
            row = self._locked_row(connection, provider)
            now = time.time()
            left, wait = _refill_and_take(
                row.tokens,
                now - row.refilled_at,
                row.blocked_until - now,
                rate=self.rate,
                capacity=self.capacity,
                wanted=tokens,
            )
            self._save(connection, provider, tokens=left, refilled_at=now)
        return wait

    def block(self, provider: str, seconds: float) -> None:
        """Let nobody send for ``provider`` for ``seconds``; never shortens a longer block."""
        with self._engine.begin() as connection:
            row = self._locked_row(connection, provider)
            until = max(row.blocked_until, time.time() + seconds)
            self._save(connection, provider, blocked_until=until)

    def _block_wait(self, provider: str) -> float:
        query = select(ProviderRateLimit.blocked_until).where(
            ProviderRateLimit.provider == provider
        )
        with self._engine.connect() as connection:
            until = connection.execute(query).scalar_one_or_none()
        return max(0.0, (until or 0.0) - time.time())

    def _locked_row(self, connection: Connection, provider: str) -> Any:
        table = ProviderRateLimit.__table__
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        new = {"tokens": self.capacity, "refilled_at": time.time(), "blocked_until": 0.0}
        insert = dialect.insert(table).values(provider=provider, **new)
        connection.execute(insert.on_conflict_do_nothing(index_elements=["provider"]))
        query = select(table).where(table.c.provider == provider).with_for_update()
        return connection.execute(query).one()

    def _save(self, connection: Connection, provider: str, **values: float) -> None:
        row = ProviderRateLimit.provider == provider
        connection.execute(update(ProviderRateLimit).where(row).values(**values))


def forget_idle_buckets(session: Session, *, idle_seconds: float = 86_400.0) -> int:
    """Delete database buckets untouched for ``idle_seconds`` and not blocked; return how many.

    A missing bucket is created full, and one idle this long has refilled anyway, so this
    changes no limit: it only keeps per-address and per-IP buckets from piling up.
    """
    now = time.time()
    result = session.execute(
        delete(ProviderRateLimit).where(
            ProviderRateLimit.refilled_at < now - idle_seconds,
            ProviderRateLimit.blocked_until < now,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def get_rate_limiter(settings: Settings) -> RateLimiter:
    """The shared limiter for these settings, one per process: Redis if any, else the database.

    Redis is ``redis_url``, or the broker when the broker is Redis.
    """
    return shared_limiter(
        settings.shared_redis_url,
        settings.database_url,
        settings.rate_limit_per_second,
        settings.rate_limit_burst,
    )


@lru_cache(maxsize=16)
def shared_limiter(redis_url: str, database_url: str, rate: float, burst: int) -> RateLimiter:
    """One limiter per process for these buckets: in Redis when ``redis_url``, else rows of
    the database at ``database_url``."""
    if redis_url:
        return RedisRateLimiter(redis_url, rate, burst)
    return DatabaseRateLimiter(rate, burst, url=database_url)
