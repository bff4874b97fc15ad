"""Keeping credentials out of logs: a structlog processor and a logging filter.

sagefetch's own events carry no credentials; these guard everything else that
can end up in a log line (botocore's debug output, exception messages, event
fields a caller binds).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Final

__all__ = ["MASK", "RedactingFilter", "mask_secrets", "mask_text"]

MASK: Final = "****"

_SECRET_FIELDS: Final = frozenset({
    "aws_secret_access_key", "secret_access_key", "secretaccesskey", "secret_key",
    "aws_session_token", "session_token", "sessiontoken", "security_token",
    "x-amz-security-token", "authorization", "password", "credentials",
})  # fmt: skip

_Replacement = str | Callable[[re.Match[str]], str]
_PATTERNS: Final[tuple[tuple[re.Pattern[str], _Replacement], ...]] = (
    # Access key ids: keep the kind (AKIA long-term, ASIA session), hide the rest.
    (re.compile(r"\b(AKIA|ASIA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b"), rf"\1{MASK}"),
    # SigV4 signatures (``Signature=...`` in headers and URLs, ``Signature:\n...`` in
    # botocore's debug lines) and whole Authorization / token header values
    # (also as botocore prints them: ``'Authorization': b'...'``).
    (re.compile(r"(?i)(Signature\s*[:=]\s*)[0-9a-f]{16,}"), rf"\1{MASK}"),
    (
        re.compile(
            r"""(?i)(["']?(?:authorization|x-amz-security-token)["']?\s*[:=]\s*(?:b?["'])?)"""
            r"""[^"'\n,}]+"""
        ),
        rf"\1{MASK}",
    ),
    # Session tokens: long base64 runs.
    (re.compile(r"[A-Za-z0-9/+=]{100,}"), MASK),
    # Secret access keys: exactly 40 base64 characters standing alone.
    (re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), MASK),
)


def mask_text(text: str) -> str:
    """``text`` with anything that looks like an AWS credential or signature masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {
            key: MASK if str(key).lower() in _SECRET_FIELDS else _mask(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_mask(item) for item in value)
    if isinstance(value, BaseException):
        return mask_text(f"{type(value).__name__}: {value}")
    return value


def mask_secrets(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask credentials in every field of an event (a structlog processor).

    Put it last before the renderer: ``processors=[..., sagefetch.mask_secrets, renderer]``.
    """
    for key, value in list(event_dict.items()):
        event_dict[key] = MASK if key.lower() in _SECRET_FIELDS else _mask(value)
    return event_dict


class RedactingFilter(logging.Filter):
    """stdlib logging filter that masks credentials in a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, masked; never drop the record."""
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = mask_text(message), ()
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True
