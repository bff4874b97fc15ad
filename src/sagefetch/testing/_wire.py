"""The wire format of ``BatchDescribeModelPackage`` as the local SageMaker speaks it.

Shared by the moto action and the synthetic backend, so both validate and fail
the same way the real service does (as far as its public documents say).
"""

from __future__ import annotations

import json
from typing import Any, Final

from sagefetch._arns import (
    MAX_ARN_LENGTH,
    MAX_ARNS_PER_CALL,
    MODEL_PACKAGE_ARN_PATTERN,
    is_valid_arn,
)

__all__ = [
    "BATCH_DESCRIBE_TARGET",
    "JSON_CONTENT_TYPE",
    "NOT_FOUND_CODE",
    "RequestValidationError",
    "error_body",
    "not_found_entry",
    "validate_arn_list",
]

#: ``X-Amz-Target`` of the operation.
BATCH_DESCRIBE_TARGET: Final = "SageMaker.BatchDescribeModelPackage"
JSON_CONTENT_TYPE: Final = "application/x-amz-json-1.1"

#: ``ErrorCode`` of a per-ARN entry for a package that does not exist.
NOT_FOUND_CODE: Final = "ResourceNotFound"


class RequestValidationError(Exception):
    """The whole call fails with HTTP 400 ``ValidationException``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate_arn_list(value: Any) -> list[str]:
    """Return the request's ARN list, or raise as the service would.

    Raises:
        RequestValidationError: the list is missing, empty, longer than 100, or
            a member is not a well-formed model package ARN.
    """
    if value is None:
        _raise(
            [
                "Value null at 'modelPackageArnList' failed to satisfy constraint: "
                "Member must not be null"
            ]
        )
    if not isinstance(value, list) or not all(isinstance(arn, str) for arn in value):
        _raise(
            [
                "Value at 'modelPackageArnList' failed to satisfy constraint: "
                "Member must be a list of strings"
            ]
        )
    if not value:
        _raise(
            [
                f"Value '{value}' at 'modelPackageArnList' failed to satisfy constraint: "
                "Member must have length greater than or equal to 1"
            ]
        )
    if len(value) > MAX_ARNS_PER_CALL:
        _raise(
            [
                f"Value '[...{len(value)} members]' at 'modelPackageArnList' failed to "
                f"satisfy constraint: Member must have length less than or equal to "
                f"{MAX_ARNS_PER_CALL}"
            ]
        )
    problems = [
        _member_problem(index, arn)
        for index, arn in enumerate(value, start=1)
        if not is_valid_arn(arn)
    ]
    if problems:
        _raise(problems)
    return list(value)


def _member_problem(index: int, arn: str) -> str:
    where = f"Value '{arn}' at 'modelPackageArnList.{index}.member' failed to satisfy constraint"
    if len(arn) > MAX_ARN_LENGTH:
        return f"{where}: Member must have length less than or equal to {MAX_ARN_LENGTH}"
    return f"{where}: Member must satisfy regular expression pattern: {MODEL_PACKAGE_ARN_PATTERN}"


def _raise(problems: list[str]) -> None:
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    raise RequestValidationError(f"{count} validation {noun} detected: " + "; ".join(problems))


def not_found_entry(arn: str) -> dict[str, str]:
    """The error map entry for a well-formed ARN of a package that does not exist."""
    return {"ErrorCode": NOT_FOUND_CODE, "ErrorResponse": f"Model package {arn} does not exist."}


def error_body(code: str, message: str) -> bytes:
    """A JSON-protocol error body, as botocore parses it."""
    return json.dumps({"__type": code, "message": message}).encode()
