"""Every error a call can raise is classified in one place, as documented."""

from __future__ import annotations

import aiohttp
import pytest
from botocore import exceptions as boto
from botocore.parsers import ResponseParserError

from sagefetch import (
    AccessDeniedError,
    ConfigurationError,
    CredentialsError,
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


@pytest.mark.parametrize(
    ("codes", "kind"),
    [
        pytest.param(THROTTLING_CODES, ErrorKind.THROTTLED, id="throttling"),
        pytest.param(TRANSIENT_CODES, ErrorKind.TRANSIENT, id="transient"),
        pytest.param(CREDENTIAL_CODES, ErrorKind.CREDENTIALS, id="credentials"),
        pytest.param(ACCESS_DENIED_CODES, ErrorKind.ACCESS_DENIED, id="access-denied"),
        pytest.param(INVALID_REQUEST_CODES, ErrorKind.INVALID_REQUEST, id="invalid-request"),
    ],
)
def test_every_claimed_code_is_classified(codes: frozenset[str], kind: ErrorKind) -> None:
    """Each code sagefetch claims to handle lands in its kind, as a ClientError and alone."""
    assert codes
    for code in codes:
        assert classify_code(code) is kind, code
        assert classify_error(_client_error(code)).kind is kind, code


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


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        pytest.param(
            boto.ConnectionClosedError(endpoint_url="http://x"),
            ErrorKind.TRANSIENT,
            id="connection-closed",
        ),
        pytest.param(
            boto.EndpointConnectionError(endpoint_url="http://x"),
            ErrorKind.UNREACHABLE,
            id="endpoint-connection",
        ),
        pytest.param(
            boto.ReadTimeoutError(endpoint_url="http://x"), ErrorKind.TRANSIENT, id="read-timeout"
        ),
        pytest.param(
            boto.ConnectTimeoutError(endpoint_url="http://x"),
            ErrorKind.UNREACHABLE,
            id="connect-timeout",
        ),
        pytest.param(ConnectionRefusedError(), ErrorKind.UNREACHABLE, id="refused"),
        pytest.param(ResponseParserError("torn"), ErrorKind.TRANSIENT, id="garbled-body"),
        pytest.param(aiohttp.ServerDisconnectedError(), ErrorKind.TRANSIENT, id="aiohttp"),
        pytest.param(ConnectionResetError(), ErrorKind.TRANSIENT, id="reset"),
        pytest.param(TimeoutError(), ErrorKind.TRANSIENT, id="timeout"),
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
            boto.ParamValidationError(report="bad"), ErrorKind.TERMINAL, id="other-botocore"
        ),
    ],
)
def test_botocore_and_network_exceptions_are_classified(exc: Exception, kind: ErrorKind) -> None:
    """Exceptions of the HTTP stack and of botocore map to the kind they deserve."""
    classified = classify_error(exc)
    assert classified.kind is kind
    assert classified.code == type(exc).__name__
    assert classified.message


def test_other_exceptions_are_not_mistaken_for_service_errors() -> None:
    """A bug in sagefetch is re-raised, never turned into a Failed outcome."""
    with pytest.raises(KeyError):
        classify_error(KeyError("bug"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("1500", 1.5, id="milliseconds"),
        pytest.param("-1", None, id="negative"),
        pytest.param("soon", None, id="garbage"),
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
