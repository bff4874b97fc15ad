"""Async, high-throughput batch fetcher for SageMaker ``BatchDescribeModelPackage``.

The public names load on first use (PEP 562): ``import sagefetch`` alone, as
``sagefetch --help`` does, costs no aiobotocore, botocore or aiohttp import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from ._discovery import ApprovalStatus as ApprovalStatus
    from ._exceptions import AccessDeniedError as AccessDeniedError
    from ._exceptions import ClientRetriesWarning as ClientRetriesWarning
    from ._exceptions import ConfigurationError as ConfigurationError
    from ._exceptions import CredentialsError as CredentialsError
    from ._exceptions import DeadlineExceededError as DeadlineExceededError
    from ._exceptions import EndpointUnreachableError as EndpointUnreachableError
    from ._exceptions import RunStoppedError as RunStoppedError
    from ._exceptions import SagefetchError as SagefetchError
    from ._fetcher import DescribeAllResult as DescribeAllResult
    from ._fetcher import ModelPackageFetcher as ModelPackageFetcher
    from ._gc import tune_gc as tune_gc
    from ._limiter import AdaptiveRateLimiter as AdaptiveRateLimiter
    from ._outcomes import Described as Described
    from ._outcomes import Failed as Failed
    from ._outcomes import FetchStats as FetchStats
    from ._outcomes import Outcome as Outcome
    from ._redact import RedactingFilter as RedactingFilter
    from ._redact import mask_secrets as mask_secrets
    from ._shard import ShardChunk as ShardChunk
    from ._shard import ShardResult as ShardResult
    from ._shard import ShardSpec as ShardSpec
    from ._shard import fetch_shard as fetch_shard
    from ._sync import describe_all_sync as describe_all_sync
    from ._sync import describe_outcomes_sync as describe_outcomes_sync

__all__ = [
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
]

_MODULES = {
    "ApprovalStatus": "._discovery",
    "AccessDeniedError": "._exceptions",
    "ClientRetriesWarning": "._exceptions",
    "ConfigurationError": "._exceptions",
    "CredentialsError": "._exceptions",
    "DeadlineExceededError": "._exceptions",
    "EndpointUnreachableError": "._exceptions",
    "RunStoppedError": "._exceptions",
    "SagefetchError": "._exceptions",
    "DescribeAllResult": "._fetcher",
    "ModelPackageFetcher": "._fetcher",
    "AdaptiveRateLimiter": "._limiter",
    "Described": "._outcomes",
    "Failed": "._outcomes",
    "FetchStats": "._outcomes",
    "Outcome": "._outcomes",
    "RedactingFilter": "._redact",
    "mask_secrets": "._redact",
    "ShardChunk": "._shard",
    "ShardResult": "._shard",
    "ShardSpec": "._shard",
    "fetch_shard": "._shard",
    "describe_all_sync": "._sync",
    "describe_outcomes_sync": "._sync",
    "tune_gc": "._gc",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'sagefetch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
