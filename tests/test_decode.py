"""The fast decoder gives exactly what botocore's parser gives, field for field, type for type."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from botocore.loaders import create_loader
from botocore.parsers import ResponseParserError

from sagefetch import ModelPackageFetcher
from sagefetch._decode import FastResponseParserFactory, fast_data_loader
from sagefetch.testing import Faults

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from sagefetch.testing import LocalSageMaker

_VOLATILE_HEADERS = {"date", "x-amzn-requestid", "content-length", "server"}


@asynccontextmanager
async def _client(server: LocalSageMaker, *, fast: bool) -> AsyncIterator[Any]:
    session = AioSession()
    if fast:
        session.register_component("response_parser_factory", FastResponseParserFactory())
    config = AioConfig(retries={"total_max_attempts": 1}, parameter_validation=False)
    async with session.create_client(
        "sagemaker", config=config, **server.client_kwargs()
    ) as client:
        yield client


def _comparable(value: Any) -> Any:
    """The value with its exact types, minus per-request metadata."""
    if isinstance(value, dict):
        return (
            "dict",
            {
                key: _comparable(item)
                for key, item in value.items()
                if key not in {"RequestId", "RetryAttempts"} and key not in _VOLATILE_HEADERS
            },
        )
    if isinstance(value, list):
        return ("list", [_comparable(item) for item in value])
    if hasattr(value, "tzinfo"):
        return (type(value), type(value.tzinfo), value, value.utcoffset(), value.fold)
    return (type(value), value)


async def _both(server: LocalSageMaker, arns: list[str]) -> tuple[Any, Any]:
    answers = []
    for fast in (False, True):
        async with _client(server, fast=fast) as client:
            try:
                answers.append(await client.batch_describe_model_package(ModelPackageArnList=arns))
            except ClientError as exc:
                answers.append({"ClientError": exc.response})
    return answers[0], answers[1]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("mixed", id="described-and-missing"),
        pytest.param("full", id="100-described"),
        pytest.param("malformed", id="validation-error"),
        pytest.param("empty", id="0-arns"),
    ],
)
async def test_fast_decoding_matches_botocore(local_sagemaker: LocalSageMaker, case: str) -> None:
    """Summaries, error maps and error responses decode identically on the local SageMaker."""
    arns = local_sagemaker.seed(groups=2, versions=100)
    asked = {
        "mixed": [arns[0], arns[150], arns[0].replace("/1", "/999"), arns[99]],
        "full": arns[:100],
        "malformed": [arns[0], "not-an-arn"],
        "empty": [],
    }[case]
    slow, fast = await _both(local_sagemaker, asked)
    assert _comparable(fast) == _comparable(slow)


async def test_fast_decoding_matches_botocore_on_throttling(
    local_sagemaker: LocalSageMaker,
) -> None:
    """A throttling error decodes identically too."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(rate=0.001, burst=1)
    async with _client(local_sagemaker, fast=False) as client:
        await client.batch_describe_model_package(ModelPackageArnList=arns)  # uses the one token
    slow, fast = await _both(local_sagemaker, arns)
    assert slow["ClientError"]["Error"]["Code"] == "ThrottlingException"
    assert _comparable(fast) == _comparable(slow)


async def test_a_torn_body_is_a_parser_error() -> None:
    """Invalid JSON raises botocore's ResponseParserError (a retryable kind)."""
    parser = FastResponseParserFactory().create_parser("json")

    class Shape:
        name = "BatchDescribeModelPackageOutput"

    with pytest.raises(ResponseParserError):
        await parser._do_parse({"body": b'{"ModelPackageSumm', "headers": {}}, Shape())


async def test_a_fetcher_with_its_own_client_decodes_fast(local_sagemaker: LocalSageMaker) -> None:
    """The fetcher's own client uses the fast decoder; results are the true summaries."""
    arns = local_sagemaker.seed(groups=1, versions=3)
    async with ModelPackageFetcher(
        endpoint_url=local_sagemaker.endpoint_url, region_name="us-east-1"
    ) as fetcher:
        factory = fetcher._client._endpoint._response_parser_factory  # type: ignore[union-attr]
        merged = await fetcher.describe_all(arns)
    assert isinstance(factory, FastResponseParserFactory)
    catalogue = local_sagemaker.catalogue
    assert merged["ModelPackageSummaries"] == {
        arn: catalogue.summary(*catalogue.locate(arn))  # type: ignore[misc]
        for arn in arns
    }


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        pytest.param("sagemaker", "service-2", id="sagemaker-model"),
        pytest.param("sagemaker", "endpoint-rule-set-1", id="sagemaker-rules"),
        pytest.param("sts", "service-2", id="sts-model"),
        pytest.param("", "endpoints", id="endpoints"),
        pytest.param("", "partitions", id="partitions"),
        pytest.param("", "sdk-default-configuration", id="defaults"),
    ],
)
def test_the_fast_data_loader_loads_what_botocore_loads(name: str, kind: str) -> None:
    """The data files parsed with orjson equal botocore's own parse, key order included."""
    session = AioSession()
    fast = fast_data_loader(session)
    plain = create_loader(session.get_config_variable("data_path"))

    if name:
        ours, theirs = (loader.load_service_model(name, kind) for loader in (fast, plain))
    else:
        ours, theirs = (loader.load_data(kind) for loader in (fast, plain))

    assert ours == theirs
    assert list(_keys(ours)) == list(_keys(theirs))


def _keys(value: Any) -> Iterator[str]:
    """Every key of a nested document, in order."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


async def test_a_fetcher_opens_its_client_with_the_fast_data_loader(
    local_sagemaker: LocalSageMaker,
) -> None:
    """The client a fetcher opens parses botocore's data with orjson, and works."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    async with ModelPackageFetcher(
        endpoint_url=local_sagemaker.endpoint_url, region_name="us-east-1"
    ) as fetcher:
        result = await fetcher.describe_all(arns)
        loader = fetcher._client._loader  # type: ignore[union-attr]

    assert sorted(result["ModelPackageSummaries"]) == sorted(arns)
    assert type(loader.file_loader).__name__ == "_FastJSONFileLoader"
