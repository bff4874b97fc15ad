"""Cancelling a run leaves no task, no open connection and no warning behind."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import TYPE_CHECKING

import anyio

from sagefetch import ModelPackageFetcher
from sagefetch.testing import Faults

if TYPE_CHECKING:
    from sagefetch.testing import LocalSageMaker


async def test_cancelling_a_run_closes_tasks_and_connections(
    synthetic_sagemaker: LocalSageMaker,
) -> None:
    """A run cancelled with 16 calls in flight stops at once and closes its client cleanly."""
    arns = synthetic_sagemaker.seed(groups=50, versions=100)
    synthetic_sagemaker.faults = Faults(latency=30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with anyio.move_on_after(1.0) as scope:
            async with ModelPackageFetcher(
                endpoint_url=synthetic_sagemaker.endpoint_url,
                region_name="us-east-1",
                max_concurrency=16,
                max_rate=1000,
            ) as fetcher:
                await fetcher.describe_all(arns)
        await anyio.lowlevel.checkpoint()
        gc.collect()

    assert scope.cancelled_caught
    assert fetcher.stats.in_flight == 0
    assert fetcher.stats.max_in_flight == 16
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
