"""The command's logging: sagefetch's events and other libraries' lines on stderr, masked."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

import structlog

from sagefetch._redact import RedactingFilter, mask_secrets

from ._text import printable

if TYPE_CHECKING:
    import argparse

__all__ = ["configure_logging"]


class _PrintableFormatter(logging.Formatter):
    """A formatter whose lines hold no control character a terminal would act on.

    (sagefetch's own events need none: both structlog renderers, as configured
    here, escape values.)
    """

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(printable(line) for line in super().format(record).split("\n"))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on whatever ``sys.stderr`` is now (the progress bar redirects it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(args: argparse.Namespace) -> None:
    """Configure structlog for sagefetch's events and stdlib logging for libraries, both masked."""
    level = logging.ERROR if args.quiet else getattr(logging, args.log_level.upper())
    handler = _StderrHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_PrintableFormatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # botocore's DEBUG output holds signed request headers: never print it.
    for noisy in ("botocore", "aiobotocore", "urllib3", "aiohttp"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
    # A failed credential refresh (a role that cannot be assumed) is logged with
    # a traceback there; sagefetch reports it itself, with a hint.
    for refresher in ("botocore.credentials", "aiobotocore.credentials"):
        logging.getLogger(refresher).setLevel(max(level, logging.ERROR))
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if args.log_format == "json"
        # Values as repr: an error code from the service is shown escaped, never
        # as escape sequences a terminal acts on.
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), repr_native_str=True)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolve stderr at each call: the progress bar redirects it while it runs.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
