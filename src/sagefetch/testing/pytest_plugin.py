"""pytest fixtures around :class:`~sagefetch.testing.LocalSageMaker`.

Enable in a ``conftest.py`` with ``pytest_plugins = ["sagefetch.testing.pytest_plugin"]``.

- ``local_sagemaker``: a moto-backed local SageMaker, started once per session
  and reset (empty registry, initial faults, zero counters) before each test.
- ``synthetic_sagemaker``: the same for the synthetic backend.
- An autouse fixture removes every real ``AWS_*`` variable and points the
  credential chain at fake credentials and empty config files, so no test can
  reach real AWS.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from ._server import DEFAULT_REGION, Credentials, LocalSageMaker

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "fake_aws_environment",
    "local_sagemaker",
    "local_sagemaker_server",
    "synthetic_sagemaker",
    "synthetic_sagemaker_server",
]


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace real AWS settings with fake credentials and empty config files."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    credentials = Credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", DEFAULT_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def local_sagemaker_server() -> Iterator[LocalSageMaker]:
    """One moto-backed local SageMaker for the whole session."""
    with LocalSageMaker(backend="moto") as server:
        yield server


@pytest.fixture
def local_sagemaker(local_sagemaker_server: LocalSageMaker) -> LocalSageMaker:
    """The session's moto-backed local SageMaker, reset for this test."""
    local_sagemaker_server.reset()
    return local_sagemaker_server


@pytest.fixture(scope="session")
def synthetic_sagemaker_server() -> Iterator[LocalSageMaker]:
    """One synthetic local SageMaker for the whole session."""
    with LocalSageMaker(backend="synthetic") as server:
        yield server


@pytest.fixture
def synthetic_sagemaker(synthetic_sagemaker_server: LocalSageMaker) -> LocalSageMaker:
    """The session's synthetic local SageMaker, reset for this test."""
    synthetic_sagemaker_server.reset()
    return synthetic_sagemaker_server
