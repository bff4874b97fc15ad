"""tune_gc: the collector settings a bulk run uses."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest

from sagefetch import tune_gc

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """Put the interpreter's collector back as it was."""
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector_restored")
def test_tune_gc_freezes_what_exists_and_collects_the_young_less_often() -> None:
    """After tune_gc, today's objects are frozen and the youngest threshold is 50,000."""
    gc.unfreeze()
    tune_gc()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == 50_000


@pytest.mark.usefixtures("collector_restored")
def test_tune_gc_takes_a_threshold() -> None:
    """The youngest generation's threshold can be chosen."""
    tune_gc(threshold=10_000)
    assert gc.get_threshold()[0] == 10_000


@pytest.mark.parametrize("threshold", [0, -5])
def test_tune_gc_refuses_a_threshold_below_one(threshold: int) -> None:
    """A threshold below 1 (which would turn collection off) is refused."""
    with pytest.raises(ValueError, match="at least 1"):
        tune_gc(threshold=threshold)
