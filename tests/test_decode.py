"""The answer decoder gives what botocore's parser gives, checked; and botocore's data, fast."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import botocore.session
import orjson
import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from botocore.loaders import create_loader
from botocore.model import ShapeResolver
from botocore.parsers import ResponseParserError, create_parser
from botocore.utils import parse_timestamp
from hypothesis import given
from hypothesis import strategies as st

from sagefetch import ModelPackageFetcher
from sagefetch._decode import (
    OPERATION,
    AnswerDecoder,
    _error_body_botocore_can_parse,
    _Invalid,
    _timestamps,
    fast_data_loader,
)
from sagefetch.testing import Faults
from tests.conftest import raw_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

    from botocore.model import Shape

    from sagefetch.testing import LocalSageMaker

_VOLATILE_HEADERS = {"date", "x-amzn-requestid", "content-length", "server"}
_MODEL = botocore.session.get_session().get_service_model("sagemaker")
_OUTPUT = _MODEL.operation_model(OPERATION).output_shape
#: The three ways an answer is decoded: botocore alone, a fetcher's own client,
#: a caller's client while a fetcher uses it.
PATHS = ("botocore", "owned", "callers")


@asynccontextmanager
async def _client(server: LocalSageMaker, path: str) -> AsyncIterator[Any]:
    if path == "owned":
        async with ModelPackageFetcher(
            endpoint_url=server.endpoint_url, region_name=server.region
        ) as fetcher:
            yield fetcher._client
        return
    async with raw_client(server) as client:
        if path == "botocore":
            yield client
            return
        async with ModelPackageFetcher(client):
            yield client


async def _answers(server: LocalSageMaker, arns: list[str]) -> dict[str, Any]:
    """Each path's answer to one call (a ClientError's response, if it raised)."""
    answers = {}
    for path in PATHS:
        async with _client(server, path) as client:
            try:
                answers[path] = await client.batch_describe_model_package(ModelPackageArnList=arns)
            except ClientError as exc:
                answers[path] = {"ClientError": exc.response}
    return answers


def _comparable(value: Any) -> Any:
    """The value with its exact types, minus per-request metadata."""
    if isinstance(value, dict):
        return (
            "dict",
            {
                key: _comparable(item)
                for key, item in value.items()
                if key not in {"RequestId", "RetryAttempts"} and key not in _VOLATILE_HEADERS
            },
        )
    if isinstance(value, list):
        return ("list", [_comparable(item) for item in value])
    if isinstance(value, dt.datetime):
        return (type(value), type(value.tzinfo), value, value.utcoffset(), value.fold)
    return (type(value), value)


def _assert_same(answers: dict[str, Any]) -> None:
    botocores = _comparable(answers["botocore"])
    assert _comparable(answers["owned"]) == botocores
    assert _comparable(answers["callers"]) == botocores


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("mixed", id="described-and-missing"),
        pytest.param("full", id="100-described"),
        pytest.param("malformed", id="validation-error"),
        pytest.param("empty", id="0-arns"),
    ],
)
async def test_decoding_matches_botocore(local_sagemaker: LocalSageMaker, case: str) -> None:
    """Summaries, error maps and error responses decode as botocore decodes them, both clients."""
    arns = local_sagemaker.seed(groups=2, versions=100)
    asked = {
        "mixed": [arns[0], arns[150], arns[0].replace("/1", "/999"), arns[99]],
        "full": arns[:100],
        "malformed": [arns[0], "not-an-arn"],
        "empty": [],
    }[case]

    answers = await _answers(local_sagemaker, asked)

    _assert_same(answers)
    if case == "mixed":
        assert len(answers["callers"]["ModelPackageSummaries"]) == 3
        assert len(answers["callers"]["BatchDescribeModelPackageErrorMap"]) == 1


async def test_decoding_matches_botocore_on_throttling(local_sagemaker: LocalSageMaker) -> None:
    """A throttling error decodes as botocore decodes it too."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(rate=0.001, burst=1)
    async with raw_client(local_sagemaker) as client:
        await client.batch_describe_model_package(ModelPackageArnList=arns)  # the one token

    answers = await _answers(local_sagemaker, arns)

    assert answers["botocore"]["ClientError"]["Error"]["Code"] == "ThrottlingException"
    _assert_same(answers)


def _every_member(shape: Shape, variant: int) -> Any:
    """A wire value of ``shape`` with every member filled, in one of two spellings."""
    kind = shape.type_name
    if kind == "structure":
        return {name: _every_member(member, variant) for name, member in shape.members.items()}  # type: ignore[attr-defined]
    if kind == "map":
        return {f"key-{n}": _every_member(shape.value, variant + n) for n in range(2)}  # type: ignore[attr-defined]
    if kind == "list":
        return [_every_member(shape.member, variant + n) for n in range(2)]  # type: ignore[attr-defined]
    examples: dict[str, tuple[Any, Any]] = {
        "string": ("text", "ünïcode ✓"),
        "integer": (7, -(2**31)),
        "long": (7, 2**62),
        "boolean": (True, False),
        "timestamp": (1704067200, "2024-03-04T05:06:07.123456Z"),
        "float": (1.5, 3),
        "double": (1.5, 3),
    }
    return examples[kind][variant % 2]


async def test_every_member_decodes_as_botocore_decodes(local_sagemaker: LocalSageMaker) -> None:
    """Every member of the output shape, error map included, decodes as botocore's, exactly."""
    arns = local_sagemaker.seed(groups=1, versions=4)
    body = _every_member(_OUTPUT, 0)
    body["ModelPackageSummaries"] = {
        arn: _every_member(_OUTPUT.members["ModelPackageSummaries"].value, n)  # type: ignore[attr-defined]
        for n, arn in enumerate(arns[:3])
    }
    body["ModelPackageSummaries"][arns[2]]["CreationTime"] = 1704067200.123456
    body["BatchDescribeModelPackageErrorMap"] = {
        arns[3]: {"ErrorCode": "ResourceNotFound", "ErrorResponse": "no such package"}
    }
    local_sagemaker.faults = Faults(answer_body=json.dumps(body))

    answers = await _answers(local_sagemaker, arns)

    _assert_same(answers)
    summaries = answers["owned"]["ModelPackageSummaries"]
    assert [type(summary["CreationTime"]) for summary in summaries.values()] == [dt.datetime] * 3
    assert local_sagemaker.counters.answered == len(PATHS)


async def test_a_callers_client_is_restored_when_the_fetcher_closes(
    local_sagemaker: LocalSageMaker,
) -> None:
    """The hook stays while any fetcher uses a client, and leaves with the last one."""
    arn = local_sagemaker.seed(groups=1, versions=1)[0]
    # botocore drops a member its model does not know; the decoder keeps it.
    summary = {"ModelPackageArn": arn, "NewMember": 1}
    local_sagemaker.faults = Faults(
        answer_body=json.dumps({"ModelPackageSummaries": {arn: summary}})
    )

    async def new_member(client: Any) -> object:
        answer = await client.batch_describe_model_package(ModelPackageArnList=[arn])
        return answer["ModelPackageSummaries"][arn].get("NewMember")

    async with raw_client(local_sagemaker) as client:
        assert await new_member(client) is None
        async with ModelPackageFetcher(client):
            async with ModelPackageFetcher(client):
                assert await new_member(client) == 1
            assert await new_member(client) == 1
        assert await new_member(client) is None


async def test_a_fetcher_with_its_own_client_describes_through_the_decoder(
    local_sagemaker: LocalSageMaker,
) -> None:
    """The fetcher's own client checks answers and describes the true summaries."""
    arns = local_sagemaker.seed(groups=1, versions=3)
    async with ModelPackageFetcher(
        endpoint_url=local_sagemaker.endpoint_url, region_name="us-east-1"
    ) as fetcher:
        merged = await fetcher.describe_all(arns)
    catalogue = local_sagemaker.catalogue
    assert merged["ModelPackageSummaries"] == {
        arn: catalogue.summary(*catalogue.locate(arn))  # type: ignore[misc]
        for arn in arns
    }


# -- the decoder on its own ------------------------------------------------------


@pytest.fixture(scope="module")
def decoder() -> AnswerDecoder:
    """The decoder of BatchDescribeModelPackage answers."""
    return AnswerDecoder.for_operation(_MODEL.operation_model(OPERATION))


def _decode(decoder: AnswerDecoder, answer: object) -> dict[str, Any]:
    return decoder.decode(json.dumps(answer).encode())


def _summary(**members: Any) -> dict[str, Any]:
    return {"ModelPackageSummaries": {"arn:1": {"ModelPackageArn": "arn:1", **members}}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b'{"ModelPackageSumm', "the answer is not JSON (", id="torn"),
        pytest.param(b"\xff{}", "the answer is not JSON (", id="not-utf8"),
        pytest.param(b"1e400", "the answer is not JSON (", id="infinite"),
        pytest.param(b"null", "the answer is null, not an object", id="null"),
        pytest.param(b"[]", "the answer is an array, not an object", id="array"),
    ],
)
def test_a_body_that_is_no_json_object_is_a_parser_error(
    decoder: AnswerDecoder, body: bytes, message: str
) -> None:
    """Invalid JSON, or a top level that is not an object, raises ResponseParserError."""
    with pytest.raises(ResponseParserError) as raised:
        decoder.decode(body)
    assert str(raised.value).startswith(message)


def test_an_empty_body_is_an_empty_answer(decoder: AnswerDecoder) -> None:
    """An empty body decodes as {} (every ARN is then missing from the answer)."""
    assert decoder.decode(b"") == {}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(
            {"ModelPackageSummaries": "x"},
            'the answer\'s ModelPackageSummaries is a string ("x"), not an object',
            id="map",
        ),
        pytest.param(
            _summary(ModelPackageVersion=True),
            "the answer's ModelPackageSummaries['arn:1'].ModelPackageVersion "
            "is a boolean (true), not an integer",
            id="bool-for-int",
        ),
        pytest.param(
            _summary(ModelPackageVersion=1.0),
            "the answer's ModelPackageSummaries['arn:1'].ModelPackageVersion "
            "is a number (1.0), not an integer",
            id="float-for-int",
        ),
        pytest.param(
            _summary(InferenceSpecification={"Containers": [{"Image": "i"}, {"Image": 5}]}),
            "the answer's ModelPackageSummaries['arn:1'].InferenceSpecification.Containers[1]"
            ".Image is an integer (5), not a string",
            id="list-item",
        ),
        pytest.param(
            _summary(InferenceSpecification={"SupportedContentTypes": ["a", ["b"]]}),
            "the answer's ModelPackageSummaries['arn:1'].InferenceSpecification"
            ".SupportedContentTypes[1] is an array, not a string",
            id="string-list-item",
        ),
        pytest.param(
            _summary(InferenceSpecification={"Containers": [{"Environment": {"A": {}}}]}),
            "the answer's ModelPackageSummaries['arn:1'].InferenceSpecification.Containers[0]"
            ".Environment['A'] is an object, not a string",
            id="string-map-value",
        ),
        pytest.param(
            _summary(CreationTime=False),
            "the answer's ModelPackageSummaries['arn:1'].CreationTime "
            "is a boolean (false), not a timestamp",
            id="bool-for-timestamp",
        ),
        pytest.param(
            _summary(CreationTime="x-" * 50),
            "the answer's ModelPackageSummaries['arn:1'].CreationTime "
            f'is a string that is not a timestamp ("{("x-" * 20)[:39]}…")',
            id="long-value-cut",
        ),
        pytest.param(
            {"ModelPackageSummaries": {"a-" * 150: []}},
            f"the answer's ModelPackageSummaries['{('a-' * 50)[:99]}…'] is an array, not an object",
            id="long-key-cut",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_named_where_it_is(
    decoder: AnswerDecoder, answer: object, message: str
) -> None:
    """The error names the member, key or index, what the value is, and what it should be."""
    with pytest.raises(ResponseParserError) as raised:
        _decode(decoder, answer)
    assert str(raised.value) == message


def _nested(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


def test_an_unknown_member_nested_too_deep_to_write_is_invalid(decoder: AnswerDecoder) -> None:
    """Kept members no shape describes must be writable: more than 64 levels is invalid."""
    kept = _decode(decoder, _summary(Junk={"a": _nested(60)}))
    assert orjson.dumps(kept["ModelPackageSummaries"]["arn:1"]["Junk"])
    with pytest.raises(ResponseParserError, match=r"\.Junk is nested deeper than 64 levels"):
        _decode(decoder, _summary(Junk=_nested(300)))
    with pytest.raises(ResponseParserError, match="nested deeper"):
        _decode(decoder, _summary(InferenceSpecification={"Containers": [{"X": _nested(900)}]}))


def test_values_in_messages_are_masked_before_they_are_cut(decoder: AnswerDecoder) -> None:
    """A credential in a wrong-typed value or a key never shows, not even its first characters."""
    token = "FwoGZXIvYXdzEJr" + "k" * 200
    for answer in (
        _summary(ModelPackageVersion=token),
        {"ModelPackageSummaries": {token: 7}},
    ):
        with pytest.raises(ResponseParserError) as raised:
            _decode(decoder, answer)
        assert "FwoGZXIvYXdz" not in str(raised.value)
        assert "****" in str(raised.value)


def test_nulls_are_dropped_from_structures_and_maps(decoder: AnswerDecoder) -> None:
    """A null member or map value is absent (a null ARN entry is missing); null list items stay."""
    answer = {
        "ModelPackageSummaries": {
            "arn:1": {
                "ModelPackageArn": "arn:1",
                "ModelPackageDescription": None,
                "InferenceSpecification": {
                    "Containers": [{"Environment": {"A": "a", "B": None}}],
                    "SupportedContentTypes": ["text/csv", None],
                },
            },
            "arn:2": None,
        },
        "BatchDescribeModelPackageErrorMap": None,
    }
    assert _decode(decoder, answer) == {
        "ModelPackageSummaries": {
            "arn:1": {
                "ModelPackageArn": "arn:1",
                "InferenceSpecification": {
                    "Containers": [{"Environment": {"A": "a"}}],
                    "SupportedContentTypes": ["text/csv", None],
                },
            }
        }
    }


def test_unknown_members_are_kept_below_the_top_level(decoder: AnswerDecoder) -> None:
    """A member the model does not know is kept in a summary, dropped at the top (botocore's)."""
    answer = {**_summary(NewMember={"x": [1]}), "ResponseMetadata": "x", "Error": 1}
    assert _decode(decoder, answer) == _summary(NewMember={"x": [1]})


_OTHER_SHAPES = {
    "Root": {
        "type": "structure",
        "members": {
            "Renamed": {"shape": "Text", "locationName": "wireName"},
            "Payload": {"shape": "Bytes"},
            "Ratio": {"shape": "Ratio"},
            "Document": {"shape": "Document"},
            "Child": {"shape": "Root"},
        },
    },
    "Text": {"type": "string"},
    "Bytes": {"type": "blob"},
    "Ratio": {"type": "double"},
    "Document": {"type": "structure", "members": {}, "document": True},
}


def test_other_shapes_decode_as_botocore_decodes() -> None:
    """Renamed members, blobs, doubles, documents and recursive shapes decode as botocore's."""
    shape = ShapeResolver(_OTHER_SHAPES).get_shape_by_name("Root")
    body = json.dumps({
        "wireName": "a",
        "Payload": "aGk=",
        "Ratio": 2,
        "Document": {"any": [1, None]},
        "Child": {"wireName": "b", "Child": {"Ratio": 0.5, "Payload": ""}},
    }).encode()  # fmt: skip
    botocores = create_parser("json").parse(
        {"body": body, "headers": {}, "status_code": 200}, shape
    )
    del botocores["ResponseMetadata"]

    assert _comparable(AnswerDecoder(shape).decode(body)) == _comparable(botocores)  # type: ignore[arg-type]
    with pytest.raises(ResponseParserError, match=r"^the answer's Child\.Ratio is a string"):
        AnswerDecoder(shape).decode(b'{"Child": {"Ratio": "1"}}')  # type: ignore[arg-type]
    with pytest.raises(ResponseParserError, match=r"^the answer's Payload is a string that is not"):
        AnswerDecoder(shape).decode(b'{"Payload": "abc"}')  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(1704067200, parse_timestamp(1704067200), id="epoch-int"),  # type: ignore[arg-type]
        pytest.param(-1e10, parse_timestamp(-1e10), id="before-1970"),  # type: ignore[arg-type]
        pytest.param("1704067200.5", parse_timestamp("1704067200.5"), id="epoch-text"),
        pytest.param(
            "2024-01-01T00:00:00+02:00", parse_timestamp("2024-01-01T00:00:00+02:00"), id="iso"
        ),
        pytest.param(
            "Mon, 01 Jan 2024 00:00:00 GMT",
            parse_timestamp("Mon, 01 Jan 2024 00:00:00 GMT"),
            id="rfc822",
        ),
        pytest.param(
            "2024-01-01T00:00:00", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), id="no-zone-is-utc"
        ),
    ],
)
def test_timestamps_are_what_botocore_reads_always_aware(
    decoder: AnswerDecoder, value: object, expected: dt.datetime
) -> None:
    """Epoch numbers and the strings botocore reads become its datetimes; a zoneless one is UTC."""
    created = _decode(decoder, _summary(CreationTime=value))["ModelPackageSummaries"]["arn:1"][
        "CreationTime"
    ]
    assert (created, created.utcoffset(), type(created.tzinfo)) == (
        expected,
        expected.utcoffset(),
        type(expected.tzinfo),
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(1e300, "is a number out of a timestamp's range (1e+300)", id="overflow"),
        pytest.param(
            253402300800, "is a number out of a timestamp's range (253402300800)", id="year-10000"
        ),
        pytest.param("yesterday", 'is a string that is not a timestamp ("yesterday")', id="word"),
        pytest.param("inf", 'is a string that is not a timestamp ("inf")', id="infinite-text"),
        pytest.param(
            "2024-01-01 12:00 XYZ",
            'is a string that is not a timestamp ("2024-01-01 12:00 XYZ")',
            id="unknown-zone",
        ),
    ],
)
def test_a_timestamp_that_cannot_be_placed_is_invalid(
    decoder: AnswerDecoder, value: object, problem: str
) -> None:
    """Unparsable text, an unknown zone, or a number out of range is a parser error, not a crash."""
    with pytest.raises(ResponseParserError) as raised:
        _decode(decoder, _summary(CreationTime=value))
    assert (
        str(raised.value) == f"the answer's ModelPackageSummaries['arn:1'].CreationTime {problem}"
    )


@pytest.mark.parametrize("utc_all_year", [True, False], ids=["utc-all-year", "localtime"])
@given(seconds=st.floats(-62135596800, 253402300799) | st.integers(-62135596800, 253402300799))
def test_epoch_seconds_convert_exactly_as_botocore_converts(
    utc_all_year: bool, seconds: float
) -> None:
    """Both ways of converting epoch seconds give botocore's datetime, zone and fold included."""
    check: Callable[[Any], dt.datetime] = _timestamps(utc_all_year=utc_all_year)
    try:
        botocores = parse_timestamp(seconds)  # type: ignore[arg-type]
    except ValueError:  # rounded up to the year 10000
        with pytest.raises(_Invalid):
            check(seconds)
        return
    assert _comparable(check(seconds)) == _comparable(botocores)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"", b"", id="empty"),
        pytest.param(b"<html>busy</html>", b"<html>busy</html>", id="not-json"),
        pytest.param(b'{"__type": "X", "message": 5}', b'{"__type": "X", "message": 5}', id="ok"),
        pytest.param(b"null", b'{"message": "null"}', id="null"),
        pytest.param(b"[1]", b'{"message": "[1]"}', id="array"),
        pytest.param(b"NaN", b'{"message": "NaN"}', id="nan"),
        pytest.param(b'{"__type": ["X"], "message": "m"}', b'{"message": "m"}', id="type-list"),
        pytest.param(b"\xff\xfe", b'{"message": "\\ufffd\\ufffd"}', id="not-utf8"),
        pytest.param(b"[" * 100_000, b'{"message": "' + b"[" * 100_000 + b'"}', id="too-deep"),
    ],
)
def test_error_bodies_botocore_would_crash_on_become_messages(body: bytes, expected: bytes) -> None:
    """An error body botocore's error parser would crash on becomes {"message": text}."""
    assert _error_body_botocore_can_parse(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("null", id="null"),
        pytest.param("[1]", id="array"),
        pytest.param('{"__type": 5}', id="type-number"),
        pytest.param('{"__type": ["ThrottlingException"]}', id="type-list"),
    ],
)
async def test_a_malformed_error_answer_is_a_client_error(
    local_sagemaker: LocalSageMaker, body: str
) -> None:
    """An error answer botocore alone would crash on raises a ClientError coded by its status."""
    arns = local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(answer_body=body, answer_status=400)
    for path in ("owned", "callers"):
        async with _client(local_sagemaker, path) as client:
            with pytest.raises(ClientError) as raised:
                await client.batch_describe_model_package(ModelPackageArnList=arns)
        assert raised.value.response["Error"]["Code"] == "400"


# -- botocore's data files ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        pytest.param("sagemaker", "service-2", id="sagemaker-model"),
        pytest.param("sagemaker", "endpoint-rule-set-1", id="sagemaker-rules"),
        pytest.param("sts", "service-2", id="sts-model"),
        pytest.param("", "endpoints", id="endpoints"),
        pytest.param("", "partitions", id="partitions"),
        pytest.param("", "sdk-default-configuration", id="defaults"),
    ],
)
def test_the_fast_data_loader_loads_what_botocore_loads(
    name: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data files parsed with orjson equal botocore's own parse, key order included."""
    # A search path of its own: a new loader, not the one earlier clients resolved
    # endpoints with (botocore fills resolved entries in, in place, as in one session).
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    session = AioSession()
    fast = fast_data_loader(session)
    plain = create_loader(session.get_config_variable("data_path"))

    if name:
        ours, theirs = (loader.load_service_model(name, kind) for loader in (fast, plain))
    else:
        ours, theirs = (loader.load_data(kind) for loader in (fast, plain))

    assert ours == theirs
    assert list(_keys(ours)) == list(_keys(theirs))


def test_sessions_share_one_loader_per_search_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model is parsed once per process, not once per session (a shard, an assumed role)."""
    shared = fast_data_loader(AioSession())
    assert fast_data_loader(AioSession()) is shared
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    own = fast_data_loader(AioSession())
    assert own is not shared
    assert str(tmp_path) in own.search_paths


def _keys(value: Any) -> Iterator[str]:
    """Every key of a nested document, in order."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


async def test_a_fetcher_opens_its_client_with_the_fast_data_loader(
    local_sagemaker: LocalSageMaker,
) -> None:
    """The client a fetcher opens parses botocore's data with orjson, and works."""
    arns = local_sagemaker.seed(groups=1, versions=2)
    async with ModelPackageFetcher(
        endpoint_url=local_sagemaker.endpoint_url, region_name="us-east-1"
    ) as fetcher:
        result = await fetcher.describe_all(arns)
        loader = fetcher._client._loader  # type: ignore[union-attr]

    assert sorted(result["ModelPackageSummaries"]) == sorted(arns)
    assert type(loader.file_loader).__name__ == "_FastJSONFileLoader"
