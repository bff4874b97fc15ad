"""LocalSageMaker's lifecycle: sync and async use, reset, stop, environment."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from sagefetch.testing import Faults, LocalSageMaker
from tests.conftest import raw_client


def test_sync_context_manager_serves_on_a_free_loopback_port() -> None:
    """``with`` starts on 127.0.0.1 with an OS-chosen port and stops on exit."""
    with LocalSageMaker(backend="synthetic") as server:
        url = server.endpoint_url
        assert url.startswith("http://127.0.0.1:")
        assert int(url.rsplit(":", 1)[1]) > 0
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.endpoint_url


async def test_async_context_manager_serves_and_stops() -> None:
    """``async with`` serves real calls, then refuses connections after exit."""
    async with LocalSageMaker(backend="synthetic") as server:
        arns = server.seed(groups=1, versions=2)
        async with raw_client(server) as client:
            response = await client.batch_describe_model_package(ModelPackageArnList=arns)
            assert sorted(response["ModelPackageSummaries"]) == sorted(arns)
            kwargs = server.client_kwargs()
    config = AioConfig(retries={"total_max_attempts": 1}, connect_timeout=1)
    async with get_session().create_client("sagemaker", config=config, **kwargs) as client:
        with pytest.raises((EndpointConnectionError, ConnectionClosedError)):
            await client.batch_describe_model_package(ModelPackageArnList=arns)


def test_stop_is_idempotent_and_start_twice_is_refused() -> None:
    """Stopping twice is harmless; starting a running server is an error."""
    server = LocalSageMaker(backend="synthetic").start()
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    server.stop()
    server.stop()


@pytest.mark.timeout(10)
async def test_stop_cuts_off_stalled_calls() -> None:
    """A server with a 60 s stall in progress still stops at once."""
    server = LocalSageMaker(backend="synthetic", faults=Faults(stall=1.0, stall_seconds=60)).start()
    arns = server.seed(groups=1, versions=1)
    async with raw_client(server, read_timeout=30) as client:
        stopper = threading.Timer(0.5, server.stop)
        stopper.start()
        with pytest.raises(ConnectionClosedError):
            await client.batch_describe_model_package(ModelPackageArnList=arns)
        stopper.join()


async def test_reset_restores_initial_faults_and_empties_everything(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """After reset: no packages, the constructor's faults, zero counters."""
    arns = local_sagemaker.seed(groups=1, versions=3)
    local_sagemaker.faults = Faults(latency=0.01)
    await sagemaker_client.batch_describe_model_package(ModelPackageArnList=arns)

    local_sagemaker.reset()
    response = await sagemaker_client.batch_describe_model_package(ModelPackageArnList=arns)

    assert response["ModelPackageSummaries"] == {}
    assert sorted(response["BatchDescribeModelPackageErrorMap"]) == sorted(arns)
    assert local_sagemaker.faults == Faults()
    assert local_sagemaker.counters.calls == 1


def test_environment_and_client_kwargs_point_at_the_server() -> None:
    """The exported environment and client kwargs name this server and its fake keys."""
    with LocalSageMaker(backend="synthetic", region="eu-west-1") as server:
        environment = server.environment()
        kwargs = server.client_kwargs()
    assert environment["AWS_ENDPOINT_URL_SAGEMAKER"] == kwargs["endpoint_url"]
    assert environment["AWS_DEFAULT_REGION"] == kwargs["region_name"] == "eu-west-1"
    assert environment["AWS_ACCESS_KEY_ID"] == kwargs["aws_access_key_id"]


async def test_the_sdk_finds_the_server_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client built only from the exported variables reaches the local server."""
    async with LocalSageMaker(backend="synthetic") as server:
        arns = server.seed(groups=1, versions=1)
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)
        async with get_session().create_client("sagemaker") as client:
            response = await client.batch_describe_model_package(ModelPackageArnList=arns)
    assert list(response["ModelPackageSummaries"]) == arns


def test_unknown_backend_is_refused() -> None:
    """A typo in the backend name is a ValueError, not a silent default."""
    with pytest.raises(ValueError, match="backend"):
        LocalSageMaker(backend="mtoo")  # type: ignore[arg-type]


def test_the_test_environment_has_no_real_aws_settings() -> None:
    """The plugin's autouse fixture leaves only fake credentials and no config files."""
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIALOCALSAGEMAKER00"
    assert os.environ["AWS_CONFIG_FILE"] == os.devnull
    assert os.environ["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert "AWS_PROFILE" not in os.environ
    assert "AWS_SESSION_TOKEN" not in os.environ
