"""Every error a call can raise is classified in one place, as documented."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import aiohttp
import pytest
from botocore import exceptions as boto
from botocore.parsers import ResponseParserError
from sniffio import AsyncLibraryNotFoundError

from sagefetch import (
    AccessDeniedError,
    ConfigurationError,
    CredentialsError,
    EndpointUnreachableError,
    RunStoppedError,
    SagefetchError,
)
from sagefetch._exceptions import (
    ACCESS_DENIED_CODES,
    CREDENTIAL_CODES,
    INVALID_REQUEST_CODES,
    THROTTLING_CODES,
    TRANSIENT_CODES,
    ClassifiedError,
    ErrorKind,
    NoAnswer,
    classify_code,
    classify_error,
)


def _client_error(
    code: str, status: int = 400, headers: dict[str, str] | None = None
) -> boto.ClientError:
    return boto.ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
        },
        "BatchDescribeModelPackage",
    )


#: Every code sagefetch claims to handle, and its kind (at HTTP 400).
CLAIMED_CODES = {
    **dict.fromkeys(
        ["Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
         "TooManyRequestsException", "ProvisionedThroughputExceededException",
         "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
         "LimitExceededException", "RequestThrottled", "SlowDown", "EC2ThrottledException"],
        ErrorKind.THROTTLED,
    ),
    **dict.fromkeys(
        ["InternalFailure", "InternalError", "InternalServerError", "InternalServerException",
         "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout",
         "RequestTimeoutException", "PriorRequestNotComplete", "BadGateway", "GatewayTimeout"],
        ErrorKind.TRANSIENT,
    ),
    **dict.fromkeys(
        ["UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException",
         "ExpiredToken", "InvalidSignatureException", "SignatureDoesNotMatch",
         "IncompleteSignature", "MissingAuthenticationToken",
         "MissingAuthenticationTokenException", "AuthFailure", "InvalidAccessKeyId",
         "RequestExpired"],
        ErrorKind.CREDENTIALS,
    ),
    **dict.fromkeys(
        ["AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "NotAuthorized"],
        ErrorKind.ACCESS_DENIED,
    ),
    "ValidationException": ErrorKind.INVALID_REQUEST,
}  # fmt: skip


@pytest.mark.parametrize(("code", "kind"), CLAIMED_CODES.items(), ids=CLAIMED_CODES)
def test_every_claimed_code_is_classified(code: str, kind: ErrorKind) -> None:
    """Each code sagefetch claims to handle lands in its kind, as a ClientError and alone."""
    assert classify_code(code, 400) is kind
    assert classify_error(_client_error(code)).kind is kind
    assert classify_code(f"com.amazonaws.sagemaker#{code}", 400) is kind


def test_no_code_is_claimed_without_a_test() -> None:
    """The module's code sets hold exactly the codes tested above, each in its own kind."""
    claimed = {
        ErrorKind.THROTTLED: THROTTLING_CODES,
        ErrorKind.TRANSIENT: TRANSIENT_CODES,
        ErrorKind.CREDENTIALS: CREDENTIAL_CODES,
        ErrorKind.ACCESS_DENIED: ACCESS_DENIED_CODES,
        ErrorKind.INVALID_REQUEST: INVALID_REQUEST_CODES,
    }
    for kind, codes in claimed.items():
        assert codes == {code for code, of in CLAIMED_CODES.items() if of is kind}, kind


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        pytest.param("ThrottlingException", ErrorKind.THROTTLED, id="throttling"),
        pytest.param("com.amazonaws.sagemaker#ThrottlingException", ErrorKind.THROTTLED,
                     id="namespaced"),
        pytest.param("ThrottlingException:http://internal.amazon.com/", ErrorKind.THROTTLED,
                     id="with-uri"),
        pytest.param("ServiceUnavailable", ErrorKind.THROTTLED, id="busy"),
        pytest.param("SlowDown", ErrorKind.THROTTLED, id="slow-down"),
        pytest.param("InternalFailure", ErrorKind.TRANSIENT, id="internal"),
        pytest.param("ResourceNotFound", ErrorKind.TERMINAL, id="not-found"),
    ],
)  # fmt: skip
def test_per_arn_codes_are_classified_like_whole_call_ones(code: str, kind: ErrorKind) -> None:
    """Codes inside the error map (no status): namespaces stripped, busy codes are throttles."""
    assert classify_code(code) is kind


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        pytest.param(407, NoAnswer.PROXY, id="407-proxy-auth"),
        pytest.param(403, NoAnswer.INTERMEDIARY, id="403-firewall"),
        pytest.param(502, NoAnswer.INTERMEDIARY, id="502-gateway"),
        pytest.param(504, NoAnswer.INTERMEDIARY, id="504-gateway"),
        pytest.param(404, NoAnswer.INTERMEDIARY, id="404-wrong-endpoint"),
    ],
)
def test_an_http_error_without_an_aws_code_is_not_the_service_speaking(
    status: int, cause: NoAnswer
) -> None:
    """A code-less error (botocore names it by its status) is a proxy or gateway: no record."""
    classified = classify_error(_client_error(str(status), status))
    assert classified.kind is ErrorKind.UNREACHABLE
    assert classified.no_answer is cause
    assert "HTTPS_PROXY" in str(classified.stop_error())


def test_the_named_codes_of_the_issue_are_covered() -> None:
    """The codes users will meet most are in the right sets."""
    assert {"ThrottlingException", "Throttling", "TooManyRequestsException",
            "RequestLimitExceeded"} <= THROTTLING_CODES  # fmt: skip
    assert {"InternalFailure", "ServiceUnavailable"} <= TRANSIENT_CODES
    assert {"UnrecognizedClientException", "ExpiredTokenException",
            "InvalidSignatureException"} <= CREDENTIAL_CODES  # fmt: skip
    assert "AccessDeniedException" in ACCESS_DENIED_CODES


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_unknown_codes_with_5xx_status_are_transient(status: int) -> None:
    """A server error we have no name for is still retried."""
    assert classify_error(_client_error("SomethingNew", status)).kind is ErrorKind.TRANSIENT


def test_unknown_4xx_codes_are_terminal() -> None:
    """A client error we have no name for fails its batch without retries."""
    error = classify_error(_client_error("ResourceNotFound", 400))
    assert error == ClassifiedError(
        ErrorKind.TERMINAL, "ResourceNotFound", "ResourceNotFound happened"
    )


_URL = "https://api.sagemaker.us-east-1.amazonaws.com/"


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        pytest.param(boto.EndpointConnectionError(endpoint_url=_URL), NoAnswer.CONNECTION,
                     id="endpoint-connection"),
        pytest.param(ConnectionRefusedError(), NoAnswer.CONNECTION, id="refused"),
        pytest.param(socket.gaierror(-2, "Name or service not known"), NoAnswer.CONNECTION,
                     id="dns"),
        pytest.param(boto.ConnectionClosedError(endpoint_url=_URL), NoAnswer.CONNECTION,
                     id="connection-closed"),
        pytest.param(ConnectionResetError(104, "Connection reset by peer"), NoAnswer.CONNECTION,
                     id="reset"),
        pytest.param(boto.IncompleteReadError(actual_bytes=3, expected_bytes=9),
                     NoAnswer.CONNECTION, id="torn-body"),
        pytest.param(aiohttp.ServerDisconnectedError(), NoAnswer.CONNECTION,
                     id="aiohttp-disconnected"),
        pytest.param(boto.HTTPClientError(error=ConnectionResetError(104, "reset")),
                     NoAnswer.CONNECTION, id="http-client-wrapping-reset"),
        pytest.param(boto.HTTPClientError(error=aiohttp.http_exceptions.LineTooLong(b"x", "8190")),
                     NoAnswer.CONNECTION, id="http-client-wrapping-garbled-http"),
        pytest.param(boto.HTTPClientError(error=boto.HTTPClientError(error=TimeoutError())),
                     NoAnswer.TIMEOUT, id="http-client-wrapping-timeout"),
        pytest.param(boto.ProxyConnectionError(proxy_url="http://127.0.0.1:9", error="refused"),
                     NoAnswer.PROXY, id="proxy"),
        pytest.param(boto.SSLError(endpoint_url=_URL, error="CERTIFICATE_VERIFY_FAILED"),
                     NoAnswer.TLS, id="tls"),
        pytest.param(ssl.SSLError(1, "WRONG_VERSION_NUMBER"), NoAnswer.TLS, id="ssl-module"),
        pytest.param(boto.ConnectTimeoutError(endpoint_url=_URL), NoAnswer.TIMEOUT,
                     id="connect-timeout"),
        pytest.param(boto.ReadTimeoutError(endpoint_url=_URL), NoAnswer.TIMEOUT,
                     id="read-timeout"),
        pytest.param(TimeoutError(), NoAnswer.TIMEOUT, id="own-timeout"),
        pytest.param(asyncio.IncompleteReadError(b"ab", 9), NoAnswer.CONNECTION,
                     id="asyncio-incomplete-read"),
        pytest.param(OSError(errno.ENETUNREACH, "Network is unreachable"), NoAnswer.CONNECTION,
                     id="network-unreachable"),
        pytest.param(aiohttp.http_exceptions.BadHttpMessage("bad status line"),
                     NoAnswer.CONNECTION, id="garbled-http"),
        pytest.param(aiohttp.ClientPayloadError("cut"), NoAnswer.CONNECTION, id="payload"),
        pytest.param(ConnectionAbortedError(), NoAnswer.CONNECTION, id="aborted"),
    ],
)  # fmt: skip
def test_errors_before_an_answer_are_no_answer_never_a_record(
    exc: Exception, cause: NoAnswer
) -> None:
    """Connect, DNS, proxy, TLS, timeout and reset errors are UNREACHABLE, with their cause.

    UNREACHABLE is retried and then stops the run (EndpointUnreachableError); it
    never fails an ARN. The stop error's hint names the cause.
    """
    classified = classify_error(exc)
    assert classified.kind is ErrorKind.UNREACHABLE
    assert classified.kind.retryable
    assert classified.no_answer is cause
    assert classified.code == type(exc).__name__
    assert classified.message
    stop = classified.stop_error()
    assert isinstance(stop, EndpointUnreachableError)
    assert {
        NoAnswer.PROXY: "HTTPS_PROXY",
        NoAnswer.TLS: "AWS_CA_BUNDLE",
        NoAnswer.TIMEOUT: "--timeout",
        NoAnswer.CONNECTION: "--endpoint-url",
    }[cause] in str(stop)
    assert "--resume" in str(stop)


def test_a_malformed_answer_is_a_retryable_invalid_response() -> None:
    """The decoder's ResponseParserError is the service's (bad) answer: retried, then a record."""
    classified = classify_error(ResponseParserError("the answer is a list, not a JSON object"))
    assert classified.kind is ErrorKind.TRANSIENT
    assert classified.code == "InvalidResponse"
    assert classified.message == "the answer is a list, not a JSON object"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        pytest.param(boto.NoCredentialsError(), ErrorKind.CREDENTIALS, id="no-credentials"),
        pytest.param(
            boto.PartialCredentialsError(provider="env", cred_var="x"),
            ErrorKind.CREDENTIALS,
            id="partial-credentials",
        ),
        pytest.param(boto.NoRegionError(), ErrorKind.CONFIGURATION, id="no-region"),
        pytest.param(
            boto.ProfileNotFound(profile="nope"), ErrorKind.CONFIGURATION, id="no-profile"
        ),
        pytest.param(
            boto.InvalidProxiesConfigError(proxy_url="::bad"),
            ErrorKind.CONFIGURATION,
            id="bad-proxy-setting",
        ),
        pytest.param(
            boto.UnknownSignatureVersionError(signature_version="v9"),
            ErrorKind.CONFIGURATION,
            id="signature-version",
        ),
        pytest.param(
            boto.UnknownCredentialError(name="nope"), ErrorKind.CONFIGURATION, id="credential-kind"
        ),
        pytest.param(
            boto.ParamValidationError(report="bad"), ErrorKind.TERMINAL, id="other-botocore"
        ),
    ],
)
def test_botocore_exceptions_are_classified(exc: Exception, kind: ErrorKind) -> None:
    """Credential and configuration errors stop the run; other botocore errors are terminal."""
    classified = classify_error(exc)
    assert classified.kind is kind
    assert classified.code == type(exc).__name__
    assert classified.message


@pytest.mark.parametrize(
    ("code", "status"),
    [
        pytest.param("429", 429, id="429-html-body"),
        pytest.param("TooManyRequestsException", 429, id="429-typed"),
        pytest.param("SlowDown", 503, id="503-slowdown"),
        pytest.param("ServiceUnavailable", 503, id="503-unavailable"),
        pytest.param("ServiceUnavailableException", 503, id="503-unavailable-exception"),
        pytest.param("RequestThrottled", 400, id="request-throttled"),
        pytest.param("ProvisionedThroughputExceededException", 400, id="provisioned-throughput"),
        pytest.param("RequestLimitExceeded", 400, id="request-limit"),
    ],
)
def test_every_throttling_signal_is_throttling(code: str, status: int) -> None:
    """429 with any body, busy 503s and every throttling code slow the limiter down."""
    assert classify_error(_client_error(code, status)).kind is ErrorKind.THROTTLED


def test_a_500_is_trouble_not_throttling() -> None:
    """A broken server (500, or a 503 without a busy code) is retried without slowing down."""
    assert classify_error(_client_error("InternalFailure", 500)).kind is ErrorKind.TRANSIENT
    assert classify_error(_client_error("BadGateway", 502)).kind is ErrorKind.TRANSIENT


def test_echoed_credentials_never_reach_a_classified_message() -> None:
    """A server or proxy that echoes the signed request leaves no secret in the message."""
    echo = (
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAQWERTYUIOPASDFGH/20261127/us-east-1/"
        "sagemaker/aws4_request, SignedHeaders=host, Signature=" + "ab" * 32 + "\n"
        "X-Amz-Security-Token: FwoGZXIvYXdzEJr" + "k" * 120
    )
    classified = classify_error(
        boto.ClientError({"Error": {"Code": "BadRequest", "Message": echo}}, "Op")
    )
    stop = classify_error(ResponseParserError(echo)).stop_error()
    for text in (classified.message, str(stop)):
        assert "AKIAQWERTYUIOPASDFGH" not in text
        assert "ab" * 32 not in text
        assert "k" * 100 not in text


def test_other_exceptions_are_not_mistaken_for_service_errors() -> None:
    """A bug in sagefetch is re-raised, never turned into a Failed outcome."""
    with pytest.raises(KeyError):
        classify_error(KeyError("bug"))


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(boto.HTTPClientError(error=RuntimeError("no running event loop")),
                     id="wrapped-wrong-event-loop"),
        pytest.param(boto.HTTPClientError(error=AsyncLibraryNotFoundError("unknown async library")),
                     id="wrapped-sniffio"),
        pytest.param(boto.HTTPClientError(error=TypeError("a bug in a library")), id="wrapped-bug"),
        pytest.param(boto.HTTPClientError(error="no exception at all"), id="wrapped-text"),
        pytest.param(RuntimeError("no running event loop"), id="wrong-event-loop"),
        pytest.param(AsyncLibraryNotFoundError("unknown async library"), id="sniffio"),
    ],
)  # fmt: skip
def test_misuse_and_bugs_are_raised_never_retried_nor_a_record(exc: Exception) -> None:
    """A wrong event loop or a bug, bare or in aiobotocore's catch-all HTTPClientError, is raised.

    Classified, it would be retried as no answer (and stop the run as
    "endpoint unreachable") or fail ARNs as if the service had answered.
    """
    with pytest.raises(type(exc)) as caught:
        classify_error(exc)
    assert caught.value is exc


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("1500", 1.5, id="milliseconds"),
        pytest.param("-1", None, id="negative"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("nan", None, id="nan"),
        pytest.param("inf", None, id="infinite"),
        pytest.param("86400000000", 86400000.0, id="absurd-but-read"),
    ],
)
def test_retry_after_header_is_read_in_milliseconds(header: str, expected: float | None) -> None:
    """``x-amz-retry-after`` is milliseconds, as botocore reads it; nonsense is ignored."""
    error = classify_error(_client_error("ThrottlingException", 400, {"x-amz-retry-after": header}))
    assert error.retry_after == expected


@pytest.mark.parametrize(
    ("code", "cls", "hint"),
    [
        pytest.param("ExpiredTokenException", CredentialsError, "aws sso login", id="credentials"),
        pytest.param(
            "AccessDeniedException",
            AccessDeniedError,
            "sagemaker:BatchDescribeModelPackage",
            id="access",
        ),
    ],
)
def test_stop_errors_say_what_to_fix(code: str, cls: type[RunStoppedError], hint: str) -> None:
    """Errors that stop the run are sagefetch exceptions with the code and a HINT."""
    error = classify_error(_client_error(code)).stop_error()
    assert isinstance(error, cls)
    assert isinstance(error, SagefetchError)
    assert error.code == code
    assert str(error).startswith(
        f"{code}: {code} happened (calling BatchDescribeModelPackage)\nHINT: "
    )
    assert hint in str(error)


def test_access_denied_names_the_operation_that_was_denied() -> None:
    """A denied listing call names its own permission first in the hint."""
    error = classify_error(_client_error("AccessDeniedException")).stop_error(
        "ListModelPackageGroups"
    )
    assert "(calling ListModelPackageGroups)" in str(error)
    assert "HINT: the identity needs the IAM permission sagemaker:ListModelPackageGroups " in str(
        error
    )


def test_configuration_errors_stop_the_run_with_a_hint() -> None:
    """A missing region is a ConfigurationError that names the setting."""
    error = classify_error(boto.NoRegionError()).stop_error()
    assert isinstance(error, ConfigurationError)
    assert "region" in str(error)
