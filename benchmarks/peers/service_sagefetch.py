"""S7 peer: one ModelPackageFetcher for the service's life; each request awaits describe(arn).

``--stream``: each request runs ``fetcher.stream([arn])`` on the shared fetcher
instead. ``--cache-ttl S``: keep outcomes ``S`` seconds for repeated ARNs.
``--max-concurrency N``: the fetcher's (default 16, as every peer).

The peer also counts the ARNs of each call sagefetch makes (a botocore event
handler on the fetcher's client, instrumentation only): the batches it formed
with fewer than 100 are the under-full windows of the S7 calls reference.
"""

from __future__ import annotations

from collections import Counter
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio

from benchmarks.peers._io import BATCH_SIZE as ARNS_PER_CALL
from benchmarks.peers._io import argument_parser, report
from benchmarks.peers._service import read_requests, serve
from benchmarks.peers.sagefetch_library import CONCURRENCY, quiet_structlog, report_stats
from sagefetch import Described, ModelPackageFetcher

if TYPE_CHECKING:
    from pathlib import Path

    from sagefetch import Outcome


def _status(outcome: Outcome) -> str:
    return "described" if isinstance(outcome, Described) else "failed"


class BatchSizes:
    """ARNs per ``BatchDescribeModelPackage`` call, and the batches the fetcher formed.

    Every call is counted by size. The batches formed are the calls that were
    not retries, by sagefetch's own count (``stats.calls - stats.retries``);
    the full ones among them are the distinct 100-ARN lists (a retry resends
    its batch's list).
    """

    def __init__(self) -> None:
        self.sizes: Counter[int] = Counter()
        self._full: set[tuple[str, ...]] = set()

    def watch(self, fetcher: ModelPackageFetcher) -> None:
        # The fetcher's own client is private; this benchmark only listens to it.
        client = fetcher._client
        assert client is not None, "the fetcher is open"
        event = "before-parameter-build.sagemaker.BatchDescribeModelPackage"
        client.meta.events.register(event, self._on_call)

    def _on_call(self, params: dict[str, Any], **_: Any) -> None:
        arns = tuple(params.get("ModelPackageArnList", ()))
        self.sizes[len(arns)] += 1
        if len(arns) == ARNS_PER_CALL:
            self._full.add(arns)

    def report(self, fetcher: ModelPackageFetcher) -> None:
        stats = fetcher.stats
        formed = stats.calls - stats.retries
        report(
            batches_formed=formed,
            batches_underfull=formed - len(self._full),
            batches_resent=stats.retries,
            call_sizes=",".join(f"{size}:{n}" for size, n in sorted(self.sizes.items())),
        )


async def run(
    requests: list[tuple[float, str]],
    out_file: Path,
    *,
    stream: bool,
    cache_ttl: float | None,
    max_concurrency: int = CONCURRENCY,
) -> None:
    sizes = BatchSizes()
    async with ModelPackageFetcher(max_concurrency=max_concurrency, cache_ttl=cache_ttl) as fetcher:
        sizes.watch(fetcher)

        async def describe(arn: str) -> str:
            return _status(await fetcher.describe(arn))

        async def stream_one(arn: str) -> str:
            async with aclosing(fetcher.stream([arn])) as outcomes:
                async for outcome in outcomes:
                    return _status(outcome)
            return "failed"  # the run gave no outcome at all

        await serve(requests, out_file, stream_one if stream else describe)
    report_stats(fetcher)
    sizes.report(fetcher)


def main() -> None:
    parser = argument_parser(__doc__ or "")
    parser.add_argument("--stream", action="store_true", help="stream([arn]) per request")
    parser.add_argument("--cache-ttl", type=float, default=None, help="seconds; default: no cache")
    parser.add_argument("--max-concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    quiet_structlog()
    requests = read_requests(args.arn_file)
    anyio.run(
        lambda: run(
            requests,
            args.out_file,
            stream=args.stream,
            cache_ttl=args.cache_ttl,
            max_concurrency=args.max_concurrency,
        )
    )


if __name__ == "__main__":
    main()
