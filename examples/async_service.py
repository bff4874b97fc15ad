"""sagefetch behind an HTTP endpoint: describe model packages on demand.

A service opens one ``ModelPackageFetcher`` when it starts and shares it (and
so its connection pool, its rate limiter and its lookups) between all
requests. Requests for one package use ``describe(arn)``: requests arriving
within a few milliseconds of each other share one call. Requests for many use
``describe_all``. The endpoint is aiohttp's web server, which aiobotocore
already brings along (no new dependency):

    GET  /package?arn=...                  -> the package's summary, or its error (404)
    GET  /approved-images?arn=...&arn=...  -> {arn: first container image} of approved ones
                                              (a few ARNs: a URL holds at most 8 KiB)
    POST /describe        {"arns": [...]}  -> {"ModelPackageSummaries": {...},
                                              "BatchDescribeModelPackageErrorMap": {...}}

Run it against the embedded local SageMaker (it starts the service on a free
port, sends 200 single-package requests and two others at once, prints what
came back and how many calls that took, and stops):

    .venv/bin/python examples/async_service.py
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

import orjson
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
    app.router.add_get("/package", package)
    app.router.add_get("/approved-images", approved_images)
    app.router.add_post("/describe", describe)
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


async def package(request: web.Request) -> web.Response:
    """One package: concurrent requests share calls (coalescing lookups)."""
    arn = request.query.get("arn", "")
    try:
        outcome = await request.app[FETCHER].describe(arn)
    except RunStoppedError as exc:
        return _json({"error": str(exc)}, status=503)
    if isinstance(outcome, Described):
        return _json(outcome.summary)
    return _json({"error": outcome.code, "message": outcome.message}, status=404)


async def approved_images(request: web.Request) -> web.Response:
    """Map each approved package among ``?arn=...`` to its first container image."""
    arns = request.query.getall("arn", [])
    if len(arns) > MAX_ARNS_PER_QUERY:
        return _json({"error": f"at most {MAX_ARNS_PER_QUERY} arn= per request"}, status=400)
    images: dict[str, str] = {}
    try:
        outcomes = await request.app[FETCHER].describe_many(arns)
    except RunStoppedError as exc:
        return _json({"error": str(exc)}, status=503)
    for outcome in outcomes:
        if isinstance(outcome, Described):
            summary = outcome.summary
            if summary.get("ModelApprovalStatus") == "Approved":
                containers = summary.get("InferenceSpecification", {}).get("Containers", [])
                images[outcome.arn] = containers[0].get("Image", "") if containers else ""
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
        singles = [*arns[:190], *arns[:10]]  # 200 requests for one package, 10 of them repeats
        try:
            async with ClientSession() as http:
                # Every request shares one connection pool, one limiter and one lookup queue.
                bulk, images, *packages = await asyncio.gather(
                    _post(http, f"{base}/describe", {"arns": [*arns[300:600], "not-an-arn"]}),
                    _get(http, f"{base}/approved-images", [("arn", a) for a in arns[600:650]]),
                    *(_get(http, f"{base}/package", [("arn", arn)]) for arn in singles),
                )
        finally:
            await runner.cleanup()
        calls = sagemaker.counters.calls
    print(f"{len(packages)} single-package requests: {len(packages)} summaries")
    print(
        f"bulk request: {len(bulk['ModelPackageSummaries'])} described, "
        f"{len(bulk['BatchDescribeModelPackageErrorMap'])} failed"
    )
    print(f"approved-images: {len(images)} approved packages, e.g. {next(iter(images.items()))}")
    print(f"{calls} calls to SageMaker for {len(singles) + 301 + 50} packages asked for")


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
    # The library never configures logging: its events reach the service's own
    # stdlib configuration (or its structlog one, when it has one).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
