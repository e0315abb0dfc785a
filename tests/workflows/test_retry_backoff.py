"""The backoff of a local step's retries (the workflow computes it; Temporal's RetryPolicy does for regular steps)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workflows.actions import retry_backoff
from workflows.definition import RetrySpec


@pytest.mark.parametrize(("spec", "attempt", "expected"), [
    ({}, 1, timedelta(seconds=1)),  # the defaults: 1 s, x2, at most 1 min
    ({}, 2, timedelta(seconds=2)),
    ({}, 6, timedelta(seconds=32)),
    ({}, 7, timedelta(minutes=1)),
    ({"initial_interval": "100ms", "backoff": 1.0, "max_interval": "100ms"}, 5, timedelta(milliseconds=100)),
    ({"initial_interval": "250ms", "backoff": 3.0, "max_interval": "10s"}, 3, timedelta(milliseconds=2250)),
])
def test_the_backoff_grows_by_the_coefficient_up_to_the_cap(spec, attempt, expected):
    assert retry_backoff(RetrySpec(**spec), attempt) == expected


@pytest.mark.parametrize("attempt", [15, 48, 99, 100])
def test_many_attempts_at_the_largest_coefficient_stay_at_the_cap(attempt):
    # initial x 10^(attempt-1) would overflow a timedelta (and a float at 10^309) before the cap
    assert retry_backoff(RetrySpec(max_attempts=100, backoff=10.0, max_interval="1h"), attempt) == timedelta(hours=1)
    assert retry_backoff(RetrySpec(max_attempts=100, backoff=2.0, initial_interval="1h", max_interval="2h"),
                         attempt) == timedelta(hours=2)
