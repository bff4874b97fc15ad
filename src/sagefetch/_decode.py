"""A fast decoder for BatchDescribeModelPackage answers.

botocore walks every field of a JSON-protocol response against the service
model; for this operation the only field that needs converting is each
summary's ``CreationTime`` (epoch seconds to a ``datetime``). This parser
decodes the body with orjson and converts just that, and leaves everything
else (errors, other operations) to aiobotocore's own parser, so credentials,
signing, endpoints and error handling stay aiobotocore's.

One difference: botocore drops fields its installed service model does not
know; this keeps them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import orjson
from aiobotocore.parsers import AioJSONParser, AioResponseParserFactory
from botocore.parsers import ResponseParserError
from botocore.utils import get_tzinfo_options

__all__ = ["FastResponseParserFactory"]

_OUTPUT_SHAPE: Final = "BatchDescribeModelPackageOutput"


class _FastJSONParser(AioJSONParser):
    """aiobotocore's JSON parser with a fast path for one operation's answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # botocore's parse_timestamp builds its tzinfo for every value; one will do.
        self._tz = get_tzinfo_options()[0]()

    async def _do_parse(self, response: dict[str, Any], shape: Any) -> Any:
        if shape is None or shape.name != _OUTPUT_SHAPE:
            return await super()._do_parse(response, shape)  # type: ignore[misc]
        body = response["body"]
        try:
            parsed = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError as exc:
            raise ResponseParserError(f"Invalid JSON in {_OUTPUT_SHAPE}: {exc}") from exc
        for summary in (parsed.get("ModelPackageSummaries") or {}).values():
            created = summary.get("CreationTime")
            if created is not None:
                summary["CreationTime"] = self._timestamp(created)
        self._inject_response_metadata(parsed, response["headers"])  # type: ignore[attr-defined]
        return parsed

    def _timestamp(self, value: Any) -> dt.datetime:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # What parse_timestamp(value) returns, without its per-call tzinfo.
            return dt.datetime.fromtimestamp(value).replace(tzinfo=self._tz)
        return self._timestamp_parser(value)  # type: ignore[attr-defined,no-any-return]


class FastResponseParserFactory(AioResponseParserFactory):
    """A response parser factory whose JSON parser decodes this operation fast."""

    def create_parser(self, protocol_name: str) -> Any:
        """The parser of ``protocol_name``: the fast one for ``json``."""
        if protocol_name == "json":
            return _FastJSONParser(**self._defaults)  # type: ignore[attr-defined]
        return super().create_parser(protocol_name)
