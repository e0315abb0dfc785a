"""Per-key rate limits (SPEC §3): in-process by default, shared through Redis when configured."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import structlog
from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
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


class RateLimiter:
    """Counts in Redis when RELAY_REDIS_URL is set, in the process otherwise. Redis away is
    fail-open to local limits: each API process counts by itself (so the limit holds per process,
    at most N times it over N processes) until Redis answers again (docs/operations.md)."""

    def __init__(self, settings: Settings):
        self.item = parse(settings.rate_limit)
        storage: Storage
        if settings.redis_url:
            uri = "async+" + settings.redis_url if not settings.redis_url.startswith("async+") else settings.redis_url
            storage = RedisStorage(uri, implementation="redispy", key_prefix="relay-rl", wrap_exceptions=True,
                                   socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.local = self.limiter if isinstance(storage, MemoryStorage) else MovingWindowRateLimiter(MemoryStorage())
        self.shared_down_until = 0.0

    async def hit(self, key_id: str) -> Quota:
        if self.local is self.limiter:
            return await self._hit(self.limiter, key_id)
        if time.monotonic() < self.shared_down_until:
            return await self._hit(self.local, key_id)
        try:
            quota = await self._hit(self.limiter, key_id)
        except StorageError as error:  # Redis away: count in this process for a while
            if not self.shared_down_until:
                log.warning("ratelimit.redis_unavailable", error=type(error.storage_error).__name__,
                            fallback="local limits")
            self.shared_down_until = time.monotonic() + REDIS_RETRY_AFTER
            return await self._hit(self.local, key_id)
        if self.shared_down_until:
            log.info("ratelimit.redis_back")
            self.shared_down_until = 0.0
        return quota

    async def _hit(self, limiter: MovingWindowRateLimiter, key_id: str) -> Quota:
        allowed = await limiter.hit(self.item, key_id)
        stats = await limiter.get_window_stats(self.item, key_id)
        return Quota(limit=self.item.amount, remaining=max(0, stats.remaining), reset=math.ceil(stats.reset_time),
                     allowed=allowed)
