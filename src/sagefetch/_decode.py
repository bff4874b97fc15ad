"""Fast decoding of what botocore reads: BatchDescribeModelPackage answers, and its data files.

botocore walks every field of a JSON-protocol response against the service
model; for this operation the only field that needs converting is each
summary's ``CreationTime`` (epoch seconds to a ``datetime``). This parser
decodes the body with orjson and converts just that, and leaves everything
else (errors, other operations) to aiobotocore's own parser, so credentials,
signing, endpoints and error handling stay aiobotocore's.

One difference: botocore drops fields its installed service model does not
know; this keeps them.

Opening a client parses botocore's JSON data files (the SageMaker model alone
is megabytes) with the standard library: about 80 ms of a command's
start-up. :func:`fast_data_loader` parses them with orjson instead.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiobotocore.parsers import AioJSONParser, AioResponseParserFactory
from botocore.loaders import JSONFileLoader, Loader
from botocore.parsers import ResponseParserError
from botocore.utils import get_tzinfo_options

if TYPE_CHECKING:
    from botocore.session import Session

__all__ = ["FastResponseParserFactory", "fast_data_loader"]

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


class _FastJSONFileLoader(JSONFileLoader):
    """botocore's data file loader, parsing with orjson (dicts keep their order)."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):  # noqa: PTH113 - botocore's own check, on str paths
            return None
        with open_method(full_path, "rb") as fp:
            return orjson.loads(fp.read())


def fast_data_loader(session: Session) -> Loader:
    """The ``data_loader`` botocore would make for ``session``, parsing with orjson.

    Same search paths as botocore's ``create_loader`` (``AWS_DATA_PATH``, then
    ``~/.aws/models`` and botocore's own data).
    """
    search = session.get_config_variable("data_path")
    paths = (
        [os.path.expanduser(os.path.expandvars(path)) for path in search.split(os.pathsep)]  # noqa: PTH111
        if search
        else None
    )
    return Loader(extra_search_paths=paths, file_loader=_FastJSONFileLoader())
