"""Credentials are masked in log events and stdlib log records."""

from __future__ import annotations

import logging

import pytest

from sagefetch import mask_secrets
from sagefetch._redact import MASK, RedactingFilter, mask_text

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr" + "A" * 300 + "=="
SIGNATURE = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(f"key {ACCESS_KEY} used", ACCESS_KEY, id="access-key-id"),
        pytest.param(f"secret={SECRET_KEY}", SECRET_KEY, id="secret-key"),
        pytest.param(f"token: {SESSION_TOKEN}", SESSION_TOKEN, id="session-token"),
        pytest.param(
            f"Authorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/us-east-1/"
            f"sagemaker/aws4_request, SignedHeaders=host, Signature={SIGNATURE}",
            SIGNATURE,
            id="authorization-header",
        ),
        pytest.param(
            f"{{'X-Amz-Security-Token': '{SESSION_TOKEN[:50]}'}}",
            SESSION_TOKEN[:50],
            id="token-header",
        ),
    ],
)
def test_mask_text_hides_credentials(text: str, secret: str) -> None:
    """Access keys, secret keys, tokens, signatures and auth headers are masked."""
    masked = mask_text(text)
    assert secret not in masked
    assert MASK in masked


def test_mask_text_keeps_ordinary_text() -> None:
    """ARNs, codes and messages pass unchanged."""
    text = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-0001/3 ThrottlingException"
    assert mask_text(text) == text


def test_the_processor_masks_fields_by_name_and_by_content() -> None:
    """Secret-named fields are masked whole; other fields are searched, nested too."""
    event = mask_secrets(
        None,
        "info",
        {
            "event": "sagefetch.x",
            "aws_secret_access_key": "anything",
            "headers": {"Authorization": "AWS4 ...", "Accept": "json"},
            "note": [f"using {ACCESS_KEY}"],
            "error": RuntimeError(f"bad key {SECRET_KEY}"),
        },
    )
    assert event["aws_secret_access_key"] == MASK
    assert event["headers"] == {"Authorization": MASK, "Accept": "json"}
    assert ACCESS_KEY not in event["note"][0]
    assert SECRET_KEY not in event["error"]
    assert event["event"] == "sagefetch.x"


def test_the_logging_filter_masks_formatted_messages() -> None:
    """A stdlib record's message, arguments and traceback are masked."""
    record = logging.LogRecord("botocore", logging.DEBUG, __file__, 1, "headers %s", (
        {"Authorization": f"Signature={SIGNATURE}"},), None)  # fmt: skip
    assert RedactingFilter().filter(record)
    assert SIGNATURE not in record.getMessage()
