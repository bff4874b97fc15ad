"""What a run produces: one outcome per distinct ARN, and the run's statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from types_aiobotocore_sagemaker.type_defs import BatchDescribeModelPackageSummaryTypeDef

__all__ = ["INVALID_ARN", "MISSING_FROM_RESPONSE", "Described", "Failed", "FetchStats", "Outcome"]

#: ``Failed.code`` of an ARN that does not match the service's pattern or limits.
INVALID_ARN: Final = "InvalidArn"
#: ``Failed.code`` of an ARN that successful answers kept leaving out of both maps.
MISSING_FROM_RESPONSE: Final = "MissingFromResponse"


@dataclass(frozen=True, slots=True)
class Described:
    """A model package the service described."""

    arn: str
    summary: BatchDescribeModelPackageSummaryTypeDef
    """The API's summary of the package, as botocore parsed it."""


@dataclass(frozen=True, slots=True)
class Failed:
    """An ARN that could not be described, and why."""

    arn: str
    code: str
    """The service's error code (``ResourceNotFound``, ``ValidationException``,
    ``ThrottlingException``, ...) or sagefetch's own (``InvalidArn``,
    ``MissingFromResponse``)."""
    message: str
    attempts: int
    """API calls that included this ARN (0 if it was refused locally)."""


Outcome = Described | Failed


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchStats:
    """Counts over every run of one fetcher, and its limiter's current rate."""

    calls: int = 0
    """API calls made (every attempt counts)."""
    throttled: int = 0
    """Calls answered with a throttling error."""
    retries: int = 0
    """Calls that repeated an earlier attempt (after any retryable error)."""
    described: int = 0
    failed: int = 0
    duplicates: int = 0
    """Input ARNs skipped because they had been seen before in the same run."""
    invalid: int = 0
    """ARNs refused locally (also counted in ``failed``)."""
    splits: int = 0
    """Batches split in two to isolate ARNs the service rejected."""
    rerequested: int = 0
    """ARNs asked for again after an answer left them out."""
    list_calls: int = 0
    """Listing calls made by discovery (also counted in ``calls``)."""
    listed: int = 0
    """Package ARNs discovery listed."""
    coalesced: int = 0
    """``describe`` requests that joined a lookup already pending or in flight."""
    cached: int = 0
    """``describe`` requests answered from the cache, without a call."""
    in_flight: int = 0
    max_in_flight: int = 0
    rate: float = 0.0
    """The limiter's current rate, in calls per second."""
