"""The public surface is exactly what ``__all__`` lists."""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import version

import pytest

import sagefetch


@pytest.mark.parametrize(
    ("module_name", "expected"),
    [
        pytest.param(
            "sagefetch",
            [
                "AccessDeniedError",
                "AdaptiveRateLimiter",
                "ApprovalStatus",
                "ClientRetriesWarning",
                "ConfigurationError",
                "CredentialsError",
                "DeadlineExceededError",
                "DescribeAllResult",
                "Described",
                "EndpointUnreachableError",
                "Failed",
                "FetchStats",
                "ModelPackageFetcher",
                "Outcome",
                "RedactingFilter",
                "RunStoppedError",
                "SagefetchError",
                "ShardChunk",
                "ShardResult",
                "ShardSpec",
                "__version__",
                "describe_all_sync",
                "describe_outcomes_sync",
                "fetch_shard",
                "mask_secrets",
                "tune_gc",
            ],
            id="sagefetch",
        ),
        pytest.param(
            "sagefetch.testing",
            [
                "Backend",
                "Catalogue",
                "Credentials",
                "FaultCounters",
                "Faults",
                "LocalSageMaker",
                "ServerControl",
                "set_testing",
            ],
            id="sagefetch.testing",
        ),
    ],
)
def test_all_is_the_public_surface(module_name: str, expected: list[str]) -> None:
    """``__all__`` is sorted and names every public attribute and nothing else."""
    module = importlib.import_module(module_name)
    public = sorted(
        name
        for name in dir(module)
        if not name.startswith("_")
        and name != "annotations"
        and not inspect.ismodule(getattr(module, name))
    )
    assert module.__all__ == expected
    assert public == [name for name in expected if not name.startswith("_")]
    assert all(hasattr(module, name) for name in module.__all__)


def test_version_comes_from_the_installed_metadata() -> None:
    """``__version__`` is the installed distribution's version."""
    assert sagefetch.__version__ == version("sagefetch")


def test_an_unknown_name_is_an_attribute_error() -> None:
    """The lazy loader answers a name it does not export as a module would."""
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = sagefetch.no_such_name  # type: ignore[attr-defined]
