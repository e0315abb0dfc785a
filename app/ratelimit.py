"""Per-key rate limits (SPEC §3): in-process by default, shared through Redis when configured."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from app.config import Settings


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


class RateLimiter:
    def __init__(self, settings: Settings):
        self.item = parse(settings.rate_limit)
        storage: Storage
        if settings.redis_url:
            uri = "async+" + settings.redis_url if not settings.redis_url.startswith("async+") else settings.redis_url
            storage = RedisStorage(uri, implementation="redispy", key_prefix="relay-rl")
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    async def hit(self, key_id: str) -> Quota:
        allowed = await self.limiter.hit(self.item, key_id)
        stats = await self.limiter.get_window_stats(self.item, key_id)
        return Quota(limit=self.item.amount, remaining=max(0, stats.remaining), reset=math.ceil(stats.reset_time),
                     allowed=allowed)
