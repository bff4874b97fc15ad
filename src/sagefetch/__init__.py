"""Async, high-throughput batch fetcher for SageMaker ``BatchDescribeModelPackage``."""

from __future__ import annotations

from importlib.metadata import version as _version

from ._discovery import ApprovalStatus as ApprovalStatus
from ._exceptions import AccessDeniedError as AccessDeniedError
from ._exceptions import ConfigurationError as ConfigurationError
from ._exceptions import CredentialsError as CredentialsError
from ._exceptions import DeadlineExceededError as DeadlineExceededError
from ._exceptions import EndpointUnreachableError as EndpointUnreachableError
from ._exceptions import RunStoppedError as RunStoppedError
from ._exceptions import SagefetchError as SagefetchError
from ._fetcher import DescribeAllResult as DescribeAllResult
from ._fetcher import ModelPackageFetcher as ModelPackageFetcher
from ._limiter import AdaptiveRateLimiter as AdaptiveRateLimiter
from ._outcomes import Described as Described
from ._outcomes import Failed as Failed
from ._outcomes import FetchStats as FetchStats
from ._outcomes import Outcome as Outcome
from ._redact import mask_secrets as mask_secrets

__version__: str = _version("sagefetch")

__all__ = [
    "AccessDeniedError",
    "AdaptiveRateLimiter",
    "ApprovalStatus",
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
    "RunStoppedError",
    "SagefetchError",
    "__version__",
    "mask_secrets",
]
