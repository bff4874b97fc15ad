"""Discovery: the ARNs of an account's model packages, listed lazily.

    ListModelPackageGroups ─▶ groups (bounded) ─▶ N listers ─ListModelPackages─┐
    (or the chosen groups, checked with DescribeModelPackageGroup)              ├─▶ ARNs (bounded)
    ListModelPackages(ModelPackageType=Unversioned) ────────────────────────────┘

Every call goes through the fetcher's :class:`~sagefetch._calls.CallGuard`, so
listing and describing share the account's limiter and retry policy. The
streams are bounded: listing runs only as far ahead as the describing allows.

A group whose versions cannot be listed (after retries) comes out as a
:class:`~sagefetch.Failed` item keyed by the group's ARN (or its name as given),
so the shortfall is visible in the results instead of silently missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

import anyio

from ._calls import CallFailedError
from ._log import get_logger
from ._outcomes import Failed

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Sequence

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
    from types_aiobotocore_sagemaker.client import SageMakerClient

    from ._calls import CallGuard

__all__ = ["ApprovalStatus", "Discovery", "Item", "list_packages"]

ApprovalStatus = Literal["Approved", "Rejected", "PendingManualApproval"]
#: What discovery yields: a package ARN, or a group it could not list.
Item = str | Failed

#: The most items ListModelPackageGroups and ListModelPackages return per page.
PAGE_SIZE: Final = 100

_log = get_logger()


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovery:
    """Which packages to list: the groups, and the API's own filters.

    Args:
        groups: Names or ARNs of model package groups; ``None`` lists every group.
        approval_status: Keep only packages with this ``ModelApprovalStatus``.
        created_after: Keep only packages created after this time.
        created_before: Keep only packages created before this time.
        unversioned: With ``groups=None``, also list packages outside any group.
        concurrency: Groups listed at once; ``None``: as many as the fetcher's
            ``max_concurrency`` (with many small groups, listing is most of the calls).
    """

    groups: Sequence[str] | None = None
    approval_status: ApprovalStatus | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    unversioned: bool = True
    concurrency: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.groups, str):
            raise TypeError("groups must be a sequence of group names, not a single string")
        allowed = get_args(ApprovalStatus)
        if self.approval_status is not None and self.approval_status not in allowed:
            raise ValueError(
                f"approval_status must be one of {', '.join(allowed)}, got {self.approval_status!r}"
            )
        for name in ("created_after", "created_before"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, datetime):
                raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
        if (
            self.created_after is not None
            and self.created_before is not None
            and not self.created_after < self.created_before
        ):
            raise ValueError("created_after must be earlier than created_before")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency!r}")

    def filters(self) -> dict[str, Any]:
        """``ListModelPackages`` parameters of the filters in force."""
        params: dict[str, Any] = {}
        if self.approval_status is not None:
            params["ModelApprovalStatus"] = self.approval_status
        if self.created_after is not None:
            params["CreationTimeAfter"] = self.created_after
        if self.created_before is not None:
            params["CreationTimeBefore"] = self.created_before
        return params


@dataclass(frozen=True, slots=True)
class _Group:
    name: str
    """What ``ListModelPackages`` is given: the name, or the ARN as the caller gave it."""
    key: str
    """What a failure is recorded under: the group's ARN when known."""


async def list_packages(
    client: SageMakerClient,
    guard: CallGuard,
    discovery: Discovery,
    items: MemoryObjectSendStream[list[Item]],
    counts: Counter[str],
) -> None:
    """Send the ARNs ``discovery`` selects to ``items``, a page at a time.

    Raises:
        RunStoppedError: listing cannot go on (credentials, permissions, ...),
            or the groups themselves could not be listed.
    """
    lister = _Lister(client, guard, discovery, counts)
    concurrency = discovery.concurrency or 1  # the fetcher fills it in; 1 if called alone
    async with items, anyio.create_task_group() as tasks:
        groups_in, groups_out = anyio.create_memory_object_stream[_Group](concurrency)
        async with groups_out:
            for _ in range(concurrency):
                tasks.start_soon(lister.versions_of, groups_out.clone(), items.clone())
        if discovery.groups is None and discovery.unversioned:
            tasks.start_soon(lister.unversioned, items.clone())
        await lister.groups(groups_in, items.clone())


class _Lister:
    def __init__(
        self,
        client: SageMakerClient,
        guard: CallGuard,
        discovery: Discovery,
        counts: Counter[str],
    ) -> None:
        self._client = client
        self._guard = guard
        self._discovery = discovery
        self._counts = counts

    async def groups(
        self, groups: MemoryObjectSendStream[_Group], items: MemoryObjectSendStream[list[Item]]
    ) -> None:
        """Send every group to list: the chosen ones that exist, or all of them."""
        async with groups, items:
            chosen = self._discovery.groups
            if chosen is not None:
                for name in dict.fromkeys(chosen):
                    group = await self._check(name, items)
                    if group is not None:
                        await groups.send(group)
                return
            token: str | None = None
            while True:
                params: dict[str, Any] = {"MaxResults": PAGE_SIZE}
                if token:
                    params["NextToken"] = token
                try:
                    page = await self._call(
                        lambda params=params: self._client.list_model_package_groups(**params),
                        "ListModelPackageGroups",
                    )
                except CallFailedError as exc:
                    raise exc.classified.stop_error("ListModelPackageGroups") from None
                for summary in page.get("ModelPackageGroupSummaryList") or []:
                    name = summary["ModelPackageGroupName"]
                    await groups.send(_Group(name, summary.get("ModelPackageGroupArn") or name))
                token = page.get("NextToken")
                if not token:
                    return

    async def _check(self, name: str, items: MemoryObjectSendStream[list[Item]]) -> _Group | None:
        """The chosen group ``name`` if it exists; a ``Failed`` item if not."""
        try:
            found = await self._call(
                lambda: self._client.describe_model_package_group(ModelPackageGroupName=name),
                "DescribeModelPackageGroup",
                group=name,
            )
        except CallFailedError as exc:
            await items.send([self._failed(name, exc)])
            return None
        return _Group(name, found.get("ModelPackageGroupArn") or name)

    async def versions_of(
        self, groups: MemoryObjectReceiveStream[_Group], items: MemoryObjectSendStream[list[Item]]
    ) -> None:
        """List the versions of each group received."""
        async with groups, items:
            async for group in groups:
                try:
                    await self._pages(items, group=group.name, ModelPackageGroupName=group.name)
                except CallFailedError as exc:
                    await items.send([self._failed(group.key, exc)])

    async def unversioned(self, items: MemoryObjectSendStream[list[Item]]) -> None:
        """List the packages that belong to no group."""
        async with items:
            try:
                await self._pages(items, group=None, ModelPackageType="Unversioned")
            except CallFailedError as exc:
                raise exc.classified.stop_error("ListModelPackages") from None

    async def _pages(
        self, items: MemoryObjectSendStream[list[Item]], *, group: str | None, **selector: str
    ) -> None:
        """Send the ARNs of every page of one ``ListModelPackages`` listing."""
        token: str | None = None
        while True:
            params: dict[str, Any] = {**selector, **self._discovery.filters()}
            params["MaxResults"] = PAGE_SIZE
            if token:
                params["NextToken"] = token
            page = await self._call(
                lambda params=params: self._client.list_model_packages(**params),
                "ListModelPackages",
                group=group,
            )
            arns: list[Item] = [
                summary["ModelPackageArn"] for summary in page.get("ModelPackageSummaryList") or []
            ]
            self._guard.bump(self._counts, "listed", len(arns))
            if arns:
                await items.send(arns)
            token = page.get("NextToken")
            if not token:
                return

    async def _call(self, call: Any, operation: str, **context: Any) -> Any:
        return await self._guard.call(
            call,
            name="list",
            operation=operation,
            context={"operation": operation, **context},
            counts=self._counts,
            on_attempt=lambda: self._guard.bump(self._counts, "list_calls"),
        )

    def _failed(self, key: str, exc: CallFailedError) -> Failed:
        error = exc.classified
        _log.warning("sagefetch.group_failed", group=key, code=error.code)
        return Failed(
            key,
            error.code,
            f"could not list (all) the model packages of this group: {error.message}",
            0,
        )
