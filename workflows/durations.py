"""Durations like "30s", "5m", "1h30m", "2d", "500ms", "1w" (pure)."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Longer is a mistake: past timedelta's range it raised OverflowError (a 500, or a stuck workflow task).
MAX_SECONDS = 36525 * 86400  # a century


class DurationError(ValueError):
    pass


def parse_duration(value: object) -> timedelta:
    """Parse a duration; a bare number means seconds. DurationError when it is not one (a rendered
    template can give a list, a dict, a boolean or None), is negative, or is longer than a century."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DurationError(f"not a duration: {str(value)[:40]!r}")
    return _parse(value)


@lru_cache(maxsize=4096, typed=True)  # typed: as keys True == 1 and False == 0.0, but True is refused
def _parse(value: str | int | float) -> timedelta:
    """Pure, so cached (one cache per worker process, shared by its runs): every step parses its timeouts."""
    seconds = _seconds(value)
    if not seconds <= MAX_SECONDS:  # also NaN and infinity
        raise DurationError(f"longer than a century: {str(value)[:40]!r}")
    return timedelta(seconds=seconds)


def _seconds(value: str | int | float) -> float:
    if isinstance(value, (int, float)):
        if value < 0:
            raise DurationError(f"negative duration: {value!r}")
        return value
    text = str(value).strip().lower().replace(" ", "")
    if not text:
        raise DurationError("empty duration")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    pos, seconds = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise DurationError(f"not a duration: {value!r} (use e.g. 30s, 5m, 2h, 3d, 1h30m)")
    return seconds
