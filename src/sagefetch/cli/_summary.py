"""``--summary-json PATH``: how a run went, as one JSON document, replaced atomically.

::

    {"summary_version": 1, "command": "audit", "sagefetch_version": "...",
     "exit_code": 5, "result": "shards_stopped", "error": null,
     "started_at": "...+00:00", "finished_at": "...+00:00", "elapsed": 42.1,
     "output": "audit.jsonl", "format": "jsonl", "engine": "local",
     "totals": {"described": ..., "failed": ..., "failures": {"CODE": n}, ...},
     "shards": [{"account": ..., "account_name": ..., "region": ..., "result": ...,
                 "worker_retries": 0,
                 "stopped": {"error": ..., "code": ..., "message": ..., "hint": ...}}]}

The document is written once, when the run ends, however it ends: complete,
stopped by an error, or interrupted (Ctrl-C, SIGTERM), with whatever the run
had counted by then. A command refused before it started (exit 2) writes one
too, with its ``error``, so a script never reads an earlier run's summary as
this one's. It goes to a temporary file in PATH's directory, then replaces
PATH in one rename: a reader sees the old document or the new one, never half
of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from sagefetch._redact import mask_text

from ._exits import (
    EXIT_FAILURES,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SHARDS_STOPPED,
    EXIT_STOPPED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    UsageError,
)
from ._records import files_read

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from ._organization import Organization
    from ._records import ReadFile, Recorded
    from ._regions import AccountRegions
    from ._reports import JobReport, ShardReport

__all__ = [
    "SUMMARY_VERSION",
    "RunSummary",
    "audit_figures",
    "job_figures",
    "organization_figures",
    "regions_figures",
]

#: Bumped when a field changes meaning or goes away (new fields do not bump it).
SUMMARY_VERSION: Final = 1

#: ``result`` of the whole run, by exit code.
_RESULTS: Final = {
    EXIT_OK: "complete",
    EXIT_USAGE: "usage_error",
    EXIT_FAILURES: "failures",
    EXIT_STOPPED: "stopped",
    EXIT_SHARDS_STOPPED: "shards_stopped",
    EXIT_INTERRUPTED: "interrupted",
    EXIT_TERMINATED: "terminated",
}

#: Where a stop message's hint starts (sagefetch's own words).
_HINT: Final = "\nHINT: "

Figures = dict[str, Any]


class RunSummary:
    """The summary of one run: told where the run's figures are, written when it ends.

    ``path`` None (no ``--summary-json``): it writes nothing.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        command: str,
        output: Path | None = None,
        fmt: str | None = None,
    ) -> None:
        self.path = path
        self._command = command
        self._output = output
        self._format = fmt
        self._started_at = datetime.now(UTC)
        self._started = time.monotonic()
        self._figures: list[Callable[[], Figures]] = []

    @classmethod
    def for_args(cls, args: argparse.Namespace) -> RunSummary:
        """The summary ``args`` ask for (``--summary-json``), checked.

        Raises:
            UsageError: PATH cannot be written, or is a file the run reads or writes.
        """
        path: Path | None = getattr(args, "summary_json", None)
        summary = cls(
            path,
            command=args.command,
            output=getattr(args, "output", None),
            fmt=getattr(args, "format", None),
        )
        if path is not None:
            reads = files_read(getattr(args, "arn_file", None))
            accounts_file = getattr(args, "accounts_file", None)
            if accounts_file is not None:
                reads += files_read(str(accounts_file))
            _check_path(path, output=summary._output, reads=reads)
        return summary

    def follow(self, figures: Callable[[], Figures]) -> None:
        """Take the run's figures from ``figures`` when the run ends (its fields are merged)."""
        self._figures.append(figures)

    def finish(self, exit_code: int, *, error: str | None = None) -> int:
        """Write the summary of a run that ended with ``exit_code``; returns the exit code.

        ``error``: why the command was refused (exit 2). When the summary cannot
        be written, a message says so on stderr and a run that was otherwise
        fine (0 or 3) exits 4: an output it was asked for is missing.
        """
        if self.path is None:
            return exit_code
        try:
            _replace(self.path, self.document(exit_code, error=error))
        except OSError as exc:
            print(
                f"sagefetch {self._command}: cannot write the summary {self.path}: "
                f"{exc.strerror or exc}",
                file=sys.stderr,
            )
            return EXIT_STOPPED if exit_code in (EXIT_OK, EXIT_FAILURES) else exit_code
        return exit_code

    def document(self, exit_code: int, *, error: str | None = None) -> bytes:
        """The summary as JSON, for a run that ended with ``exit_code``."""
        fields: Figures = {
            "summary_version": SUMMARY_VERSION,
            "command": self._command,
            "sagefetch_version": _version(),
            "exit_code": exit_code,
            "result": _RESULTS.get(exit_code, "unknown"),
            "error": mask_text(error) if error is not None else None,
            "started_at": self._started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "elapsed": round(time.monotonic() - self._started, 3),
            "output": None if self._output is None else str(self._output),
            "format": self._format,
        }
        for figures in self._figures:
            fields.update(figures())
        # ensure_ascii: a lone surrogate from a service message stays an escape, valid JSON.
        return (json.dumps(fields, indent=2, ensure_ascii=True) + "\n").encode()


def job_figures(report: JobReport) -> Figures:
    """The totals of a describe job (its counts so far, if it was interrupted)."""
    stats = report.stats
    return {
        "totals": {
            "described": report.described,
            "failed": report.failed,
            "failures": dict(sorted(report.failures.items())),
            "resumed": report.resumed,
            "skipped_lines": report.skipped_lines,
            "duplicates": stats.duplicates if stats else 0,
            "calls": stats.calls if stats else 0,
            "throttled": stats.throttled if stats else 0,
            "retries": stats.retries if stats else 0,
            "earlier_described": report.earlier_described,
            "earlier_failed": report.earlier_failed,
            "elapsed": round(report.elapsed, 3),
        },
        "stopped": stopped_fields(report.stopped),
    }


def audit_figures(
    reports: Sequence[ShardReport], *, earlier: Recorded | None, engine: str = "local"
) -> Figures:
    """The totals and the shards of an audit (as far as each shard got), and its engine."""
    shards = [_shard_fields(report) for report in reports]
    totals: Figures = {"shards": len(shards)}
    for name in ("described", "failed", "filtered", "resumed", "duplicates"):
        totals[name] = sum(shard[name] for shard in shards)
    failures: dict[str, int] = {}
    for shard in shards:
        for code, count in shard["failures"].items():
            failures[code] = failures.get(code, 0) + count
    totals["failures"] = dict(sorted(failures.items()))
    for name in ("calls", "throttled", "retries"):
        totals[name] = sum(shard[name] for shard in shards)
    for result in ("complete", "failures", "stopped", "interrupted"):
        totals[f"shards_{result}"] = sum(shard["result"] == result for shard in shards)
    totals["earlier_described"] = earlier.described if earlier else 0
    totals["earlier_failed"] = earlier.failed if earlier else 0
    totals["worker_retries"] = sum(shard["worker_retries"] for shard in shards)
    return {"engine": engine, "totals": totals, "shards": shards}


def organization_figures(organization: Organization) -> Figures:
    """What ``--org`` listed: the calling account, the accounts by state, the calls it took."""
    counts = organization.counts
    return {
        "organization": {
            "caller": organization.caller,
            "partition": organization.partition,
            "member_role": organization.member_role,
            "ous": list(organization.ous),
            "accounts_listed": organization.listed,
            "accounts_inactive": organization.inactive,
            "accounts_audited": organization.selected,
            "not_found": organization.not_found,
            "calls": counts["calls"],
            "throttled": counts["throttled"],
            "retries": counts["retries"],
            "stopped": stopped_fields(organization.stopped),
        }
    }


def regions_figures(accounts: Sequence[AccountRegions]) -> Figures:
    """What ``--regions all`` found: each account's enabled regions, and those skipped."""
    return {
        "regions": {
            "requested": "all",
            "not_enabled": sum(len(account.not_enabled) for account in accounts),
            "accounts": [
                {
                    "account": account.shard.account,
                    "account_name": account.shard.account_name,
                    "credentials": account.shard.credentials,
                    "enabled": account.regions,
                    "not_enabled": account.not_enabled,
                    "calls": account.counts["calls"],
                    "stopped": stopped_fields(account.stopped),
                }
                for account in accounts
            ],
        }
    }


def _shard_fields(report: ShardReport) -> Figures:
    shard, stats = report.shard, report.stats
    if report.stopped is not None:
        result = "stopped"
    elif not report.finished:
        result = "interrupted"
    else:
        result = "failures" if report.failed else "complete"
    return {
        "account": report.account,
        "account_name": shard.account_name,
        "region": report.region,
        "credentials": shard.credentials,
        "profile": shard.profile,
        "role_arn": shard.role_arn,
        "result": result,
        "described": report.described,
        "failed": report.failed,
        "failures": dict(sorted(report.failures.items())),
        "filtered": report.filtered,
        "resumed": report.resumed,
        "duplicates": report.duplicates,
        "calls": stats.calls if stats else 0,
        "throttled": stats.throttled if stats else 0,
        "retries": stats.retries if stats else 0,
        "elapsed": round(report.elapsed, 3),
        "worker_retries": report.worker_retries,
        "stopped": stopped_fields(report.stopped),
    }


def stopped_fields(error: BaseException | None) -> Figures | None:
    """Why a run or shard stopped: the error's class, its code, message and hint (masked)."""
    if error is None:
        return None
    message, hint, advice = mask_text(str(error)).rpartition(_HINT)
    if not hint:
        message, advice = advice, ""
    return {
        "error": type(error).__name__,
        "code": getattr(error, "code", None),
        "message": message,
        "hint": advice or None,
    }


def _version() -> str:
    from sagefetch import __version__  # noqa: PLC0415 - lazy in sagefetch/__init__.py

    return __version__


def _check_path(path: Path, *, output: Path | None, reads: Sequence[ReadFile]) -> None:
    """Refuse a summary path that cannot be written, or that names a file the run uses.

    Replacing the records (``-o``, or stdout redirected to a file), standard
    error's file or a file the run reads would lose it: the rename puts a new
    file in its place.
    """
    name = f"--summary-json {path}"
    directory = path.parent
    if not directory.is_dir():
        raise UsageError(f"{name}: no directory {directory}\nHINT: create it first.")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{name}: cannot create files in {directory} (permission denied)")
    try:
        existing = path.stat()
    except OSError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise UsageError(f"{name} is a directory\nHINT: name the file, e.g. {path}/summary.json")
    if output is not None and (
        path.resolve() == output.resolve()
        or (existing is not None and _same(existing, _stat(output)))
    ):
        raise UsageError(
            f"{name} is also --output; the summary would replace the records\n"
            "HINT: name another file, e.g. --summary-json summary.json."
        )
    if existing is None:
        return
    for fd, what in ((1, "standard output (the records)"), (2, "standard error")):
        with contextlib.suppress(OSError):
            if stat.S_ISREG((status := os.fstat(fd)).st_mode) and _same(existing, status):
                raise UsageError(f"{name} is where {what} goes; the summary would replace it")
    for read in reads:
        if (existing.st_dev, existing.st_ino) == (read.device, read.inode):
            raise UsageError(f"{name} is {read.what}; the summary would replace it")


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _same(one: os.stat_result, other: os.stat_result | None) -> bool:
    return other is not None and (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino)


def _replace(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` in one rename, from a temporary file beside it.

    Raises:
        OSError: it could not be written; ``path`` is as it was.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
