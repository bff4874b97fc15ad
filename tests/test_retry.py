"""Backoff: full jitter, capped, honouring x-amz-retry-after; a testing switch."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from sagefetch._retry import BACKOFF_BASE, BACKOFF_CAP, backoff, set_testing

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def _real_waits() -> Iterator[None]:
    set_testing(False)
    yield
    set_testing(True)


@pytest.mark.parametrize("attempt", [1, 2, 3, 6, 20])
def test_backoff_is_uniform_up_to_the_exponential_ceiling(attempt: int) -> None:
    """Waits lie in [0, min(cap, base * 2 ** (attempt - 1))] and spread over it."""
    random.seed(attempt)
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    waits = [backoff(attempt) for _ in range(2000)]
    assert all(0 <= wait <= ceiling for wait in waits)
    assert max(waits) > 0.9 * ceiling
    assert min(waits) < 0.1 * ceiling


def test_retry_after_sets_a_floor_but_not_past_the_cap() -> None:
    """The service's retry-after raises the wait, within the cap."""
    assert all(backoff(1, retry_after=2.0) >= 2.0 for _ in range(100))
    assert backoff(1, retry_after=3600.0) == BACKOFF_CAP


def test_the_testing_switch_removes_waits() -> None:
    """With set_testing(True) every wait is zero, retry-after included."""
    set_testing(True)
    assert backoff(10, retry_after=5.0) == 0.0
