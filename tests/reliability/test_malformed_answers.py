"""A malformed answer is data, never a crash: in the decoder, and through the whole pipeline."""

from __future__ import annotations

import datetime as dt
import json
import math
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import botocore.session
import pytest
from botocore.parsers import ResponseParserError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagefetch import Described, Failed, ModelPackageFetcher, Outcome, RunStoppedError
from sagefetch._decode import OPERATION, AnswerDecoder
from sagefetch.testing import Faults
from tests.checks import by_arn
from tests.conftest import raw_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from botocore.model import Shape
    from hypothesis.strategies import DrawFn, SearchStrategy

    from sagefetch.testing import LocalSageMaker

_OPERATION_MODEL = (
    botocore.session.get_session().get_service_model("sagemaker").operation_model(OPERATION)
)
OUTPUT: Shape = _OPERATION_MODEL.output_shape  # type: ignore[assignment]
DECODER = AnswerDecoder.for_operation(_OPERATION_MODEL)
CLIENTS = [pytest.param("owned", id="owned-client"), pytest.param("callers", id="callers-client")]
MAX_ATTEMPTS = 2


@asynccontextmanager
async def _fetcher(server: LocalSageMaker, client: str, **settings: Any) -> AsyncIterator[Any]:
    """A fetcher on ``server`` with its own client, or with a caller's."""
    if client == "owned":
        async with ModelPackageFetcher(
            endpoint_url=server.endpoint_url, region_name=server.region, **settings
        ) as fetcher:
            yield fetcher
        return
    async with raw_client(server) as own, ModelPackageFetcher(own, **settings) as fetcher:
        yield fetcher


async def _describe(server: LocalSageMaker, client: str, arns: list[str]) -> list[Outcome]:
    async with _fetcher(server, client, max_attempts=MAX_ATTEMPTS) as fetcher:
        return [outcome async for outcome in fetcher.stream(arns)]


# -- one example per kind of malformed answer, through the real HTTP path -----------

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-0000/1"
_SUMMARIES = "the answer's ModelPackageSummaries"


def _summary(**members: Any) -> str:
    return json.dumps({"ModelPackageSummaries": {ARN: {"ModelPackageArn": ARN, **members}}})


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param("null", "the answer is null, not an object", id="null"),
        pytest.param("[]", "the answer is an array, not an object", id="array"),
        pytest.param('"OK"', 'the answer is a string ("OK"), not an object', id="string"),
        pytest.param("{", "the answer is not JSON (", id="torn"),
        pytest.param(
            json.dumps({"ModelPackageSummaries": [ARN]}),
            f"{_SUMMARIES} is an array, not an object",
            id="summaries-an-array",
        ),
        pytest.param(
            json.dumps({"BatchDescribeModelPackageErrorMap": "none"}),
            'the answer\'s BatchDescribeModelPackageErrorMap is a string ("none"), not an object',
            id="error-map-a-string",
        ),
        pytest.param(
            json.dumps({"ModelPackageSummaries": {ARN: "described"}}),
            f'{_SUMMARIES}[{ARN!r}] is a string ("described"), not an object',
            id="summary-not-an-object",
        ),
        pytest.param(
            json.dumps(
                {"BatchDescribeModelPackageErrorMap": {ARN: {"ErrorCode": ["ResourceNotFound"]}}}
            ),
            f"the answer's BatchDescribeModelPackageErrorMap[{ARN!r}].ErrorCode "
            "is an array, not a string",
            id="error-code-a-list",
        ),
        pytest.param(
            _summary(CreationTime="yesterday"),
            f'{_SUMMARIES}[{ARN!r}].CreationTime is a string that is not a timestamp ("yesterday")',
            id="creation-time-a-string",
        ),
        pytest.param(
            _summary(CreationTime=1e300),
            f"{_SUMMARIES}[{ARN!r}].CreationTime is a number out of a timestamp's range (1e+300)",
            id="creation-time-out-of-range",
        ),
        pytest.param(
            _summary(ModelPackageVersion="1"),
            f'{_SUMMARIES}[{ARN!r}].ModelPackageVersion is a string ("1"), not an integer',
            id="version-a-string",
        ),
    ],
)
async def test_a_malformed_answer_fails_the_arns_it_was_for(
    local_sagemaker: LocalSageMaker, client: str, body: str, message: str
) -> None:
    """Each ARN fails with InvalidResponse and a message saying what and where, after retries."""
    assert local_sagemaker.seed(groups=1, versions=1) == [ARN]
    local_sagemaker.faults = Faults(answer_body=body)

    [outcome] = await _describe(local_sagemaker, client, [ARN])

    assert isinstance(outcome, Failed), outcome
    assert (outcome.code, outcome.attempts) == ("InvalidResponse", MAX_ATTEMPTS)
    assert outcome.message.startswith(message), outcome.message
    assert local_sagemaker.counters.answered == MAX_ATTEMPTS


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_null_entry_is_missing_from_the_answer(
    local_sagemaker: LocalSageMaker, client: str
) -> None:
    """An ARN whose entry is null is asked for again, then fails as missing, not as null."""
    local_sagemaker.seed(groups=1, versions=1)
    body = {"ModelPackageSummaries": {ARN: None}, "BatchDescribeModelPackageErrorMap": None}
    local_sagemaker.faults = Faults(answer_body=json.dumps(body))

    [outcome] = await _describe(local_sagemaker, client, [ARN])

    assert isinstance(outcome, Failed), outcome
    assert outcome.code == "MissingFromResponse"


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_null_member_is_dropped_from_the_summary(
    local_sagemaker: LocalSageMaker, client: str
) -> None:
    """A summary's null members are absent from the described summary, as botocore drops them."""
    local_sagemaker.seed(groups=1, versions=1)
    local_sagemaker.faults = Faults(
        answer_body=_summary(ModelPackageDescription=None, CreationTime=1704067200)
    )

    [outcome] = await _describe(local_sagemaker, client, [ARN])

    assert isinstance(outcome, Described), outcome
    assert outcome.summary == {
        "ModelPackageArn": ARN,
        "CreationTime": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    }


# -- properties --------------------------------------------------------------------

json_values: SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def shaped(shape: Shape, keys: SearchStrategy[str]) -> SearchStrategy[Any]:
    """Wire values that fit ``shape`` (the top-level maps keyed by ``keys``), nulls included."""
    kind = shape.type_name
    if kind == "structure":
        members = shape.members  # type: ignore[attr-defined]
        return st.fixed_dictionaries(
            {},
            optional={name: st.none() | shaped(member, keys) for name, member in members.items()},
        )
    if kind == "map":
        return st.dictionaries(keys, shaped(shape.value, keys), max_size=3)  # type: ignore[attr-defined]
    if kind == "list":
        return st.lists(st.none() | shaped(shape.member, keys), max_size=2)  # type: ignore[attr-defined]
    return {
        "string": st.text(max_size=12),
        "integer": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "boolean": st.booleans(),
        "timestamp": st.integers(0, 2**32)
        | st.floats(-1e11, 1e11)
        | st.datetimes().map(dt.datetime.isoformat),
    }[kind]


def _places(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) in a decoded JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield value, key
            yield from _places(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield value, index
            yield from _places(item)


@st.composite
def answers(draw: DrawFn, keys: SearchStrategy[str], *, mutate: bool) -> Any:
    """An answer that fits the output shape; with ``mutate``, one value anywhere replaced."""
    answer = draw(shaped(OUTPUT, keys))
    places = list(_places(answer))
    if mutate and places:
        container, key = draw(st.sampled_from(places))
        container[key] = draw(json_values)
    return answer


def bodies(keys: SearchStrategy[str]) -> SearchStrategy[str]:
    """Answer bodies: arbitrary text and JSON, fitting answers, and answers with a wrong value."""
    return st.one_of(
        st.text(max_size=20),
        json_values.map(json.dumps),
        answers(keys, mutate=False).map(json.dumps),
        answers(keys, mutate=True).map(json.dumps),
    )


def _assert_fits(shape: Shape, value: Any, *, top: bool = False) -> None:
    """``value`` is what botocore gives for ``shape``: types exact, no nulls, aware times."""
    kind = shape.type_name
    if kind == "structure":
        members = shape.members  # type: ignore[attr-defined]
        assert type(value) is dict
        assert not top or set(value) <= set(members), value
        for name, item in value.items():
            assert item is not None, name
            if name in members:
                _assert_fits(members[name], item)
    elif kind == "map":
        assert type(value) is dict
        for key, item in value.items():
            assert type(key) is str
            assert item is not None, key
            _assert_fits(shape.value, item)  # type: ignore[attr-defined]
    elif kind == "list":
        assert type(value) is list
        for item in value:
            if item is not None:  # lists are sparse, as botocore parses them
                _assert_fits(shape.member, item)  # type: ignore[attr-defined]
    elif kind == "timestamp":
        assert type(value) is dt.datetime
        assert value.utcoffset() is not None
    elif kind in ("float", "double"):
        assert type(value) in (int, float)
        assert math.isfinite(value)
    else:
        assert type(value) is {"string": str, "integer": int, "long": int, "boolean": bool}[kind]


@settings(max_examples=400, deadline=None)
@given(body=bodies(st.text(max_size=8)).map(str.encode) | st.binary(max_size=40))
def test_the_decoder_gives_a_well_typed_answer_or_a_parser_error(body: bytes) -> None:
    """Whatever the body, the decoder gives an answer of the API's types or ResponseParserError."""
    try:
        answer = DECODER.decode(body)
    except ResponseParserError as exc:
        message = str(exc)
    else:
        _assert_fits(OUTPUT, answer, top=True)
        return
    assert message.startswith("the answer"), message


ASKED = [
    f"arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-0000/{version}"
    for version in (*range(1, 11), 999)
]


@pytest.mark.parametrize("client", CLIENTS)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    faults=st.builds(
        Faults,
        answer_body=bodies(st.sampled_from(ASKED) | st.text(max_size=4)),
        answer=st.floats(0, 1),
        answer_status=st.sampled_from([200, 200, 200, 400, 500]),
        seed=st.integers(0, 1000),
    )
)
def test_a_run_under_malformed_answers_gives_every_arn_one_outcome(
    local_sagemaker: LocalSageMaker, client: str, faults: Faults
) -> None:
    """Answers replaced by any body: one outcome per ARN; nothing raised but RunStoppedError."""
    server = local_sagemaker
    if server.catalogue.versions != 10:
        server.seed(groups=1, versions=10)
    server.faults = faults
    outcomes: list[Outcome] = []
    stopped = False

    async def run() -> None:
        nonlocal stopped
        async with _fetcher(
            server, client, max_attempts=MAX_ATTEMPTS, batch_size=4, max_concurrency=2
        ) as fetcher:
            try:
                async for outcome in fetcher.stream([*ASKED, *ASKED[:3]]):
                    outcomes.append(outcome)  # noqa: PERF401 - those before a stop count too
            except RunStoppedError:
                stopped = True

    try:
        anyio.run(run)
    finally:
        server.faults = Faults()

    keyed = by_arn(outcomes)
    assert set(keyed) == set(ASKED) or (stopped and set(keyed) < set(ASKED))


# -- discovery's listing calls are checked at the same boundary ---------------------


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    "body",
    ["null", "[]", '{"ModelPackageSummaryList": "x"}',
     '{"ModelPackageSummaryList": [{"CreationTime": "soon"}]}'],
)  # fmt: skip
async def test_a_malformed_listing_answer_is_a_record_or_a_stop_never_a_crash(
    local_sagemaker: LocalSageMaker, client: str, body: str
) -> None:
    """A group whose listing answers are malformed fails as a record with InvalidResponse."""
    local_sagemaker.seed(groups=2, versions=2)
    local_sagemaker.faults = Faults(answer_body=body, operations=("ListModelPackages",))
    async with _fetcher(local_sagemaker, client, max_attempts=MAX_ATTEMPTS) as fetcher:
        listed = fetcher.discover(unversioned=False)
        outcomes = [outcome async for outcome in fetcher.stream(listed)]

    assert len(outcomes) == 2
    assert {type(outcome) for outcome in outcomes} == {Failed}
    assert {outcome.code for outcome in outcomes if isinstance(outcome, Failed)} == {
        "InvalidResponse"
    }


@pytest.mark.parametrize("client", CLIENTS)
async def test_malformed_group_listings_stop_the_run_with_the_reason(
    local_sagemaker: LocalSageMaker, client: str
) -> None:
    """When the groups themselves cannot be listed, the run stops (RunStoppedError), no crash."""
    local_sagemaker.seed(groups=2, versions=2)
    local_sagemaker.faults = Faults(
        answer_body='{"ModelPackageGroupSummaryList": 7}', operations=("ListModelPackageGroups",)
    )
    async with _fetcher(local_sagemaker, client, max_attempts=MAX_ATTEMPTS) as fetcher:
        with pytest.raises(RunStoppedError, match="InvalidResponse"):
            [outcome async for outcome in fetcher.stream(fetcher.discover())]
