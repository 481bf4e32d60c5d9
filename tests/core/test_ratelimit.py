"""The shared rate limit: token bucket bounds, 429 blocks shared between workers and
processes, unlimited rates, big batches, and the wait-or-requeue helper; on the real Redis
and on each database.

Bounds are checked against time measured around the calls (burst + rate × elapsed), which
hold by construction, never against a timing guess that a slow machine could break.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest
import redis

from core.ratelimit import (
    DatabaseRateLimiter,
    NoRateLimit,
    RateLimited,
    RateLimiter,
    RedisRateLimiter,
    get_rate_limiter,
)
from core.settings import Settings

Factory = Callable[[float, int], RateLimiter]
EPSILON = 0.01  # tokens: floats rounded where the buckets store them


@pytest.fixture(params=["redis", "sqlite", "postgresql"])
def make_limiter(request: pytest.FixtureRequest) -> Factory:
    """Builds limiters (rate, burst) on one shared store; two built alike act as two workers."""
    if request.param == "redis":
        url = str(request.getfixturevalue("redis_url"))
        return lambda rate, burst: RedisRateLimiter(url, rate, burst)
    fixture = "sqlite_db" if request.param == "sqlite" else "pg_db"
    url = str(request.getfixturevalue(fixture))
    return lambda rate, burst: DatabaseRateLimiter(rate, burst, url=url)


def _provider() -> str:
    # Others run Redis tests on the same database at the same time: never share a bucket.
    return f"test-{uuid.uuid4().hex[:12]}"


def _hammer(limiter: RateLimiter, provider: str, tokens: int, seconds: float) -> int:
    granted, deadline = 0, time.time() + seconds
    while time.time() < deadline:
        wait = limiter.acquire(provider, tokens)
        if wait == 0:
            granted += tokens
        else:
            time.sleep(min(wait, 0.01))
    return granted


def _is_rest_of_block(wait: float, seconds: float, blocked_at: float) -> bool:
    """Whether ``wait`` is what is left of a block of ``seconds`` set at ``blocked_at``."""
    return wait > 0 and seconds - (time.time() - blocked_at) - 0.002 <= wait <= seconds + 0.002


def test_grants_never_exceed_burst_plus_rate(make_limiter: Factory) -> None:
    limiter, provider = make_limiter(100, 10), _provider()
    started = time.time()
    granted = _hammer(limiter, provider, 1, 0.3)
    elapsed = time.time() - started
    assert 10 <= granted <= 10 + 100 * elapsed + EPSILON


def test_an_empty_bucket_says_how_long_to_wait(make_limiter: Factory) -> None:
    limiter, provider = make_limiter(1, 5), _provider()
    emptied = time.time()
    assert limiter.acquire(provider, 5) == 0.0
    wait_for_one = limiter.acquire(provider, 1)
    assert 1 - (time.time() - emptied) <= wait_for_one <= 1
    wait_for_three = limiter.acquire(provider, 3)
    assert 3 - (time.time() - emptied) <= wait_for_three <= 3


def test_concurrent_workers_share_one_bucket(make_limiter: Factory) -> None:
    limiters, provider = [make_limiter(100, 10) for _ in range(4)], _provider()
    started = time.time()
    with ThreadPoolExecutor(4) as pool:
        granted = sum(pool.map(lambda limiter: _hammer(limiter, provider, 2, 0.4), limiters))
    elapsed = time.time() - started
    assert 10 <= granted <= 10 + 100 * elapsed + EPSILON


def test_a_block_stops_every_worker(make_limiter: Factory) -> None:
    worker, other_worker, provider = make_limiter(100, 10), make_limiter(100, 10), _provider()
    blocked_at = time.time()
    worker.block(provider, 0.5)
    assert _is_rest_of_block(other_worker.acquire(provider, 1), 0.5, blocked_at)
    assert _is_rest_of_block(worker.acquire(provider, 1), 0.5, blocked_at)
    assert other_worker.acquire(_provider(), 1) == 0.0


def test_a_block_is_extended_never_shortened(make_limiter: Factory) -> None:
    first, second, provider = make_limiter(100, 10), make_limiter(100, 10), _provider()
    blocked_at = time.time()
    first.block(provider, 1.0)
    second.block(provider, 0.1)
    assert _is_rest_of_block(first.acquire(provider, 1), 1.0, blocked_at)
    extended_at = time.time()
    second.block(provider, 2.0)
    assert _is_rest_of_block(first.acquire(provider, 1), 2.0, extended_at)


def test_a_blocked_acquire_takes_nothing(make_limiter: Factory) -> None:
    limiter, provider = make_limiter(1, 3), _provider()
    limiter.block(provider, 0.1)
    assert limiter.acquire(provider, 3) > 0
    time.sleep(0.15)
    assert limiter.acquire(provider, 3) == 0.0


def test_rate_zero_grants_everything_but_honours_blocks(make_limiter: Factory) -> None:
    limiter, other_worker, provider = make_limiter(0, 0), make_limiter(0, 0), _provider()
    assert all(limiter.acquire(provider, 10_000) == 0.0 for _ in range(20))
    blocked_at = time.time()
    other_worker.block(provider, 0.5)
    assert _is_rest_of_block(limiter.acquire(provider, 1), 0.5, blocked_at)


def test_a_batch_bigger_than_the_burst_goes_and_leaves_a_debt(make_limiter: Factory) -> None:
    limiter, provider = make_limiter(100, 5), _provider()
    assert limiter.acquire(provider, 5) == 0.0
    asked = time.time()
    assert limiter.wait_and_acquire(provider, 20, max_wait=1.0) <= 1.0
    # Taken at most at 5 tokens, so at -15 at most, refilling at 100/s since `asked`.
    assert limiter.acquire(provider, 1) >= 0.16 - (time.time() - asked) - EPSILON / 100


def test_wait_and_acquire_sleeps_for_the_next_token(make_limiter: Factory) -> None:
    limiter, provider = make_limiter(5, 1), _provider()
    assert limiter.wait_and_acquire(provider, 1, max_wait=1.0) == 0.0
    assert 0 < limiter.wait_and_acquire(provider, 1, max_wait=1.0) <= 1.0


def test_wait_and_acquire_refuses_to_wait_past_max_wait(make_limiter: Factory) -> None:
    limiter, provider = make_limiter(1, 1), _provider()
    started = time.monotonic()
    limiter.acquire(provider, 1)
    with pytest.raises(RateLimited) as refused:
        limiter.wait_and_acquire(provider, 1, max_wait=0.2)
    assert 1 - (time.monotonic() - started) <= refused.value.wait_seconds <= 1
    limiter.block(provider, 30)
    with pytest.raises(RateLimited) as blocked:
        limiter.wait_and_acquire(provider, 1, max_wait=5)
    assert 29 < blocked.value.wait_seconds <= 30
    assert time.monotonic() - started < 1


def test_redis_keys_expire_when_idle(redis_url: str) -> None:
    limiter, provider = RedisRateLimiter(redis_url, 100, 10), _provider()
    limiter.acquire(provider, 5)
    limiter.block(provider, 0.2)
    client = redis.Redis.from_url(redis_url)
    assert 0 < client.pttl(f"herald:ratelimit:{provider}") <= 1050
    assert 0 < client.pttl(f"herald:ratelimit:{provider}:blocked") <= 200
    client.close()


def _hammer_in_a_process(
    url: str, provider: str, tokens: int, start: Barrier, results: Queue[tuple[float, int, float]]
) -> None:
    limiter = RedisRateLimiter(url, 200, 50)
    start.wait()
    began = time.time()
    granted = _hammer(limiter, provider, tokens, 1.5)
    results.put((began, granted, time.time()))


def test_processes_share_one_redis_bucket(redis_url: str) -> None:
    context, provider = multiprocessing.get_context("spawn"), _provider()
    start, results = context.Barrier(3), context.Queue()
    processes = [
        context.Process(target=_hammer_in_a_process, args=(redis_url, provider, n, start, results))
        for n in (1, 2, 3)
    ]
    for process in processes:
        process.start()
    runs = [results.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(10)
    elapsed = max(end for _, _, end in runs) - min(began for began, _, _ in runs)
    granted = sum(granted for _, granted, _ in runs)
    assert 0.5 * 200 * 1.5 <= granted <= 50 + 200 * elapsed + EPSILON


def test_no_rate_limit_grants_everything_and_blocks_in_process() -> None:
    limiter = NoRateLimit()
    assert limiter.acquire("postmark", 10_000) == 0.0
    blocked_at = time.time()
    limiter.block("postmark", 0.5)
    limiter.block("postmark", 0.1)
    assert _is_rest_of_block(limiter.acquire("postmark", 1), 0.5, blocked_at)
    assert limiter.acquire("resend", 1) == 0.0


def test_redis_is_chosen_when_configured_and_kept_per_process() -> None:
    configured = Settings(redis_url="redis://127.0.0.1:6379/9", rate_limit_per_second=5)
    assert isinstance(get_rate_limiter(configured), RedisRateLimiter)
    assert get_rate_limiter(configured) is get_rate_limiter(configured.model_copy())
    broker = Settings(redis_url="", broker_url="rediss://broker:6380/0")
    assert isinstance(get_rate_limiter(broker), RedisRateLimiter)


def test_the_database_is_chosen_by_default(sqlite_db: str) -> None:
    settings = Settings(redis_url="", rate_limit_per_second=20)
    limiter = get_rate_limiter(settings)
    assert isinstance(limiter, DatabaseRateLimiter)
    assert limiter.capacity == 20  # burst 0 is one second's worth
