"""Backoff: full jitter, capped, honouring x-amz-retry-after; a testing switch."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from sagefetch._retry import backoff, set_testing

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def _real_waits() -> Iterator[None]:
    set_testing(False)
    yield
    set_testing(True)


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [
        pytest.param(1, 0.1, id="first"),
        pytest.param(2, 0.2, id="second"),
        pytest.param(3, 0.4, id="third"),
        pytest.param(6, 3.2, id="sixth"),
        pytest.param(20, 20.0, id="capped"),
    ],
)
def test_backoff_is_uniform_up_to_the_exponential_ceiling(attempt: int, ceiling: float) -> None:
    """Waits lie in [0, min(20 s, 0.1 s * 2 ** (attempt - 1))] and spread over it."""
    random.seed(attempt)
    waits = [backoff(attempt) for _ in range(2000)]
    assert all(0 <= wait <= ceiling for wait in waits)
    assert max(waits) > 0.9 * ceiling
    assert min(waits) < 0.1 * ceiling


def test_retry_after_sets_a_floor_but_not_past_the_cap() -> None:
    """The service's retry-after raises the wait, within the cap."""
    assert all(backoff(1, retry_after=2.0) >= 2.0 for _ in range(100))
    assert backoff(1, retry_after=3600.0) == 20.0


def test_the_testing_switch_removes_waits() -> None:
    """With set_testing(True) every wait is zero, retry-after included."""
    set_testing(True)
    assert backoff(10, retry_after=5.0) == 0.0
