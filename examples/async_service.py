"""smfetch inside an async service: one fetcher for the service's lifetime.

A service opens one ``ModelPackageFetcher`` when it starts and shares it (and
so its connection pool and its rate limiter) between all requests; each
request awaits ``describe_all`` or streams outcomes. Run it against the
embedded local SageMaker:

    .venv/bin/python examples/async_service.py
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Self

import structlog

from smfetch import Described, ModelPackageFetcher, RunStoppedError
from smfetch.testing import Faults, LocalSageMaker

if TYPE_CHECKING:
    from types import TracebackType


class ModelRegistryService:
    """What a web handler would call: answers 'describe these packages' requests."""

    def __init__(self, *, region_name: str, endpoint_url: str | None = None) -> None:
        self._fetcher = ModelPackageFetcher(
            region_name=region_name, endpoint_url=endpoint_url, max_concurrency=16
        )
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        await self._stack.enter_async_context(self._fetcher)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def approved_images(self, arns: list[str]) -> dict[str, str]:
        """Map each approved package to its first container image."""
        images = {}
        async for outcome in self._fetcher.stream(arns):
            if isinstance(outcome, Described):
                summary = outcome.summary
                if summary.get("ModelApprovalStatus") == "Approved":
                    images[outcome.arn] = summary["InferenceSpecification"]["Containers"][0][
                        "Image"
                    ]
        return images

    async def describe(self, arns: list[str]) -> dict[str, object]:
        """Describe ``arns``; the answer has the API's two maps."""
        try:
            return dict(await self._fetcher.describe_all(arns))
        except RunStoppedError as exc:  # credentials, permissions: tell the caller what to fix
            return {"error": str(exc)}


async def main() -> None:
    async with LocalSageMaker(faults=Faults(rate=50, burst=5, latency=0.02)) as sagemaker:
        arns = sagemaker.seed(groups=20, versions=50)
        # The service finds credentials through the standard chain (here: the environment).
        os.environ["AWS_ACCESS_KEY_ID"] = sagemaker.credentials.access_key_id
        os.environ["AWS_SECRET_ACCESS_KEY"] = sagemaker.credentials.secret_access_key
        async with ModelRegistryService(
            region_name=sagemaker.region, endpoint_url=sagemaker.endpoint_url
        ) as service:
            # Three requests at once share one connection pool and one limiter.
            first, second, images = await asyncio.gather(
                service.describe(arns[:300]),
                service.describe([*arns[300:600], "not-an-arn"]),
                service.approved_images(arns[600:]),
            )
        print(f"request 1: {len(first['ModelPackageSummaries'])} described")  # type: ignore[arg-type]
        print(
            f"request 2: {len(second['ModelPackageSummaries'])} described, "  # type: ignore[arg-type]
            f"{len(second['BatchDescribeModelPackageErrorMap'])} failed"  # type: ignore[arg-type]
        )
        print(f"request 3: {len(images)} approved packages, e.g. {next(iter(images.items()))}")


if __name__ == "__main__":
    # The library never configures logging; the service decides what it wants to see.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    asyncio.run(main())
