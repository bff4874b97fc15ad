"""What a run reports: how a describe job or one audit shard went."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sagefetch._credentials import role_account
from sagefetch._exceptions import ConfigurationError

from ._exits import EXIT_FAILURES, EXIT_OK, EXIT_SHARDS_STOPPED, EXIT_STOPPED, EXIT_USAGE

if TYPE_CHECKING:
    from sagefetch._exceptions import RunStoppedError
    from sagefetch._outcomes import FetchStats

__all__ = ["JobReport", "Shard", "ShardReport", "audit_exit_code", "exit_code"]


@dataclass
class JobReport:
    """How a describe job went."""

    described: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    """Failed records by error code."""
    resumed: int = 0
    """ARNs skipped because the output already had them (``--resume``)."""
    skipped_lines: int = 0
    """Blank and comment lines."""
    elapsed: float = 0.0
    stats: FetchStats | None = None
    stopped: RunStoppedError | None = None
    """Why the run stopped early, if it did."""
    earlier_described: int = 0
    """Described records the output already held (``--resume``)."""
    earlier_failed: int = 0
    """Failed records the output already held (``--resume``)."""

    @property
    def failed(self) -> int:
        """Failed records written."""
        return sum(self.failures.values())


@dataclass(frozen=True, slots=True)
class Shard:
    """One account (a profile, an assumed role, or the default chain) in one region."""

    region: str | None
    profile: str | None = None
    role_arn: str | None = None
    account_id: str | None = None
    """The account, as an accounts file or the organization names it."""
    account_name: str | None = None
    """The account's name, when an accounts file or the organization gives it."""

    @property
    def account(self) -> str | None:
        """The account, when known before any call (named, or an assumed role's)."""
        if self.account_id is not None:
            return self.account_id
        return role_account(self.role_arn) if self.role_arn else None

    @property
    def credentials(self) -> str:
        """Whose credentials: the role's name, the profile's, or ``default``."""
        if self.role_arn:
            return self.role_arn.rsplit(":", 1)[-1]
        return self.profile or "default"

    @property
    def who(self) -> str:
        """How messages name the account: ``name (id)``, its id, else its credentials."""
        if self.account_id is not None and self.account_name:
            return f"{self.account_name} ({self.account_id})"
        return self.account_id or self.credentials

    @property
    def name(self) -> str:
        """How messages name the shard: the account, and the region."""
        return f"{self.who} in {self.region or 'the default region'}"


@dataclass(kw_only=True)
class ShardReport(JobReport):
    """How one shard's audit went."""

    shard: Shard
    account: str | None = None
    """The shard's account, as its ARNs (or its role) show it."""
    region: str | None = None
    """The shard's region, as its ARNs show it (or as asked for)."""
    filtered: int = 0
    """Described packages that did not match ``--where`` (not written)."""
    duplicates: int = 0
    """Packages another shard had already written (two profiles of one account)."""
    finished: bool = False
    """Whether the shard ran to its end (complete, or stopped by an error): not interrupted."""
    worker_retries: int = 0
    """Times the shard ran again because its worker died (``--engine ray``)."""


def exit_code(report: JobReport) -> int:
    """0 all described, 3 some failed, 4 stopped early, 2 stopped by a configuration error.

    The code speaks for the whole output: after ``--resume``, a failed record
    an earlier run wrote makes it 3 too.
    """
    if report.stopped is not None:
        return EXIT_USAGE if isinstance(report.stopped, ConfigurationError) else EXIT_STOPPED
    return EXIT_FAILURES if report.failed or report.earlier_failed else EXIT_OK


def audit_exit_code(reports: list[ShardReport], *, earlier_failed: int = 0) -> int:
    """0, 3, 2 or 4 as for one run when every shard agrees; 5 when only some stopped early.

    ``earlier_failed``: failed records the output already held (``--resume``),
    which make a complete audit 3.
    """
    stopped = [report for report in reports if report.stopped is not None]
    if stopped and len(stopped) < len(reports):
        return EXIT_SHARDS_STOPPED
    if stopped:
        return (
            EXIT_USAGE
            if all(isinstance(report.stopped, ConfigurationError) for report in stopped)
            else EXIT_STOPPED
        )
    failed = earlier_failed or any(report.failed for report in reports)
    return EXIT_FAILURES if failed else EXIT_OK
