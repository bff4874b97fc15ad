"""CallGuard: one call under the limiter and timeout, classified, retried by tenacity.

The calls here are plain coroutines that answer or raise what botocore raises;
end-to-end behaviour over HTTP is in test_fetcher.py and test_discovery.py.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import anyio
import pytest
from botocore import exceptions as boto

from sagefetch import AccessDeniedError, AdaptiveRateLimiter, EndpointUnreachableError
from sagefetch._calls import CallFailedError, CallGuard

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


def _client_error(code: str, status: int = 400) -> boto.ClientError:
    return boto.ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
        },
        "ListModelPackages",
    )


def _answers(*answers: BaseException | str) -> Callable[[], Awaitable[str]]:
    """A call that raises or returns each of ``answers`` in turn."""
    remaining = list(answers)

    async def call() -> str:
        answer = remaining.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return call


def _guard(**settings: float) -> CallGuard:
    limiter = AdaptiveRateLimiter(max_rate=1000)
    return CallGuard(
        limiter=limiter,
        timeout=settings.get("timeout", 5.0),
        max_attempts=int(settings.get("max_attempts", 4)),
    )


async def _call(guard: CallGuard, call: Callable[[], Awaitable[str]], counts: Counter[str]) -> str:
    return await guard.call(
        call, name="list", operation="ListModelPackages", context={}, counts=counts
    )


async def test_a_throttled_call_is_retried_and_counted() -> None:
    """Throttled, then answered: two calls, one throttle, one retry, in the run's and the total."""
    guard, run = _guard(), Counter[str]()
    answer = await _call(guard, _answers(_client_error("ThrottlingException"), "page"), run)
    assert answer == "page"
    assert run == Counter(calls=2, throttled=1, retries=1)
    assert guard.counts["calls"] == 2
    assert guard.counts["in_flight"] == 0


async def test_a_terminal_error_fails_at_once() -> None:
    """An error no retry can fix is a CallFailedError after one call."""
    guard, run = _guard(), Counter[str]()
    with pytest.raises(CallFailedError) as caught:
        await _call(guard, _answers(_client_error("ResourceNotFound")), run)
    assert caught.value.classified.code == "ResourceNotFound"
    assert run["calls"] == 1


async def test_transient_errors_fail_after_max_attempts() -> None:
    """HTTP 500 on every attempt: max_attempts calls, then CallFailedError with the code."""
    guard, run = _guard(max_attempts=3), Counter[str]()
    errors = [_client_error("InternalFailure", 500) for _ in range(3)]
    with pytest.raises(CallFailedError) as caught:
        await _call(guard, _answers(*errors), run)
    assert caught.value.classified.code == "InternalFailure"
    assert run["calls"] == 3


async def test_access_denied_stops_the_run_naming_the_operation() -> None:
    """Access denied stops the run at once, and the hint names the operation's permission."""
    guard, run = _guard(), Counter[str]()
    with pytest.raises(AccessDeniedError, match="sagemaker:ListModelPackages "):
        await _call(guard, _answers(_client_error("AccessDeniedException", 403)), run)
    assert run["calls"] == 1


async def test_an_endpoint_unreachable_through_every_retry_stops_the_run() -> None:
    """Connection refused on every attempt stops the run (resumable), not fails the call."""
    guard, run = _guard(max_attempts=2), Counter[str]()
    refused = [boto.EndpointConnectionError(endpoint_url="http://127.0.0.1:9") for _ in range(2)]
    with pytest.raises(EndpointUnreachableError):
        await _call(guard, _answers(*refused), run)
    assert run["calls"] == 2


async def test_a_call_past_the_timeout_is_retried() -> None:
    """A call slower than the timeout counts as failed and is tried again."""
    guard, run = _guard(timeout=0.05), Counter[str]()
    attempts = 0

    async def slow_then_fast() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await anyio.sleep(1)
        return "page"

    assert await _call(guard, slow_then_fast, run) == "page"
    assert run == Counter(calls=2, retries=1)
