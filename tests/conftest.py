"""Shared fixtures: the local SageMaker plugin and a real aiobotocore client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from sagefetch.testing import set_testing

if TYPE_CHECKING:
    from sagefetch.testing import LocalSageMaker

pytest_plugins = ["sagefetch.testing.pytest_plugin"]

ClientFactory = Callable[..., AbstractAsyncContextManager[Any]]


@pytest.fixture(autouse=True, scope="session")
def _no_backoff_waits() -> None:
    """Retries happen at once in tests; the rate limiter still paces calls."""
    set_testing(True)


def raw_client(server: LocalSageMaker, **config: Any) -> AbstractAsyncContextManager[Any]:
    """A real aiobotocore SageMaker client on ``server``: one attempt, no client-side checks.

    Parameter validation is off so requests botocore would refuse (0 ARNs) reach
    the server, and retries are off so every fault is seen as it happened.
    """
    settings: dict[str, Any] = {
        "retries": {"mode": "standard", "total_max_attempts": 1},
        "parameter_validation": False,
        "connect_timeout": 5,
        "read_timeout": 10,
        **config,
    }
    return get_session().create_client(
        "sagemaker", config=AioConfig(**settings), **server.client_kwargs()
    )


@pytest.fixture
async def sagemaker_client(local_sagemaker: LocalSageMaker) -> AsyncIterator[Any]:
    """A raw aiobotocore client on the moto-backed local SageMaker."""
    async with raw_client(local_sagemaker) as client:
        yield client


@pytest.fixture
async def synthetic_client(synthetic_sagemaker: LocalSageMaker) -> AsyncIterator[Any]:
    """A raw aiobotocore client on the synthetic local SageMaker."""
    async with raw_client(synthetic_sagemaker) as client:
        yield client
