"""sagefetch's exceptions, and the one place where third-party errors are classified.

Exceptions are for misuse (``ValueError``, ``TypeError``) and for failures that
stop a whole run. A failure of one ARN is data: a ``Failed`` outcome.

    SagefetchError
     └── RunStoppedError           the run cannot go on; outcomes already produced stay valid
          ├── CredentialsError      credentials missing, rejected or expired
          ├── AccessDeniedError     the identity may not describe model packages
          ├── ConfigurationError    no region, unknown profile, bad AWS config
          ├── EndpointUnreachableError  the service could not be reached, retries included
          └── DeadlineExceededError the run's deadline passed

Every error a call can raise goes through :func:`classify_error`, which sorts
it into an :class:`ErrorKind`, the way httpx maps httpcore's exceptions in
``map_httpcore_exceptions()``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

import aiohttp
from botocore import exceptions as boto
from botocore.parsers import ResponseParserError

__all__ = [
    "AccessDeniedError",
    "ClassifiedError",
    "ConfigurationError",
    "CredentialsError",
    "DeadlineExceededError",
    "EndpointUnreachableError",
    "ErrorKind",
    "RunStoppedError",
    "SagefetchError",
    "classify_code",
    "classify_error",
]


class SagefetchError(Exception):
    """Base class of every exception sagefetch raises on purpose."""


class RunStoppedError(SagefetchError):
    """The run stopped before every ARN had an outcome.

    Outcomes already produced are complete and correct; ARNs without one were
    not described and can be asked for again (the CLI's ``--resume``).
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        """The service's error code that stopped the run, if any."""


class CredentialsError(RunStoppedError):
    """The credentials are missing, unknown to AWS, expired, or sign wrongly."""


class AccessDeniedError(RunStoppedError):
    """The identity is not allowed to call ``BatchDescribeModelPackage``."""


class ConfigurationError(RunStoppedError):
    """The AWS configuration cannot make a working client (region, profile, ...)."""


class EndpointUnreachableError(RunStoppedError):
    """No connection to the service could be made, through every retry.

    The run stops rather than failing ARNs: an unreachable endpoint says
    nothing about the packages, and a later (resumed) run can describe them.
    """


class DeadlineExceededError(RunStoppedError):
    """The run's overall deadline passed."""


class ErrorKind(enum.Enum):
    """What a failed call means for the pipeline."""

    THROTTLED = "throttled"
    """Slow down (feed the limiter) and retry."""
    TRANSIENT = "transient"
    """Server or network trouble: retry with backoff."""
    UNREACHABLE = "unreachable"
    """No connection could be made: retry with backoff; stop the run when retries run out."""
    INVALID_REQUEST = "invalid_request"
    """The service rejected the whole call's input: split the batch to find why."""
    TERMINAL = "terminal"
    """Retrying will not help: the batch's ARNs fail with this error."""
    CREDENTIALS = "credentials"
    """Every call will fail: stop the run (:class:`CredentialsError`)."""
    ACCESS_DENIED = "access_denied"
    """Every call will fail: stop the run (:class:`AccessDeniedError`)."""
    CONFIGURATION = "configuration"
    """No call can be made: stop the run (:class:`ConfigurationError`)."""

    @property
    def retryable(self) -> bool:
        """Whether another attempt may succeed."""
        return self in (ErrorKind.THROTTLED, ErrorKind.TRANSIENT, ErrorKind.UNREACHABLE)

    @property
    def stops_run(self) -> bool:
        """Whether the error would fail every call, so the run must stop."""
        return self in (ErrorKind.CREDENTIALS, ErrorKind.ACCESS_DENIED, ErrorKind.CONFIGURATION)


#: Throttling codes: botocore's ``ThrottledRetryableChecker`` list, which is the
#: union of what AWS services answer.
THROTTLING_CODES: Final = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "EC2ThrottledException",
})  # fmt: skip
TRANSIENT_CODES: Final = frozenset({
    "InternalFailure", "InternalError", "InternalServerError", "InternalServerException",
    "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout",
    "RequestTimeoutException", "PriorRequestNotComplete", "BadGateway", "GatewayTimeout",
})  # fmt: skip
CREDENTIAL_CODES: Final = frozenset({
    "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException",
    "ExpiredToken", "InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignature",
    "MissingAuthenticationToken", "MissingAuthenticationTokenException", "AuthFailure",
    "InvalidAccessKeyId", "RequestExpired",
})  # fmt: skip
ACCESS_DENIED_CODES: Final = frozenset({
    "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "NotAuthorized",
})  # fmt: skip
INVALID_REQUEST_CODES: Final = frozenset({"ValidationException"})

_CREDENTIAL_EXCEPTIONS: Final = (
    boto.NoCredentialsError,
    boto.PartialCredentialsError,
    boto.CredentialRetrievalError,
    boto.NoAuthTokenError,
    boto.TokenRetrievalError,
    boto.SSOError,
    # botocore 1.40 (aiobotocore 2.25) predates the login provider and its error.
    *((boto.LoginError,) if hasattr(boto, "LoginError") else ()),
    boto.RefreshWithMFAUnsupportedError,
)
_CONFIGURATION_EXCEPTIONS: Final = (
    boto.NoRegionError,
    boto.ProfileNotFound,
    boto.ConfigParseError,
    boto.ConfigNotFound,
    boto.InvalidConfigError,
    boto.UnknownServiceError,
    boto.EndpointResolutionError,
    boto.InvalidRegionError,
)
_UNREACHABLE_EXCEPTIONS: Final = (
    boto.EndpointConnectionError,  # refused, DNS failure, no route
    boto.ConnectTimeoutError,
    ConnectionRefusedError,
)
_TRANSIENT_EXCEPTIONS: Final = (
    boto.ConnectionError,  # EndpointConnectionError, ConnectTimeoutError, SSLError, ...
    boto.HTTPClientError,  # ConnectionClosedError, ReadTimeoutError, ResponseStreamingError
    boto.IncompleteReadError,
    ResponseParserError,  # a torn or garbled body
    aiohttp.ClientError,
    ConnectionError,  # the builtin: resets and broken pipes
    TimeoutError,  # sagefetch's own per-call timeout
)

_HINTS: Final = {
    ErrorKind.CREDENTIALS: (
        "HINT: check which credentials are in use (--profile / AWS_PROFILE, AWS_ACCESS_KEY_ID), "
        "refresh expired session credentials (for example 'aws sso login'), and check the "
        "system clock."
    ),
    ErrorKind.ACCESS_DENIED: (
        "HINT: the identity needs the IAM permission sagemaker:{operation} (describing needs "
        "sagemaker:BatchDescribeModelPackage; audits also sagemaker:ListModelPackageGroups, "
        "sagemaker:ListModelPackages and sagemaker:DescribeModelPackageGroup), and KMS or SCP "
        "rules must allow it."
    ),
    ErrorKind.UNREACHABLE: (
        "HINT: check the endpoint (--endpoint-url, AWS_ENDPOINT_URL_SAGEMAKER), the network "
        "and proxies; records written so far are valid, resume with --resume."
    ),
    ErrorKind.CONFIGURATION: (
        "HINT: pass a region (region_name / --region, or AWS_DEFAULT_REGION) and an existing "
        "profile, and check ~/.aws/config."
    ),
}


@dataclass(frozen=True, slots=True)
class ClassifiedError:
    """A failed call, sorted: what kind of failure, its code and message."""

    kind: ErrorKind
    code: str
    message: str
    retry_after: float | None = None
    """Seconds the service asked us to wait (``x-amz-retry-after``), if it did."""

    def stop_error(self, operation: str = "BatchDescribeModelPackage") -> RunStoppedError:
        """The exception that stops the run, for kinds that do.

        Args:
            operation: The API operation that failed, named in the message.
        """
        cls: type[RunStoppedError] = {
            ErrorKind.CREDENTIALS: CredentialsError,
            ErrorKind.ACCESS_DENIED: AccessDeniedError,
            ErrorKind.CONFIGURATION: ConfigurationError,
            ErrorKind.UNREACHABLE: EndpointUnreachableError,
        }.get(self.kind, RunStoppedError)
        hint = _HINTS.get(self.kind, "").format(operation=operation)
        message = f"{self.code}: {self.message} (calling {operation})\n{hint}"
        return cls(message.rstrip(), code=self.code)


def classify_code(code: str, status: int | None = None) -> ErrorKind:
    """Sort a service error code (of a whole call or of one ARN) into an :class:`ErrorKind`."""
    if code in THROTTLING_CODES:
        return ErrorKind.THROTTLED
    if code in CREDENTIAL_CODES:
        return ErrorKind.CREDENTIALS
    if code in ACCESS_DENIED_CODES:
        return ErrorKind.ACCESS_DENIED
    if code in INVALID_REQUEST_CODES:
        return ErrorKind.INVALID_REQUEST
    if code in TRANSIENT_CODES or (status is not None and status >= 500):
        return ErrorKind.TRANSIENT
    return ErrorKind.TERMINAL


def classify_error(exc: BaseException) -> ClassifiedError:
    """Sort an exception raised by a call into an :class:`ErrorKind`.

    Raises:
        BaseException: ``exc`` itself when it is not an error of a call (a bug,
            or cancellation), so it is never mistaken for a service failure.
    """
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        metadata = exc.response.get("ResponseMetadata", {})
        code = str(error.get("Code") or "Unknown")
        status = metadata.get("HTTPStatusCode")
        return ClassifiedError(
            kind=classify_code(code, status),
            code=code,
            message=str(error.get("Message") or exc),
            retry_after=_retry_after(metadata.get("HTTPHeaders", {})),
        )
    for exceptions, kind in (
        (_CREDENTIAL_EXCEPTIONS, ErrorKind.CREDENTIALS),
        (_CONFIGURATION_EXCEPTIONS, ErrorKind.CONFIGURATION),
        (_UNREACHABLE_EXCEPTIONS, ErrorKind.UNREACHABLE),
        (_TRANSIENT_EXCEPTIONS, ErrorKind.TRANSIENT),
    ):
        if isinstance(exc, exceptions):
            message = str(exc) or (
                "no answer within the timeout"
                if kind is ErrorKind.TRANSIENT and isinstance(exc, TimeoutError)
                else type(exc).__name__
            )
            return ClassifiedError(kind=kind, code=type(exc).__name__, message=message)
    if isinstance(exc, boto.BotoCoreError):
        return ClassifiedError(ErrorKind.TERMINAL, type(exc).__name__, str(exc))
    raise exc


def _retry_after(headers: dict[str, str]) -> float | None:
    # Milliseconds, as botocore's standard retry mode reads it.
    value = headers.get("x-amz-retry-after")
    if value is None:
        return None
    try:
        seconds = int(value) / 1000.0
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
