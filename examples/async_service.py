"""sagefetch behind an HTTP endpoint: describe model packages on demand.

A service opens one ``ModelPackageFetcher`` when it starts and shares it (and
so its connection pool and its rate limiter) between all requests; each
request streams its own ARNs through it. The endpoint is aiohttp's web server,
which aiobotocore already brings along (no new dependency):

    POST /describe        {"arns": [...]}  -> {"ModelPackageSummaries": {...},
                                              "BatchDescribeModelPackageErrorMap": {...}}
    GET  /approved-images?arn=...&arn=...  -> {arn: first container image} of approved ones
                                              (a few ARNs: a URL holds at most 8 KiB)

Run it against the embedded local SageMaker (it starts the service on a free
port, sends three requests at once, prints the answers, and stops):

    .venv/bin/python examples/async_service.py
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from aiohttp import ClientSession, web

from sagefetch import Described, ModelPackageFetcher, RunStoppedError
from sagefetch.testing import Faults, LocalSageMaker

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

FETCHER = web.AppKey("fetcher", ModelPackageFetcher)
MAX_ARNS_PER_REQUEST = 10_000
MAX_ARNS_PER_QUERY = 50  # a URL holds about 8 KiB


def make_app(*, region_name: str, endpoint_url: str | None = None) -> web.Application:
    """The service: one fetcher for its lifetime, two routes."""
    app = web.Application()

    async def fetcher_for_the_lifetime(app: web.Application) -> AsyncIterator[None]:
        async with ModelPackageFetcher(
            region_name=region_name, endpoint_url=endpoint_url, max_concurrency=16
        ) as fetcher:
            app[FETCHER] = fetcher
            yield

    app.cleanup_ctx.append(fetcher_for_the_lifetime)
    app.router.add_post("/describe", describe)
    app.router.add_get("/approved-images", approved_images)
    return app


def _json(document: object, status: int = 200) -> web.Response:
    # orjson writes the summaries' datetimes as ISO 8601.
    return web.Response(body=orjson.dumps(document), status=status, content_type="application/json")


async def describe(request: web.Request) -> web.Response:
    """Describe the ARNs of the request; the answer has the API's two maps."""
    try:
        arns = (await request.json())["arns"]
    except (ValueError, KeyError, TypeError):
        return _json({"error": 'send {"arns": [...]}'}, status=400)
    if not isinstance(arns, list) or len(arns) > MAX_ARNS_PER_REQUEST:
        return _json({"error": f"arns must be a list of at most {MAX_ARNS_PER_REQUEST}"}, 400)
    try:
        return _json(await request.app[FETCHER].describe_all(arns))
    except RunStoppedError as exc:  # credentials, permissions: tell the caller what to fix
        return _json({"error": str(exc)}, status=503)


async def approved_images(request: web.Request) -> web.Response:
    """Map each approved package among ``?arn=...`` to its first container image."""
    arns = request.query.getall("arn", [])
    if len(arns) > MAX_ARNS_PER_QUERY:
        return _json({"error": f"at most {MAX_ARNS_PER_QUERY} arn= per request"}, status=400)
    images: dict[str, str] = {}
    try:
        async with aclosing(request.app[FETCHER].stream(arns)) as outcomes:
            async for outcome in outcomes:
                if not isinstance(outcome, Described):
                    continue
                summary = outcome.summary
                if summary.get("ModelApprovalStatus") == "Approved":
                    containers = summary.get("InferenceSpecification", {}).get("Containers", [])
                    images[outcome.arn] = containers[0].get("Image", "") if containers else ""
    except RunStoppedError as exc:
        return _json({"error": str(exc)}, status=503)
    return _json(images)


async def main() -> None:
    async with LocalSageMaker(faults=Faults(rate=50, burst=5, latency=0.02)) as sagemaker:
        arns = sagemaker.seed(groups=20, versions=50)
        # The service finds credentials through the standard chain (here: the environment).
        os.environ["AWS_ACCESS_KEY_ID"] = sagemaker.credentials.access_key_id
        os.environ["AWS_SECRET_ACCESS_KEY"] = sagemaker.credentials.secret_access_key
        runner = web.AppRunner(
            make_app(region_name=sagemaker.region, endpoint_url=sagemaker.endpoint_url)
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        base = f"http://{host}:{port}"
        try:
            async with ClientSession() as http:
                # Three requests at once share one connection pool and one limiter.
                first, second, images = await asyncio.gather(
                    _post(http, f"{base}/describe", {"arns": arns[:300]}),
                    _post(http, f"{base}/describe", {"arns": [*arns[300:600], "not-an-arn"]}),
                    _get(http, f"{base}/approved-images", [("arn", a) for a in arns[600:650]]),
                )
        finally:
            await runner.cleanup()
    print(f"request 1: {len(first['ModelPackageSummaries'])} described")
    print(
        f"request 2: {len(second['ModelPackageSummaries'])} described, "
        f"{len(second['BatchDescribeModelPackageErrorMap'])} failed"
    )
    print(f"request 3: {len(images)} approved packages, e.g. {next(iter(images.items()))}")


async def _post(http: ClientSession, url: str, document: object) -> dict[str, Any]:
    async with http.post(url, json=document) as response:
        response.raise_for_status()
        answer: dict[str, Any] = await response.json()
        return answer


async def _get(http: ClientSession, url: str, params: list[tuple[str, str]]) -> dict[str, Any]:
    async with http.get(url, params=params) as response:
        response.raise_for_status()
        answer: dict[str, Any] = await response.json()
        return answer


if __name__ == "__main__":
    # The library never configures logging; the service decides what it wants to see.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
