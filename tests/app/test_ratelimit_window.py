"""app/ratelimit.py LocalWindow answers as `limits`' moving window over its MemoryStorage did (the
in-process limiter before it): allowed, remaining and reset, hit by hit, on one clock."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from app.ratelimit import LocalWindow

# seconds at which a key is hit (two keys interleaved): bursts beyond the limit, hits on the
# window's edge, a pause longer than the window. Never exactly `expiry` after a hit: there `limits`
# contradicts itself (its hit counts that hit in the window, its stats do not); ours does not count it
CLOCK = [0.0, 0.5, 1.0, 1.5, 2.0, 9.9, 10.05, 10.3, 10.6, 11.2, 12.0, 25.0, 25.0, 25.1, 25.2, 34.99, 35.5]


async def test_local_window_answers_as_limits_moving_window(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    item = parse("3/10 seconds")
    theirs, ours = MovingWindowRateLimiter(MemoryStorage()), LocalWindow(item)
    answers = []
    for second in CLOCK:
        now[0] = 1_000_000.0 + second
        for key in ("a", "b") if second < 12 else ("a",):
            allowed = await theirs.hit(item, key)
            stats = await theirs.get_window_stats(item, key)
            expected = (allowed, max(0, stats.remaining), math.ceil(stats.reset_time))
            quota = ours.hit(key)
            answers.append(expected[0])
            assert (quota.allowed, quota.remaining, quota.reset) == expected, (second, key)
    assert True in answers and False in answers  # the sequence exercises both answers


def test_keys_whose_hits_left_the_window_are_forgotten(monkeypatch):
    now = [1_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    window = LocalWindow(parse("2/second"))
    window.until_sweep = 3
    window.hit("gone")
    now[0] += 5
    window.hit("kept")
    assert set(window.hits) == {"gone", "kept"}
    window.hit("kept")  # the third hit sweeps: "gone" has nothing left in its window
    assert set(window.hits) == {"kept"}
