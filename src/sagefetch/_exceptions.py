"""sagefetch's exceptions, and the one place where third-party errors are classified.

Exceptions are for misuse (``ValueError``, ``TypeError``) and for failures that
stop a whole run. A failure of one ARN is data: a ``Failed`` outcome.

    SagefetchError
     └── RunStoppedError           the run cannot go on; outcomes already produced stay valid
          ├── CredentialsError      credentials missing, rejected or expired
          ├── AccessDeniedError     the identity may not describe model packages
          ├── ConfigurationError    no region, unknown profile, bad AWS config
          ├── EndpointUnreachableError  no answer (connection, proxy, TLS, timeout), after retries
          └── DeadlineExceededError the run's deadline passed

Every error a call can raise goes through :func:`classify_error`, which sorts
it into an :class:`ErrorKind`, the way httpx maps httpcore's exceptions in
``map_httpcore_exceptions()``. The rule it keeps: a failed record says what the
service said. An error before a whole answer exists (connect, DNS, proxy, TLS,
timeout, a reset) says nothing about the packages, so it is retried and then
stops the run, resumable; it never fails an ARN. And an error that is neither
(a bug, a wrong event loop) is raised as it is: never retried, never a record.
"""

from __future__ import annotations

import asyncio
import enum
import math
import ssl
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

import aiohttp
from botocore import exceptions as boto
from botocore.parsers import ResponseParserError

from ._redact import mask_text

__all__ = [
    "AccessDeniedError",
    "ClassifiedError",
    "ClientRetriesWarning",
    "ConfigurationError",
    "CredentialsError",
    "DeadlineExceededError",
    "EndpointUnreachableError",
    "ErrorKind",
    "NoAnswer",
    "RunStoppedError",
    "SagefetchError",
    "classify_code",
    "classify_error",
    "normalize_code",
]


class SagefetchError(Exception):
    """Base class of every exception sagefetch raises on purpose."""


class ClientRetriesWarning(UserWarning):
    """A caller's client retries by itself: attempts multiply and throttles hide from the limiter.

    Create the client with ``AioConfig(retries={"total_max_attempts": 1})``.
    """


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
    """The service gave no answer, through every retry: connection, proxy, TLS or timeout.

    The run stops rather than failing ARNs: no answer says nothing about the
    packages, and a later (resumed) run can describe them. The message's hint
    names the cause.
    """


class DeadlineExceededError(RunStoppedError):
    """The run's overall deadline passed."""


class ErrorKind(enum.Enum):
    """What a failed call means for the pipeline."""

    THROTTLED = "throttled"
    """Slow down (feed the limiter) and retry."""
    TRANSIENT = "transient"
    """The service answered with trouble (5xx, a malformed answer): retry with backoff."""
    UNREACHABLE = "unreachable"
    """No answer (connection, proxy, TLS, timeout): retry with backoff; stop the run
    (:class:`EndpointUnreachableError`) when retries run out, failing no ARN."""
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

#: Whole-call throttling by HTTP status whatever the code (a proxy's HTML 429
#: has none), and 503 answers whose code says "busy" rather than "broken".
THROTTLING_STATUS: Final = 429
BUSY_CODES: Final = frozenset({"ServiceUnavailable", "ServiceUnavailableException", "SlowDown"})
#: ``Failed.code`` of ARNs whose answers kept not fitting the API's shape.
INVALID_RESPONSE: Final = "InvalidResponse"


class NoAnswer(enum.Enum):
    """Why the service said nothing: the cause a stopped run's hint names."""

    PROXY = "proxy"
    TLS = "tls"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    """Refused, DNS, no route, or closed or reset before a whole answer."""
    INTERMEDIARY = "intermediary"
    """An HTTP error without an AWS error code: a proxy, firewall or gateway answered."""


#: Every exception a call can raise that is not the service's answer, in order
#: (the first row an exception matches decides): its kind, and for kinds that
#: mean "no answer", why. ClientError (an answer) is classified by its code.
_Row = tuple[tuple[type[BaseException], ...], ErrorKind, NoAnswer | None]
_EXCEPTIONS: Final[tuple[_Row, ...]] = (
    (
        (
            boto.NoCredentialsError,
            boto.PartialCredentialsError,
            boto.CredentialRetrievalError,
            boto.NoAuthTokenError,
            boto.TokenRetrievalError,
            boto.SSOError,
            # botocore 1.40 (aiobotocore 2.25) predates the login provider and its error.
            *((boto.LoginError,) if hasattr(boto, "LoginError") else ()),
            boto.RefreshWithMFAUnsupportedError,
        ),
        ErrorKind.CREDENTIALS,
        None,
    ),
    (
        (
            boto.NoRegionError,
            boto.ProfileNotFound,
            boto.ConfigParseError,
            boto.ConfigNotFound,
            boto.InvalidConfigError,
            boto.UnknownServiceError,
            boto.EndpointResolutionError,
            boto.InvalidRegionError,
            boto.InvalidProxiesConfigError,
            boto.UnknownSignatureVersionError,
            boto.UnsupportedSignatureVersionError,
            boto.UnknownCredentialError,
            boto.InvalidEndpointConfigurationError,
            boto.InvalidRetryConfigurationError,
            boto.InvalidMaxRetryAttemptsError,
            boto.InvalidRetryModeError,
            boto.UnknownEndpointError,
            boto.UnknownRegionError,
            boto.UnknownFIPSEndpointError,
            boto.InvalidDNSNameError,
            boto.InvalidHostLabelError,
        ),
        ErrorKind.CONFIGURATION,
        None,
    ),
    # The service answered, but not in the API's shape (the decoder says what).
    ((ResponseParserError,), ErrorKind.TRANSIENT, None),
    # No answer exists: retried, then the run stops; never a record.
    ((boto.ProxyConnectionError, aiohttp.ClientProxyConnectionError), ErrorKind.UNREACHABLE,
     NoAnswer.PROXY),
    ((boto.SSLError, ssl.SSLError, aiohttp.ClientSSLError), ErrorKind.UNREACHABLE, NoAnswer.TLS),
    (
        (boto.ConnectTimeoutError, boto.ReadTimeoutError, TimeoutError,
         aiohttp.ServerTimeoutError),
        ErrorKind.UNREACHABLE,
        NoAnswer.TIMEOUT,
    ),
    (
        (
            boto.ConnectionError,  # EndpointConnectionError: refused, DNS failure, no route
            # ConnectionClosedError, ResponseStreamingError, ...; a bare HTTPClientError
            # is classified by what it wraps (see classify_error).
            boto.HTTPClientError,
            boto.IncompleteReadError,  # the connection closed inside the body
            aiohttp.ClientError,
            aiohttp.http_exceptions.HttpProcessingError,  # a garbled status line or header
            asyncio.IncompleteReadError,
            OSError,  # the socket layer: refused, reset, unreachable network, DNS
        ),
        ErrorKind.UNREACHABLE,
        NoAnswer.CONNECTION,
    ),
)  # fmt: skip

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
    ErrorKind.CONFIGURATION: (
        "HINT: pass a region (region_name / --region, or AWS_DEFAULT_REGION) and an existing "
        "profile, and check ~/.aws/config."
    ),
}
_RESUME: Final = "No ARN was failed for it: records written so far are valid; resume with --resume."
_NO_ANSWER_HINTS: Final = {
    NoAnswer.PROXY: (
        "HINT: the proxy could not be reached or refused the connection: check HTTPS_PROXY, "
        "HTTP_PROXY and NO_PROXY (or the proxies in ~/.aws/config). " + _RESUME
    ),
    NoAnswer.TLS: (
        "HINT: the TLS handshake failed: check the endpoint's certificate, AWS_CA_BUNDLE "
        "(or ca_bundle in ~/.aws/config) and any TLS-inspecting proxy. " + _RESUME
    ),
    NoAnswer.TIMEOUT: (
        "HINT: the service did not answer in time: check the network and proxies, or allow "
        "longer calls (timeout= / --timeout). " + _RESUME
    ),
    NoAnswer.INTERMEDIARY: (
        "HINT: the answer carried no AWS error code, so it came from something between "
        "sagefetch and the service (a proxy, firewall, load balancer or gateway): check "
        "HTTPS_PROXY, HTTP_PROXY and NO_PROXY, and the endpoint. " + _RESUME
    ),
    NoAnswer.CONNECTION: (
        "HINT: check the endpoint (--endpoint-url, AWS_ENDPOINT_URL_SAGEMAKER), DNS, the "
        "network and proxies. " + _RESUME
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
    no_answer: NoAnswer | None = None
    """Why the service said nothing, for :attr:`ErrorKind.UNREACHABLE`."""

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
        hint = (
            _NO_ANSWER_HINTS[self.no_answer]
            if self.no_answer is not None
            else _HINTS.get(self.kind, "").format(operation=operation)
        )
        message = f"{self.code}: {self.message} (calling {operation})\n{hint}"
        return cls(message.rstrip(), code=self.code)


def normalize_code(code: str) -> str:
    """An error code as botocore reports it: ``ns#Code`` and ``Code:http...`` are ``Code``."""
    code = code.rpartition("#")[2] or code
    head, _, uri = code.partition(":")
    return head if uri.startswith(("http://", "https://")) and head else code


def classify_code(code: str, status: int | None = None) -> ErrorKind:
    """Sort a service error code (of a whole call or of one ARN) into an :class:`ErrorKind`.

    ``status`` is the call's HTTP status; ``None`` for a code inside an answer's
    error map, where a "busy" code is a throttle too.
    """
    code = normalize_code(code)
    if (
        code in THROTTLING_CODES
        or status == THROTTLING_STATUS
        or (status in (None, HTTPStatus.SERVICE_UNAVAILABLE) and code in BUSY_CODES)
    ):
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

    Messages are masked (:func:`~sagefetch.mask_text`): a server or proxy that
    echoes the request's headers never puts credentials into a record, a log
    line or an exception.

    Raises:
        BaseException: ``exc`` itself when it is not an error of a call (a bug,
            misuse such as a wrong event loop, or cancellation), also when
            aiobotocore wrapped such an error in a bare ``HTTPClientError``, so
            it is never mistaken for a service failure nor retried as no answer.
    """
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        metadata = exc.response.get("ResponseMetadata", {})
        code = mask_text(normalize_code(str(error.get("Code") or "Unknown")))
        status = metadata.get("HTTPStatusCode")
        message = mask_text(str(error.get("Message") or exc))
        retry_after = _retry_after(metadata.get("HTTPHeaders", {}))
        if code == str(status) and status != THROTTLING_STATUS:
            # botocore names a code-less error by its status: no AWS service
            # answered like that; something in between did.
            cause = (
                NoAnswer.PROXY
                if status == HTTPStatus.PROXY_AUTHENTICATION_REQUIRED
                else (NoAnswer.INTERMEDIARY)
            )
            return ClassifiedError(ErrorKind.UNREACHABLE, code, message, retry_after, cause)
        return ClassifiedError(classify_code(code, status), code, message, retry_after)
    row = _row(exc)
    if row is not None:
        kind, no_answer = row
        code = INVALID_RESPONSE if isinstance(exc, ResponseParserError) else type(exc).__name__
        message = str(exc) or (
            "no answer within the timeout" if isinstance(exc, TimeoutError) else code
        )
        return ClassifiedError(kind, code, mask_text(message), no_answer=no_answer)
    if isinstance(exc, boto.BotoCoreError) and type(exc) is not boto.HTTPClientError:
        return ClassifiedError(ErrorKind.TERMINAL, type(exc).__name__, mask_text(str(exc)))
    raise exc


def _row(exc: BaseException) -> tuple[ErrorKind, NoAnswer | None] | None:
    """The kind (and cause) of the first row of ``_EXCEPTIONS`` that ``exc`` matches."""
    if type(exc) is boto.HTTPClientError:
        # aiobotocore wraps whatever else sending raised in a bare HTTPClientError
        # (the last ``except Exception`` of its httpsession.py): what it wraps
        # decides. A RuntimeError there ("no running event loop" under trio, a
        # sniffio error) or a TypeError is a bug or misuse, not a network failure:
        # retried it would end as "endpoint unreachable", as a record a lie.
        cause = exc.kwargs.get("error")
        return _row(cause) if isinstance(cause, BaseException) else None
    for exceptions, kind, no_answer in _EXCEPTIONS:
        if isinstance(exc, exceptions):
            return kind, no_answer
    return None


def _retry_after(headers: dict[str, str]) -> float | None:
    # Milliseconds, as botocore's standard retry mode reads it.
    value = headers.get("x-amz-retry-after")
    if value is None:
        return None
    try:
        seconds = float(value) / 1000.0
    except ValueError:
        return None
    # Nonsense (negative, NaN, infinite) is ignored; the backoff caps the rest.
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
