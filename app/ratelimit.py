"""Per-key rate limits (SPEC §3): in-process by default, shared through Redis when configured."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from app.config import Settings

log = structlog.get_logger("relay.ratelimit")


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset: int  # unix seconds when a request is next sure to be allowed
    allowed: bool

    def headers(self) -> dict[str, str]:
        headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                   "X-RateLimit-Reset": str(self.reset)}
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset - math.floor(time.time())))
        return headers


REDIS_RETRY_AFTER = 1.0  # seconds without asking Redis again once it failed
REDIS_TIMEOUT = 2.0  # a Redis that hangs costs a request this long at most (a stopped one: nothing)


class LocalWindow:
    """A moving window in this process: at most `amount` hits in any `expiry` seconds per key,
    answering as `limits`' moving window does (reset: when the oldest hit in the window leaves it).
    Instead of `limits`' MemoryStorage, whose expiry task sends a bisect to a thread for every key
    after every hit and whose list takes each hit at its front (docs/performance.md section 8)."""

    SWEEP_EVERY = 4096  # hits between two removals of the keys whose hits have all left the window

    def __init__(self, item: RateLimitItem) -> None:
        self.amount, self.expiry = item.amount, item.get_expiry()
        self.hits: dict[str, deque[float]] = {}
        self.until_sweep = self.SWEEP_EVERY

    def hit(self, key: str) -> Quota:
        now = time.time()
        hits = self.hits.get(key)
        if hits is None:
            hits = self.hits[key] = deque()
        cutoff = now - self.expiry
        while hits and hits[0] <= cutoff:
            hits.popleft()
        allowed = len(hits) < self.amount
        if allowed:
            hits.append(now)
        self.until_sweep -= 1
        if not self.until_sweep:
            self._sweep(cutoff)
        return Quota(limit=self.amount, remaining=max(0, self.amount - len(hits)),
                     reset=math.ceil((hits[0] if hits else now) + self.expiry), allowed=allowed)

    def _sweep(self, cutoff: float) -> None:
        self.until_sweep = self.SWEEP_EVERY
        for key in [key for key, hits in self.hits.items() if not hits or hits[-1] <= cutoff]:
            del self.hits[key]


class RateLimiter:
    """Counts in Redis when RELAY_REDIS_URL is set, in the process otherwise. Redis away is
    fail-open to local limits: each API process counts by itself (so the limit holds per process,
    at most N times it over N processes) until Redis answers again (docs/operations.md)."""

    def __init__(self, settings: Settings):
        self.item = parse(settings.rate_limit)
        self.local = LocalWindow(self.item)
        self.shared: MovingWindowRateLimiter | None = None
        if settings.redis_url:
            uri = "async+" + settings.redis_url if not settings.redis_url.startswith("async+") else settings.redis_url
            self.shared = MovingWindowRateLimiter(RedisStorage(
                uri, implementation="redispy", key_prefix="relay-rl", wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT))
        self.shared_down_until = 0.0

    async def hit(self, key_id: str) -> Quota:
        if self.shared is None or time.monotonic() < self.shared_down_until:
            return self.local.hit(key_id)
        try:
            quota = await self._hit(self.shared, key_id)
        except StorageError as error:  # Redis away: count in this process for a while
            if not self.shared_down_until:
                log.warning("ratelimit.redis_unavailable", error=type(error.storage_error).__name__,
                            fallback="local limits")
            self.shared_down_until = time.monotonic() + REDIS_RETRY_AFTER
            return self.local.hit(key_id)
        if self.shared_down_until:
            log.info("ratelimit.redis_back")
            self.shared_down_until = 0.0
        return quota

    async def _hit(self, limiter: MovingWindowRateLimiter, key_id: str) -> Quota:
        allowed = await limiter.hit(self.item, key_id)
        stats = await limiter.get_window_stats(self.item, key_id)
        return Quota(limit=self.item.amount, remaining=max(0, stats.remaining), reset=math.ceil(stats.reset_time),
                     allowed=allowed)
