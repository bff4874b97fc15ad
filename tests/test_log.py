"""Where the library's events go: the app's structlog, else stdlib logging; never stdout."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import pytest
import structlog

from sagefetch import ModelPackageFetcher
from sagefetch._log import get_logger
from sagefetch.testing import Faults

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sagefetch.testing import LocalSageMaker

_APP = """
import asyncio, os, sys
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
{imports}
from sagefetch import ModelPackageFetcher
from sagefetch.testing import Faults, LocalSageMaker

async def main():
    with LocalSageMaker(backend="synthetic") as server:
        arns = server.seed(groups=10, versions=100)
        server.faults = Faults(rate=40, burst=2)  # throttled calls are retried, not warned about
        config = AioConfig(retries={{"total_max_attempts": {attempts}}})
        async with get_session().create_client(
            "sagemaker", config=config, **server.client_kwargs()
        ) as client:
            async with ModelPackageFetcher(client) as fetcher:
                outcomes = [o async for o in fetcher.stream(arns)]
                await fetcher.describe(arns[0])
    assert len(outcomes) == 1000, len(outcomes)

asyncio.run(main())
"""


def _run_app(*, imports: str = "", attempts: int = 1) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(_APP).format(imports=imports, attempts=attempts)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    "imports",
    [
        pytest.param("", id="nothing-imported"),
        pytest.param("import structlog, logging", id="structlog-imported-not-configured"),
    ],
)
def test_an_app_that_configures_nothing_sees_nothing(imports: str) -> None:
    """A clean run (throttled and retried) writes not one byte to stdout or stderr."""
    result = _run_app(imports=imports)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""


def test_client_retries_advice_is_a_warning_on_stderr_only() -> None:
    """A client that retries by itself: a ClientRetriesWarning on stderr, nothing on stdout."""
    result = _run_app(attempts=3)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "ClientRetriesWarning" in result.stderr
    assert "total_max_attempts" in result.stderr


@pytest.fixture
def structlog_unconfigured() -> Iterator[None]:
    """Structlog as in an app that never configured it; the previous state afterwards."""
    was_configured = structlog.is_configured()
    previous = structlog.get_config()
    structlog.reset_defaults()
    try:
        yield
    finally:
        if was_configured:
            structlog.configure(**previous)
        else:
            structlog.reset_defaults()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def sagefetch_records(request: pytest.FixtureRequest) -> Iterator[_Records]:
    """A handler on the ``sagefetch`` logger at the level the test's marker names."""
    handler = _Records()
    logger = logging.getLogger("sagefetch")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(getattr(request, "param", logging.INFO))
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.usefixtures("structlog_unconfigured")
@pytest.mark.parametrize(
    ("sagefetch_records", "debug_expected"),
    [
        pytest.param(logging.INFO, False, id="info"),
        pytest.param(logging.DEBUG, True, id="debug"),
    ],
    indirect=["sagefetch_records"],
)
async def test_without_structlog_config_events_reach_stdlib_handlers_at_their_level(
    synthetic_sagemaker: LocalSageMaker,
    synthetic_client: Any,
    sagefetch_records: _Records,
    debug_expected: bool,
) -> None:
    """The app's stdlib handler gets sagefetch's events at the level it chose, as key=value."""
    arns = synthetic_sagemaker.seed(groups=1, versions=10)
    async with ModelPackageFetcher(synthetic_client) as fetcher:
        _ = [outcome async for outcome in fetcher.stream(arns)]
    events = {record.event: record for record in sagefetch_records.records}  # type: ignore[attr-defined]
    finished = events["sagefetch.run_finished"]
    assert finished.levelno == logging.INFO
    assert finished.name == "sagefetch"
    assert "described=10" in finished.getMessage()
    assert finished.fields["described"] == 10  # type: ignore[attr-defined]
    assert ("sagefetch.batch_sent" in events) is debug_expected


@pytest.mark.usefixtures("structlog_unconfigured")
def test_stdlib_lines_mask_credentials(sagefetch_records: _Records) -> None:
    """A credential in an event's field never reaches the stdlib record, in the line or fields."""
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    get_logger().warning(
        "sagefetch.test_event", aws_secret_access_key=secret, note="key AKIAIOSFODNN7EXAMPLE"
    )
    [record] = sagefetch_records.records
    assert secret not in record.getMessage()
    assert "AKIAIOSFODNN7EXAMPLE" not in record.getMessage()
    assert secret not in repr(record.fields)  # type: ignore[attr-defined]


async def test_an_app_that_configured_structlog_gets_events_through_it(
    synthetic_sagemaker: LocalSageMaker,
    synthetic_client: Any,
    sagefetch_records: _Records,
) -> None:
    """With structlog configured, events go through its processors and not to stdlib."""
    arns = synthetic_sagemaker.seed(groups=1, versions=10)
    synthetic_sagemaker.faults = Faults()
    with structlog.testing.capture_logs() as events:
        async with ModelPackageFetcher(synthetic_client) as fetcher:
            _ = [outcome async for outcome in fetcher.stream(arns)]
    [finished] = [event for event in events if event["event"] == "sagefetch.run_finished"]
    assert finished["log_level"] == "info"
    assert finished["described"] == 10
    assert sagefetch_records.records == []
