"""``fetch_shard``: one (account, region), its outcomes in chunks, then its result."""

from __future__ import annotations

import json
import pickle
from contextlib import aclosing
from typing import TYPE_CHECKING

import pytest

from sagefetch import (
    AccessDeniedError,
    Described,
    Outcome,
    ShardChunk,
    ShardResult,
    ShardSpec,
    fetch_shard,
)
from sagefetch.testing import Faults

if TYPE_CHECKING:
    from typing import Any

    from sagefetch.testing import LocalSageMaker


async def _run(spec: ShardSpec, **options: Any) -> tuple[list[ShardChunk], ShardResult]:
    chunks: list[ShardChunk] = []
    results: list[ShardResult] = []
    async with aclosing(fetch_shard(spec, **options)) as items:
        async for item in items:
            assert not results, "the result comes last"
            if isinstance(item, ShardChunk):
                chunks.append(item)
            else:
                results.append(item)
    (result,) = results
    return chunks, result


def _spec(server: LocalSageMaker) -> ShardSpec:
    return ShardSpec(region=server.region, endpoint_url=server.endpoint_url)


async def test_every_package_once_in_chunks_then_the_result(
    local_sagemaker: LocalSageMaker,
) -> None:
    """250 packages in chunks of at most 40, each once; the result counts them and the calls."""
    arns = local_sagemaker.seed(groups=5, versions=50)
    chunks, result = await _run(_spec(local_sagemaker), chunk_size=40, chunk_interval=60)
    outcomes: list[Outcome] = [outcome for chunk in chunks for outcome in chunk.outcomes]
    assert sorted(outcome.arn for outcome in outcomes) == sorted(arns)
    assert all(isinstance(outcome, Described) for outcome in outcomes)
    assert all(len(chunk.outcomes) <= 40 for chunk in chunks)
    assert len(chunks) >= 250 // 40
    assert (result.described, result.failed, result.stopped) == (250, 0, None)
    assert result.stats.calls == chunks[-1].stats.calls > 0


async def test_skip_is_not_described_again_and_is_counted(
    local_sagemaker: LocalSageMaker,
) -> None:
    """ARNs in ``skip`` (a resumed output's) are neither described nor yielded; counted skipped."""
    arns = sorted(local_sagemaker.seed(groups=2, versions=30))
    chunks, result = await _run(_spec(local_sagemaker), skip=set(arns[:25]))
    yielded = {outcome.arn for chunk in chunks for outcome in chunk.outcomes}
    assert yielded == set(arns[25:])
    assert result.skipped == sum(chunk.skipped for chunk in chunks) == 25
    assert result.described == 35


async def test_a_denied_shard_is_a_stopped_result_not_an_error(
    local_sagemaker: LocalSageMaker,
) -> None:
    """Permissions missing: the shard ends with ``stopped`` set, JSON-ready and masked."""
    local_sagemaker.seed(groups=1, versions=3)
    local_sagemaker.faults = Faults(reject_with="AccessDeniedException")
    chunks, result = await _run(_spec(local_sagemaker))
    assert [outcome for chunk in chunks for outcome in chunk.outcomes] == []
    assert isinstance(result.stopped, AccessDeniedError)
    report = json.loads(json.dumps(result.to_json()))
    assert report["stopped"]["error"] == "AccessDeniedError"
    assert report["stopped"]["code"] == "AccessDeniedException"


async def test_chunks_and_results_travel_between_processes(
    local_sagemaker: LocalSageMaker,
) -> None:
    """What an engine ships (pickled chunks, a stopped result) comes back equal."""
    local_sagemaker.seed(groups=1, versions=3)
    chunks, result = await _run(_spec(local_sagemaker))
    assert pickle.loads(pickle.dumps(chunks)) == chunks
    assert pickle.loads(pickle.dumps(result)) == result
    local_sagemaker.faults = Faults(reject_with="AccessDeniedException")
    _, stopped = await _run(_spec(local_sagemaker))
    again = pickle.loads(pickle.dumps(stopped))
    assert (type(again.stopped), again.stopped.code) == (AccessDeniedError, "AccessDeniedException")
    assert str(again.stopped) == str(stopped.stopped)


def test_bad_settings_are_refused_before_any_call() -> None:
    """A setting the fetcher refuses raises ValueError when the shard is made."""
    with pytest.raises(ValueError, match="batch_size"):
        fetch_shard(ShardSpec(region="us-east-1"), batch_size=0)
    with pytest.raises(ValueError, match="approval_status"):
        fetch_shard(ShardSpec(region="us-east-1"), approval_status="Maybe")  # type: ignore[arg-type]
