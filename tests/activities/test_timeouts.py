"""A step's `timeout` is read by the one duration parser (workflows/durations.py): d, w and
compound durations work as they do for delays and action timeouts."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.base import parse_timeout


@pytest.mark.parametrize("value, seconds", [
    (None, 7.0), ("", 7.0), (3, 3.0), (0.5, 0.5), ("500ms", 0.5), ("10s", 10.0), ("2m", 120.0),
    ("1h", 3600.0), ("1h30m", 5400.0), ("1d", 86400.0), ("1w", 604800.0), ("15", 15.0), (" 10 s ", 10.0),
])
def test_a_timeout_is_a_duration_or_seconds(value, seconds):
    assert parse_timeout(value, 7.0) == seconds


@pytest.mark.parametrize("value", [True, "soon", "10x", "-5s", "0s", 0, -1, {"s": 1}, ["10s"]])
def test_anything_else_is_a_non_retryable_input_error(value):
    with pytest.raises(ApplicationError) as caught:
        parse_timeout(value, 7.0)
    assert caught.value.type == "ValidationError" and caught.value.non_retryable
