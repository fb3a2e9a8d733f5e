"""The token bucket: burst, refusal with a retry time, refill, independence, bounded memory."""

from __future__ import annotations

import threading

import pytest

from api.http.middleware.ratelimit import RateLimited, RateLimiter
from tests.builders import MonotonicClock


@pytest.fixture
def clock() -> MonotonicClock:
    return MonotonicClock()


def test_a_burst_is_allowed_then_the_next_request_is_refused(clock: MonotonicClock) -> None:
    limiter = RateLimiter(rate_per_second=2, burst=5, clock=clock)
    for _ in range(5):
        limiter.check("user:a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("user:a")
    assert refused.value.key == "user:a"
    assert refused.value.retry_after == pytest.approx(0.5)
    assert refused.value.retry_after_header == "1"  # whole seconds, at least 1
    assert "rate limit exceeded for user:a" in str(refused.value)


def test_tokens_come_back_at_the_rate(clock: MonotonicClock) -> None:
    limiter = RateLimiter(rate_per_second=2, burst=5, clock=clock)
    for _ in range(5):
        limiter.check("user:a")
    clock.advance(0.49)
    with pytest.raises(RateLimited) as refused:
        limiter.check("user:a")
    assert refused.value.retry_after == pytest.approx(0.01)
    clock.advance(0.01)
    limiter.check("user:a")  # one token back after 0.5 s
    with pytest.raises(RateLimited):
        limiter.check("user:a")
    clock.advance(60)
    for _ in range(5):  # refilled to the burst, never beyond
        limiter.check("user:a")
    with pytest.raises(RateLimited):
        limiter.check("user:a")


def test_refused_requests_take_no_token(clock: MonotonicClock) -> None:
    limiter = RateLimiter(rate_per_second=1, burst=1, clock=clock)
    limiter.check("user:a")
    for _ in range(10):
        with pytest.raises(RateLimited):
            limiter.check("user:a")
    clock.advance(1)
    limiter.check("user:a")


def test_a_slow_rate_asks_for_a_long_wait(clock: MonotonicClock) -> None:
    limiter = RateLimiter(rate_per_second=0.1, burst=1, clock=clock)
    limiter.check("service:batch")
    with pytest.raises(RateLimited) as refused:
        limiter.check("service:batch")
    assert refused.value.retry_after == pytest.approx(10)
    assert refused.value.retry_after_header == "10"
    clock.advance(2.5)
    with pytest.raises(RateLimited) as refused:
        limiter.check("service:batch")
    assert refused.value.retry_after_header == "8"  # 7.5 s rounded up


def test_principals_are_independent(clock: MonotonicClock) -> None:
    limiter = RateLimiter(rate_per_second=1, burst=2, clock=clock)
    limiter.check("user:a")
    limiter.check("user:a")
    with pytest.raises(RateLimited):
        limiter.check("user:a")
    limiter.check("user:b")
    limiter.check("user:b")
    with pytest.raises(RateLimited):
        limiter.check("user:b")


def test_full_buckets_are_forgotten(clock: MonotonicClock) -> None:
    limiter = RateLimiter(rate_per_second=10, burst=10, clock=clock)  # empty to full: 1 s
    for n in range(100):
        limiter.check(f"user:{n}")
    assert len(limiter) == 100
    clock.advance(1.0)
    limiter.check("user:new")
    assert len(limiter) == 1


def test_a_bucket_still_refilling_is_kept(clock: MonotonicClock) -> None:
    limiter = RateLimiter(rate_per_second=10, burst=10, clock=clock)
    for _ in range(10):
        limiter.check("user:a")
    clock.advance(0.5)
    limiter.check("user:b")
    assert len(limiter) == 2
    for _ in range(5):  # 5 tokens back, not 10: the bucket was remembered
        limiter.check("user:a")
    with pytest.raises(RateLimited):
        limiter.check("user:a")


def test_at_most_max_keys_buckets_are_held(clock: MonotonicClock) -> None:
    limiter = RateLimiter(rate_per_second=1, burst=1, clock=clock, max_keys=3)
    for name in ("a", "b", "c", "d"):
        limiter.check(name)
    assert len(limiter) == 3
    limiter.check("a")  # "a" was the least recently used: dropped, so a fresh bucket
    with pytest.raises(RateLimited):
        limiter.check("d")  # "d" was kept


def test_threads_never_get_more_than_the_burst(clock: MonotonicClock) -> None:
    limiter = RateLimiter(rate_per_second=1, burst=50, clock=clock)
    allowed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            try:
                limiter.check("user:shared")
            except RateLimited:
                continue
            with lock:
                allowed.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 50


@pytest.mark.parametrize(
    ("rate", "burst", "max_keys"),
    [(0, 1, 1), (-1, 1, 1), (float("nan"), 1, 1), (float("inf"), 1, 1), (1, 0, 1), (1, 1, 0)],
)
def test_nonsense_is_refused(rate: float, burst: int, max_keys: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, burst, max_keys=max_keys)
