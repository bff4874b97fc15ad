"""A fast SageMaker that serves a generated catalogue: no moto, same wire format.

Benchmarks use it to measure the client rather than moto. Only
``BatchDescribeModelPackage`` is served.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from typing import TYPE_CHECKING

from ._wire import (
    BATCH_DESCRIBE_TARGET,
    JSON_CONTENT_TYPE,
    RequestValidationError,
    error_body,
    not_found_entry,
    validate_arn_list,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ._catalogue import Catalogue

__all__ = ["SyntheticSageMaker"]


class SyntheticSageMaker:
    """WSGI app describing the packages of :attr:`catalogue`; anything else is unknown."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    @property
    def catalogue(self) -> Catalogue:
        """The packages that exist; replace it to seed a different registry."""
        return self._catalogue

    @catalogue.setter
    def catalogue(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        # One cache per catalogue: a summary's JSON is a pure function of it.
        self._summary_json = lru_cache(maxsize=1 << 16)(self._render_summary)

    def _render_summary(self, group: int, version: int) -> str:
        summary = self._catalogue.summary(group, version)
        summary["CreationTime"] = summary["CreationTime"].timestamp()
        return json.dumps(summary, separators=(",", ":"))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        status, payload = self._respond(environ)
        start_response(
            status,
            [
                ("Content-Type", JSON_CONTENT_TYPE),
                ("Content-Length", str(len(payload))),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ],
        )
        return [payload]

    def _respond(self, environ: WSGIEnvironment) -> tuple[str, bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target != BATCH_DESCRIBE_TARGET:
            return "400 Bad Request", error_body(
                "UnknownOperationException",
                f"The synthetic SageMaker serves only {BATCH_DESCRIBE_TARGET}.",
            )
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
            arns = validate_arn_list(request.get("ModelPackageArnList"))
        except RequestValidationError as exc:
            return "400 Bad Request", error_body("ValidationException", exc.message)
        except (ValueError, AttributeError):
            return "400 Bad Request", error_body("SerializationException", "Malformed JSON body.")
        found: list[str] = []
        missing: dict[str, dict[str, str]] = {}
        locate = self._catalogue.locate
        for arn in dict.fromkeys(arns):
            place = locate(arn)
            if place is None:
                missing[arn] = not_found_entry(arn)
            else:
                found.append(f"{json.dumps(arn)}:{self._summary_json(*place)}")
        payload = (
            '{"ModelPackageSummaries":{' + ",".join(found) + "},"
            '"BatchDescribeModelPackageErrorMap":' + json.dumps(missing) + "}"
        )
        return "200 OK", payload.encode()
