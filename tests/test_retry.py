"""Backoff: full jitter, capped, honouring retry-after, none after a throttle; a testing switch."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from sagefetch._exceptions import ErrorKind
from sagefetch._retry import backoff, retry_wait, set_testing

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


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        pytest.param(None, 0.0, id="none"),
        pytest.param(2.0, 2.0, id="retry-after"),
        pytest.param(3600.0, 20.0, id="retry-after-capped"),
    ],
)
def test_a_throttled_call_goes_straight_back_to_the_limiter(
    retry_after: float | None, wait: float
) -> None:
    """After a throttle no backoff: the limiter paces the retry; only retry-after is waited for."""
    assert retry_wait(6, ErrorKind.THROTTLED, retry_after) == wait


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(ErrorKind.TRANSIENT, id="5xx"),
        pytest.param(ErrorKind.UNREACHABLE, id="no-answer"),
        pytest.param(None, id="unclassified"),
    ],
)
def test_other_failures_back_off(kind: ErrorKind | None) -> None:
    """5xx, dropped connections and timeouts wait a full-jitter backoff (third: up to 0.4 s)."""
    random.seed(3)
    waits = [retry_wait(3, kind) for _ in range(200)]
    assert all(0 <= wait <= 0.4 for wait in waits)
    assert max(waits) > 0.3
