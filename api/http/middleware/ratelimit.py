"""Per-principal rate limiting: one token bucket per key, in memory, thread-safe.

Each key (a principal's name) has a bucket of at most ``burst`` tokens that refills at
``rate_per_second``. A request takes one token; without one it is refused with
:class:`RateLimited`, which says how long until a token is there (REST and GraphQL answer
429 with ``Retry-After``). A new key starts with a full bucket.

The limit is per process: with N API replicas a principal may make up to N times the rate.
That is deliberate (no shared store on the request path); a global limit belongs in the
gateway in front of the replicas.

Memory stays bounded. A bucket idle long enough to have refilled completely behaves exactly
like a new one, so it is dropped; beyond ``max_keys`` buckets the least recently used ones are
dropped as well (those principals start over with a full bucket).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds on a monotonic scale (``time.monotonic``; tests pass a clock they move by hand)."""


class RateLimited(Exception):
    """``key`` has no token left; one will be there in ``retry_after`` seconds."""

    def __init__(self, key: str, retry_after: float) -> None:
        super().__init__(
            f"rate limit exceeded for {key}; retry after {self.seconds(retry_after)} s"
        )
        self.key = key
        self.retry_after = retry_after

    @staticmethod
    def seconds(retry_after: float) -> int:
        """Whole seconds for ``Retry-After``: rounded up, at least 1."""
        return max(1, math.ceil(retry_after))

    @property
    def retry_after_header(self) -> str:
        return str(self.seconds(self.retry_after))


class RateLimiter:
    """Token buckets keyed by principal name (see the module docstring)."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        clock: Clock = time.monotonic,
        *,
        max_keys: int = 10_000,
    ) -> None:
        if not (math.isfinite(rate_per_second) and rate_per_second > 0):
            raise ValueError(f"rate_per_second must be a positive number, got {rate_per_second}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, got {max_keys}")
        self.rate = rate_per_second
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._refill_time = burst / rate_per_second  # empty to full
        # key -> (tokens, when they were counted); least recently used first.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str, cost: int = 1) -> None:
        """Take ``cost`` tokens (1 to ``burst``) from ``key``'s bucket, or raise
        :class:`RateLimited` (taking none)."""
        if not 1 <= cost <= self.burst:
            raise ValueError(f"cost must be 1 to {self.burst}, got {cost}")
        with self._lock:
            now = self.clock()
            counted = self._buckets.pop(key, None)
            if counted is None:
                tokens = float(self.burst)
            else:
                tokens, then = counted
                tokens = min(float(self.burst), tokens + max(0.0, now - then) * self.rate)
            wait = 0.0
            if tokens >= cost:
                tokens -= cost
            else:
                wait = (cost - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            self._evict(now)
        if wait > 0:
            raise RateLimited(key, wait)

    def __len__(self) -> int:
        """Buckets held (for tests and curiosity)."""
        with self._lock:
            return len(self._buckets)

    def _evict(self, now: float) -> None:
        """Drop buckets that are full again, and the oldest ones beyond ``max_keys``.

        The dict is in last-use order, so the first bucket that is not full yet ends the scan.
        """
        buckets = self._buckets
        while buckets:
            key, (_tokens, then) = next(iter(buckets.items()))
            if len(buckets) > self.max_keys or now - then >= self._refill_time:
                del buckets[key]
            else:
                return
