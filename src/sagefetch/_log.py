"""Where the library's events go: the application's structlog, else stdlib ``logging``.

The library configures nothing and never writes to stdout. An event goes to
structlog when the application has configured structlog (``structlog.configure``),
and otherwise to the stdlib logger ``sagefetch``, where ``logging.basicConfig``,
``dictConfig`` and the application's handlers decide; an application that
configured nothing sees only warnings and errors, on stderr (Python's
last-resort handler). httpx and botocore log the same way, through
``logging.getLogger``.

A stdlib line reads ``sagefetch.batch_throttled batch=7 attempt=2``, with the
values as ``repr`` (a code from the service is shown escaped) and credentials
masked (as ``mask_secrets`` masks structlog events); the event's name and
fields are also on the record, as ``record.event`` and ``record.fields``, for
structured handlers.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Final

from ._redact import mask_secrets

__all__ = ["EventLogger", "get_logger"]

_DEBUG: Final = logging.DEBUG
_INFO: Final = logging.INFO
_WARNING: Final = logging.WARNING
_ERROR: Final = logging.ERROR
_LEVEL_NAMES: Final = {_DEBUG: "debug", _INFO: "info", _WARNING: "warning", _ERROR: "error"}


class EventLogger:
    """A logger of named events with key/value fields (``log.warning("sagefetch.x", a=1)``)."""

    __slots__ = ("_name", "_stdlib")

    def __init__(self, name: str) -> None:
        self._name = name
        self._stdlib = logging.getLogger(name)

    def debug(self, event: str, **fields: Any) -> None:
        """Log ``event`` at DEBUG."""
        self._log(_DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Log ``event`` at INFO."""
        self._log(_INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Log ``event`` at WARNING."""
        self._log(_WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        """Log ``event`` at ERROR."""
        self._log(_ERROR, event, fields)

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        # An application that never imported structlog cannot have configured it:
        # the check costs a dictionary lookup, and structlog is not imported for it.
        structlog = sys.modules.get("structlog")
        if structlog is not None and structlog.is_configured():
            method = getattr(structlog.get_logger(self._name), _LEVEL_NAMES[level])
            method(event, **fields)
            return
        if self._stdlib.isEnabledFor(level):
            masked = mask_secrets(None, "", fields)
            line = " ".join([event, *(f"{key}={value!r}" for key, value in masked.items())])
            self._stdlib.log(level, "%s", line, extra={"event": event, "fields": masked})


def get_logger(name: str = "sagefetch") -> EventLogger:
    """The event logger for ``name`` (``sagefetch`` or a child of it)."""
    return EventLogger(name)
