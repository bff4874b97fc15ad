"""``--regions all``: for each account, the regions it has enabled where SageMaker exists.

    EC2 DescribeRegions(AllRegions) with the account's credentials ─▶ enabled regions
        (OptInStatus "opt-in-not-required" or "opted-in")
    ∩ SageMaker's regions in the account's partition (botocore's endpoint data)
    = the account's shards; SageMaker regions the account has not enabled are
      skipped and counted, never failed.

The call is made in the account's home region (its profile's, else
``us-east-1``), through the library's call layer like every other call, with
the role assumed when the account is reached through one. An account whose
regions cannot be listed (its role cannot be assumed, no ec2:DescribeRegions)
is one stopped shard; the other accounts go on.

Each account has a session of its own (its credentials), but they share one
data loader: EC2's service model is parsed once, not once per account (each
parse costs ~0.2 s of CPU and ~15 MB).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import anyio
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from sagefetch._calls import CallFailedError, CallGuard
from sagefetch._credentials import assume_role
from sagefetch._decode import fast_data_loader
from sagefetch._exceptions import AccessDeniedError, RunStoppedError, classify_error
from sagefetch._limiter import AdaptiveRateLimiter
from sagefetch._version import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

    from botocore.loaders import Loader

    from ._reports import Shard

__all__ = ["ALL_REGIONS", "AccountRegions", "list_enabled_regions", "region_shards"]

#: The ``--regions`` value that asks for every enabled region.
ALL_REGIONS: Final = "all"
_ENABLED: Final = frozenset({"opt-in-not-required", "opted-in"})
_HOME: Final = "us-east-1"


@dataclass
class AccountRegions:
    """The regions of one account: where its shards run, and what was skipped."""

    shard: Shard
    """The account's credentials (its region is not used)."""
    regions: list[str] = field(default_factory=list)
    """Enabled and served by SageMaker: one shard each."""
    not_enabled: list[str] = field(default_factory=list)
    """SageMaker regions the account has not enabled: skipped."""
    counts: Counter[str] = field(default_factory=Counter)
    stopped: RunStoppedError | None = None
    """Why its regions could not be listed; then it is one stopped shard."""


async def list_enabled_regions(
    shards: Sequence[Shard],
    *,
    call_timeout: float,
    max_attempts: int,
    max_rate: float | None = None,
    concurrency: int = 32,
) -> list[AccountRegions]:
    """The regions of each account ``shards`` reach (one shard per account), in order.

    Never raises :class:`RunStoppedError`: an account whose regions cannot be
    listed has it in ``stopped``.
    """
    found = [AccountRegions(shard) for shard in shards]
    running = anyio.CapacityLimiter(concurrency)
    loader = fast_data_loader(AioSession())

    async def one(account: AccountRegions) -> None:
        async with running:
            try:
                await _list(account, loader, call_timeout, max_attempts, max_rate)
            except RunStoppedError as exc:
                account.stopped = exc

    async with anyio.create_task_group() as tasks:
        for account in found:
            tasks.start_soon(one, account)
    return found


async def _list(
    account: AccountRegions,
    loader: Loader,
    call_timeout: float,
    max_attempts: int,
    max_rate: float | None,
) -> None:
    # Messages leave the account out: every report of the stop names it (stderr, summary).
    shard = account.shard
    try:
        session = AioSession(profile=shard.profile)
        session.register_component("data_loader", loader)
        home = _home_region(session)
        if shard.role_arn is not None:
            assume_role(session, shard.role_arn, home)
        partition = session.get_partition_for_region(home)
        served = await session.get_available_regions("sagemaker", partition)
        config = AioConfig(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=min(call_timeout, 10.0),
            read_timeout=call_timeout,
            user_agent_extra=f"sagefetch/{__version__}",
        )
        client_context = session.create_client("ec2", region_name=home, config=config)
    except RunStoppedError:
        raise
    except Exception as exc:
        # An unknown profile, a bad region: classify_error raises what it cannot sort.
        raise classify_error(exc).stop_error("DescribeRegions") from exc
    guard = CallGuard(
        limiter=AdaptiveRateLimiter(max_rate=max_rate),
        timeout=call_timeout,
        max_attempts=max_attempts,
        counts=account.counts,
    )
    try:
        async with client_context as ec2:
            answer: Any = await guard.call(
                lambda: ec2.describe_regions(AllRegions=True),
                name="regions",
                operation="DescribeRegions",
                context={"operation": "DescribeRegions"},
                counts=Counter(),
            )
    except AccessDeniedError as exc:
        reason = str(exc).partition("\nHINT: ")[0]
        raise AccessDeniedError(
            f"cannot list the regions the account has enabled: {reason}\n"
            "HINT: --regions all needs ec2:DescribeRegions in each account; or name the "
            "regions with --regions R1,R2.",
            code=exc.code,
        ) from None
    except CallFailedError as exc:
        error = exc.classified
        raise RunStoppedError(
            f"cannot list the regions the account has enabled: {error.code}: {error.message} "
            "(calling DescribeRegions)",
            code=error.code,
        ) from None
    enabled = {
        str(region.get("RegionName"))
        for region in answer.get("Regions") or []
        # Without AllRegions the answer holds enabled regions only, and may omit the status.
        if region.get("OptInStatus", "opt-in-not-required") in _ENABLED
    }
    account.regions = [region for region in served if region in enabled]
    account.not_enabled = [region for region in served if region not in enabled]


def _home_region(session: AioSession) -> str:
    region = session.get_config_variable("region")
    return region if isinstance(region, str) and region else _HOME


def region_shards(accounts: Sequence[AccountRegions]) -> list[Shard]:
    """A shard for each account in each of its regions, in order."""
    return [
        dataclasses.replace(account.shard, region=region)
        for account in accounts
        for region in account.regions
    ]
