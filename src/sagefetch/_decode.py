"""Decoding what botocore reads: BatchDescribeModelPackage answers, and its data files.

A malformed answer is data, never a crash. :func:`validated_answers` installs
an :class:`AnswerDecoder` on a client (the one the fetcher opens and a
caller's own alike) as botocore's ``before-parse`` hook for the operation. For
each answer botocore would parse as a success, the hook decodes the body with
orjson, checks it against the service model's output shape, and hands botocore
``{}`` to parse, so botocore adds only ``ResponseMetadata``. An answer that
does not fit raises botocore's ``ResponseParserError``, naming what is wrong and
where; the pipeline retries the call, then fails its ARNs with that message.
Error answers stay botocore's, made safe to parse first (see
:func:`_error_body_botocore_can_parse`).

The checks are compiled once per shape into small functions: a structure
walks its object once, checking a member of a plain shape (string, integer,
boolean) by its type alone and handing the others to their own check; only
timestamps (and blobs) are converted. What differs from botocore's parser, on
purpose:

- A value of the wrong type is an error (botocore passes it through, or crashes).
- A null map value is dropped (botocore keeps ``None``): an ARN whose entry is
  null is missing from the answer, and asked for again.
- Members the installed model does not know are kept, below the top level
  (botocore drops them); at the top level, where botocore's own keys
  (``ResponseMetadata``, ``Error``) live, they are dropped as botocore drops them.
- A timestamp string without a zone is UTC (botocore returns a naive datetime),
  and one whose zone dateutil does not know is an error.
- JSON is read as orjson reads it: ``NaN``, ``Infinity`` and lone surrogates
  are not JSON, and an integer beyond 64 bits is a float (so an error where an
  integer belongs). Whatever is decoded can be written back with orjson.

Opening a client parses botocore's JSON data files (the SageMaker model alone
is megabytes) with the standard library: about 80 ms of a command's
start-up. :func:`fast_data_loader` parses them with orjson instead.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import orjson
from botocore.loaders import JSONFileLoader, Loader
from botocore.model import ListShape, MapShape, StructureShape
from botocore.parsers import ResponseParserError
from botocore.utils import get_tzinfo_options, parse_timestamp

from ._redact import mask_text

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape
    from botocore.session import Session

__all__ = ["OPERATION", "OPERATIONS", "AnswerDecoder", "fast_data_loader", "validated_answers"]

OPERATION: Final = "BatchDescribeModelPackage"
#: Every operation sagefetch calls: their answers are all checked at the boundary.
OPERATIONS: Final = (
    OPERATION,
    "ListModelPackageGroups",
    "ListModelPackages",
    "DescribeModelPackageGroup",
)
#: One registration per client, counted: fetchers sharing a caller's client
#: each add one, and the hook leaves with the last of them.
_HOOK_ID: Final = "sagefetch.validated-answers"
#: botocore parses an answer as an error from this status on (``ResponseParser.parse``).
_ERROR_STATUS: Final = 301
#: The body botocore gets in place of an answer the hook decoded.
_DECODED: Final = b"{}"
_VALUE_CHARS: Final = 40
#: Deepest nesting kept in a value no shape describes (unknown members, documents).
_MAX_DEPTH: Final = 64
_KEY_CHARS: Final = 100

Check = Callable[[Any], Any]
"""Checks a decoded JSON value against one shape; returns what to keep (the
value itself, checked in place, or a converted one); raises :class:`_Invalid`."""


class _Invalid(Exception):  # noqa: N818 - internal signal, never leaves this module
    """A value that does not fit its shape; ``where`` grows as it rises."""

    def __init__(self, problem: str, *where: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.where = list(where)
        """Path segments (``.Member``, ``['key']``, ``[0]``), innermost first."""

    def message(self) -> str:
        if not self.where:
            return f"the answer {self.problem}"
        path = "".join(reversed(self.where)).removeprefix(".")
        return f"the answer's {path} {self.problem}"


class AnswerDecoder:
    """Decodes and checks one operation's successful answers against its output shape.

    Args:
        shape: The operation's output shape (a structure).
    """

    def __init__(self, shape: StructureShape) -> None:
        self._compiler = _Compiler()
        self._check = self._compiler.structure(shape, top=True)

    @classmethod
    def for_operation(cls, operation: OperationModel) -> AnswerDecoder:
        """The decoder of ``operation``'s answers."""
        shape = operation.output_shape
        if not isinstance(shape, StructureShape):
            raise TypeError(f"{operation.name} has no output shape to check answers against")
        return cls(shape)

    def decode(self, body: bytes) -> dict[str, Any]:
        """The answer in ``body``, as botocore's parser would give it, checked.

        Raises:
            ResponseParserError: ``body`` is not JSON, or does not fit the shape;
                the message says what is wrong, and where.
        """
        if not body:
            return {}
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ResponseParserError(f"the answer is not JSON ({_cut(str(exc), 80)})") from None
        try:
            decoded: dict[str, Any] = self._check(answer)
        except _Invalid as invalid:
            raise ResponseParserError(mask_text(invalid.message())) from None
        except RecursionError:  # a recursive shape, nested past Python's stack
            raise ResponseParserError("the answer is nested too deeply") from None
        return decoded

    def before_parse(
        self, response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
    ) -> None:
        """Decode a successful answer, guard an error answer (botocore's ``before-parse`` hook).

        Raises:
            ResponseParserError: as :meth:`decode`.
        """
        body = response_dict["body"]
        if response_dict["status_code"] >= _ERROR_STATUS:
            response_dict["body"] = _error_body_botocore_can_parse(body)
        else:
            customized_response_dict.update(self.decode(body))
            response_dict["body"] = _DECODED


@contextmanager
def validated_answers(client: Any) -> Iterator[None]:
    """Decode and check the answers of every operation sagefetch calls on ``client``, in the block.

    ``BatchDescribeModelPackage`` and discovery's listing calls alike. The
    client is left as it was afterwards (a caller's own client included).
    """
    events = client.meta.events
    service = client.meta.service_model
    # One unique id per operation: botocore keys them across every event name.
    hooks = [
        (
            f"before-parse.sagemaker.{name}",
            f"{_HOOK_ID}.{name}",
            AnswerDecoder.for_operation(service.operation_model(name)),
        )
        for name in OPERATIONS
    ]
    for event, hook_id, decoder in hooks:
        events.register(event, decoder.before_parse, hook_id, unique_id_uses_count=True)
    try:
        yield
    finally:
        for event, hook_id, _ in hooks:
            events.unregister(event, unique_id=hook_id, unique_id_uses_count=True)


def _error_body_botocore_can_parse(body: bytes) -> bytes:
    """``body``, unless botocore's error parser would crash on it: then what it makes of text.

    botocore reads an error body that is not JSON as the error's message, but
    crashes on bytes that are not UTF-8, on JSON that is not an object, on
    nesting deeper than ``json`` can go, and on a ``__type`` (the code) that is
    not a string. Such a body becomes ``{"message": text}``; a ``__type`` that is
    not a string is dropped (the HTTP status then stands for the code, as
    when there is none). Read with ``json``, as botocore reads it.
    """
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return json.dumps({"message": body.decode(errors="replace")}).encode()
    try:
        document = json.loads(text) if text else {}
    except RecursionError:
        document = None
    except ValueError:
        return body  # botocore's own case: the text is the message
    if not isinstance(document, dict):
        return json.dumps({"message": text}).encode()
    code = document.pop("__type", None)
    if code is None or isinstance(code, str):
        return body
    return json.dumps(document).encode()


class _Compiler:
    """Compiles shapes into checks, once per shape (recursive shapes included)."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._timestamp = _timestamps()

    def check(self, shape: Shape) -> Check:
        """The check of ``shape``."""
        compiled = self._checks.get(shape.name)
        if compiled is None:
            # A recursive shape meets itself while compiling: it calls through this slot.
            slot: list[Check] = []

            def forward(value: Any) -> Any:
                return slot[0](value)

            self._checks[shape.name] = forward
            compiled = self._compile(shape)
            slot.append(compiled)
            self._checks[shape.name] = compiled
        return compiled

    def _compile(self, shape: Shape) -> Check:
        if isinstance(shape, StructureShape):
            return _anything if shape.is_document_type else self.structure(shape)
        if isinstance(shape, MapShape):
            return self._map(shape)
        if isinstance(shape, ListShape):
            return self._list(shape)
        kind = shape.type_name
        if kind in _PLAIN:
            return _plain(_PLAIN[kind])
        checks: dict[str, Check] = {
            "timestamp": self._timestamp,
            "blob": _blob,
            "float": _number,
            "double": _number,
        }
        if kind not in checks:
            raise ValueError(f"no check for {shape.name}, a {kind}")
        return checks[kind]

    def structure(self, shape: StructureShape, *, top: bool = False) -> Check:
        """The check of a structure: an object, members checked, null members dropped.

        Unknown members are kept, but at the ``top`` level, whose keys botocore
        merges into its own response (``ResponseMetadata``, ``Error``).
        """
        members = shape.members
        wire = {name: member.serialization.get("name", name) for name, member in members.items()}
        renamed = {wire[name]: name for name in members if wire[name] != name}
        # Members of plain shapes are checked by their type; the others by their own check.
        plain: dict[str, type] = {}
        checks: dict[str, Check] = {}
        for name, member in members.items():
            if member.type_name in _PLAIN:
                plain[wire[name]] = _PLAIN[member.type_name]
            else:
                checks[wire[name]] = self.check(member)
        plain_type, check_of = plain.get, checks.get
        known = frozenset(wire.values()) if top else None

        def check(value: Any) -> Any:
            if type(value) is not dict:
                raise _Invalid(_wrong(value, "an object"))
            odd = False
            for key, item in value.items():
                if type(item) is plain_type(key):
                    continue
                check_member = check_of(key)
                if check_member is not None and item is not None:
                    try:
                        value[key] = check_member(item)
                    except _Invalid as invalid:
                        invalid.where.append(f".{key}")
                        raise
                elif item is None or key not in plain:
                    odd = True  # null, or unknown: sorted out after the loop
                    if type(item) is dict or type(item) is list:
                        _shallow(item, f".{key}")
                else:
                    raise _Invalid(_wrong(item, _NAMES[plain[key]]), f".{key}")
            if odd:
                _drop_nulls(value, known)
            if renamed:
                return {renamed.get(key, key): item for key, item in value.items()}
            return value

        return check

    def _map(self, shape: MapShape) -> Check:
        """The check of a map: an object, values checked, null values dropped."""
        if shape.value.type_name in _PLAIN:
            expected = _PLAIN[shape.value.type_name]

            def check_plain(value: Any) -> Any:
                if type(value) is not dict:
                    raise _Invalid(_wrong(value, "an object"))
                nulls = False
                for key, item in value.items():
                    if type(item) is not expected:
                        if item is not None:
                            raise _Invalid(_wrong(item, _NAMES[expected]), _key(key))
                        nulls = True
                if nulls:
                    _drop_nulls(value)
                return value

            return check_plain

        check_item = self.check(shape.value)

        def check(value: Any) -> Any:
            if type(value) is not dict:
                raise _Invalid(_wrong(value, "an object"))
            nulls = False
            for key, item in value.items():
                if item is None:
                    nulls = True
                    continue
                try:
                    value[key] = check_item(item)
                except _Invalid as invalid:
                    invalid.where.append(_key(key))
                    raise
            if nulls:
                _drop_nulls(value)
            return value

        return check

    def _list(self, shape: ListShape) -> Check:
        """The check of a list: an array, items checked; null items kept, as botocore keeps them."""
        if shape.member.type_name in _PLAIN:
            expected = _PLAIN[shape.member.type_name]

            def check_plain(value: Any) -> Any:
                if type(value) is not list:
                    raise _Invalid(_wrong(value, "an array"))
                for item in value:
                    if type(item) is not expected and item is not None:
                        raise _first_wrong_item(value, expected)
                return value

            return check_plain

        check_item = self.check(shape.member)

        def check(value: Any) -> Any:
            if type(value) is not list:
                raise _Invalid(_wrong(value, "an array"))
            for index, item in enumerate(value):
                if item is not None:
                    try:
                        value[index] = check_item(item)
                    except _Invalid as invalid:
                        invalid.where.append(f"[{index}]")
                        raise
            return value

        return check


#: Shapes checked by their Python type alone (``bool`` is not an ``int`` here).
_PLAIN: Final[dict[str, type]] = {
    "string": str,
    "character": str,
    "integer": int,
    "long": int,
    "byte": int,
    "short": int,
    "boolean": bool,
}
_NAMES: Final[dict[type, str]] = {str: "a string", int: "an integer", bool: "a boolean"}


def _plain(expected: type) -> Check:
    def check(value: Any) -> Any:
        if type(value) is not expected:
            raise _Invalid(_wrong(value, _NAMES[expected]))
        return value

    return check


def _first_wrong_item(items: list[Any], expected: type) -> _Invalid:
    index, item = next(
        (index, item)
        for index, item in enumerate(items)
        if type(item) is not expected and item is not None
    )
    return _Invalid(_wrong(item, _NAMES[expected]), f"[{index}]")


def _number(value: Any) -> Any:
    if (type(value) is float or type(value) is int) and math.isfinite(value):
        return value
    raise _Invalid(_wrong(value, "a finite number"))


def _blob(value: Any) -> bytes:
    if type(value) is not str:
        raise _Invalid(_wrong(value, "base64 text"))
    try:
        return base64.b64decode(value)  # botocore's own blob parser
    except (binascii.Error, ValueError):
        raise _Invalid(f"is a string that is not base64 ({_shown(value)})") from None


def _anything(value: Any) -> Any:
    if type(value) is dict or type(value) is list:
        _shallow(value)
    return value


def _shallow(value: dict[str, Any] | list[Any], *where: str) -> None:
    """Refuse a value nested deeper than :data:`_MAX_DEPTH` (a member no check walks).

    orjson reads 1024 levels but writes 254: a record must be writable.
    """
    level = [value]
    for _ in range(_MAX_DEPTH):
        level = [
            item
            for container in level
            for item in (container.values() if type(container) is dict else container)
            if type(item) is dict or type(item) is list
        ]
        if not level:
            return
    raise _Invalid(f"is nested deeper than {_MAX_DEPTH} levels", *where)


def _drop_nulls(value: dict[str, Any], known: frozenset[str] | None = None) -> None:
    """Drop null members of ``value``, and those not ``known`` if that is given."""
    for key in [
        key
        for key, item in value.items()
        if item is None or (known is not None and key not in known)
    ]:
        del value[key]


def _timestamps(*, utc_all_year: bool | None = None) -> Check:
    """The check of timestamps: what botocore's ``parse_timestamp`` makes of them, aware.

    Epoch seconds become local time, as in botocore. Where local time is UTC
    all year (servers, containers), adding to the epoch gives the same datetime
    at half the cost of asking the platform's ``localtime``.

    Args:
        utc_all_year: Whether local time is UTC all year; ``None`` to ask ``time``.
    """
    zone = get_tzinfo_options()[0]()  # dateutil's tzlocal, reading the offsets of ``time``
    if utc_all_year is None:
        utc_all_year = time.timezone == 0 and (time.altzone == 0 or not time.daylight)
    epoch = dt.datetime(1970, 1, 1, tzinfo=zone)
    delta, from_timestamp = dt.timedelta, dt.datetime.fromtimestamp

    def check(value: Any) -> dt.datetime:
        if type(value) is float or type(value) is int:
            try:
                if utc_all_year:
                    return epoch + delta(0, value)
                # botocore builds a zone for every value; one will do.
                return from_timestamp(value).replace(tzinfo=zone)
            except (OverflowError, OSError, ValueError):
                return _far_timestamp(value)
        if type(value) is str:
            return _timestamp_text(value)
        raise _Invalid(_wrong(value, "a timestamp"))

    return check


def _far_timestamp(value: float) -> dt.datetime:
    """Epoch seconds the platform's ``localtime`` cannot take: botocore's fallback, or invalid."""
    try:
        return parse_timestamp(value)  # type: ignore[arg-type] # numbers too
    except (OverflowError, OSError, ValueError, RuntimeError):
        raise _Invalid(f"is a number out of a timestamp's range ({value!r})") from None


def _timestamp_text(value: str) -> dt.datetime:
    """A timestamp written as text: epoch seconds, ISO 8601, RFC 822 (what dateutil reads)."""
    try:
        # Not thread-safe, but only text timestamps come here (the service sends numbers).
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            parsed = parse_timestamp(value)
    except Exception:  # noqa: BLE001 - dateutil raises many kinds on odd text
        parsed = None
    # dateutil ignores a zone it does not know, with a warning: a time that
    # cannot be placed is not a timestamp.
    if parsed is None or warned:
        raise _Invalid(f"is a string that is not a timestamp ({_shown(value)})")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _wrong(value: Any, expected: str) -> str:
    return f"is {_describe(value)}, not {expected}"


def _describe(value: Any) -> str:
    """What a decoded JSON value is, in a message: ``a string ("soon")``, ``an array``."""
    kind = _KINDS.get(type(value), "a value")
    if isinstance(value, (bool, int, float, str)):
        return f"{kind} ({_shown(value)})"
    return kind


_KINDS: Final[dict[type, str]] = {
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def _key(key: str) -> str:
    # Masked before cut: a cut credential no longer looks like one.
    return f"[{_cut(mask_text(key), _KEY_CHARS)!r}]"


def _shown(value: bool | float | str) -> str:
    """A scalar as JSON writes it, long strings cut."""
    if isinstance(value, str):
        # Masked before cut: a cut credential no longer looks like one.
        return orjson.dumps(_cut(mask_text(value))).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _cut(text: str, limit: int = _VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _FastJSONFileLoader(JSONFileLoader):
    """botocore's data file loader, parsing with orjson (dicts keep their order)."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):  # noqa: PTH113 - botocore's own check, on str paths
            return None
        with open_method(full_path, "rb") as fp:
            return orjson.loads(fp.read())


#: One loader per search path: every session of the process shares its parsed models.
_LOADERS: dict[tuple[str, ...] | None, Loader] = {}


def fast_data_loader(session: Session) -> Loader:
    """The ``data_loader`` botocore would make for ``session``, parsing with orjson.

    Same search paths as botocore's ``create_loader`` (``AWS_DATA_PATH``, then
    ``~/.aws/models`` and botocore's own data). Sessions with the same search
    paths share one loader, which keeps each model it parsed: an audit opens a
    session per shard (and one more per assumed role), and SageMaker's model
    parsed once per session cost 0.26 s of CPU and 18 MB each (60 shards:
    15.7 s and 1,071 MB; shared: 1.6 s and 112 MB). botocore only reads the
    models it loads.
    """
    search = session.get_config_variable("data_path")
    paths = (
        tuple(os.path.expanduser(os.path.expandvars(path)) for path in search.split(os.pathsep))  # noqa: PTH111
        if search
        else None
    )
    loader = _LOADERS.get(paths)
    if loader is None:
        loader = Loader(
            extra_search_paths=list(paths) if paths else None, file_loader=_FastJSONFileLoader()
        )
        _LOADERS[paths] = loader
    return loader
