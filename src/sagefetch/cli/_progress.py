"""What a person watching a long run sees on stderr: a progress bar and a summary.

Text that did not come from sagefetch's own code (error codes and messages
from the service, account and region names, profile names) is shown as it is:
never read as rich markup or emoji codes, and with every character a terminal
would act on (ESC of ANSI and OSC sequences, bidirectional overrides) written
as an escape. See :func:`printable` and :func:`plain`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final, Self

from rich import box
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from sagefetch._redact import mask_text

from ._text import printable

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from rich.console import Console

    from sagefetch._outcomes import FetchStats

    from ._records import Recorded
    from ._reports import JobReport, ShardReport

__all__ = [
    "JobProgress",
    "plain",
    "print_shards",
    "print_summary",
    "shows_progress",
    "stop_message",
]

_REFRESH: float = 0.2

#: Where a stop message's hint starts: sagefetch's own words, on a line of their own.
_HINT: Final = "\nHINT: "


def plain(text: object, style: str = "") -> Text:
    """``text`` for a rich table or ``console.print``: no markup, no emoji codes, printable."""
    return Text(printable(text), style=style)


def stop_message(error: BaseException) -> str:
    """Why a run stopped, for stderr: masked, printable, and its hint (if any) on its own line.

    The message may quote the service (a code, a message with line breaks or
    escape sequences): everything before the hint is one printable line.
    """
    reason, hint, advice = mask_text(str(error)).rpartition(_HINT)
    if not hint:
        return printable(advice)
    return printable(reason) + _HINT + printable(advice)


def _reason(error: BaseException) -> str:
    """Why a run stopped, without the hint: one printable line."""
    return stop_message(error).split("\n", 1)[0]


def shows_progress(choice: bool | None, console: Console) -> bool:
    """Whether a run shows its bar: ``--progress``/``--no-progress``, else on a terminal."""
    shown = choice if choice is not None else console.is_terminal
    return shown and not console.quiet


class JobProgress:
    """A rich progress bar on stderr, or nothing when it is off."""

    def __init__(
        self, *, enabled: bool, total: int | None, console: Console, label: str = "describe"
    ) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._total = total
        self._last = 0.0
        self._started = time.monotonic()
        if enabled:
            self._progress = Progress(
                TextColumn(f"[bold]{label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[calls]:.1f} calls/s, limit {task.fields[rate]:.1f}"),
                TextColumn("throttled {task.fields[throttled]}, failed {task.fields[failed]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )

    def __enter__(self) -> Self:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(
                "describe", total=self._total, calls=0.0, rate=0.0, throttled=0, failed=0
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def due(self) -> bool:
        """Whether the bar is on and due a redraw (at most five a second)."""
        return self._progress is not None and time.monotonic() - self._last >= _REFRESH

    def update(self, done: int, report: JobReport, stats: FetchStats) -> None:
        """Show ``done`` lines accounted for, and the run's figures."""
        if self._progress is None or self._task is None:
            return
        now = time.monotonic()
        self._last = now
        elapsed = max(now - self._started, 1e-9)
        self._progress.update(
            self._task,
            completed=done,
            calls=stats.calls / elapsed,
            rate=stats.rate,
            throttled=stats.throttled,
            failed=report.failed,
        )


def print_summary(
    console: Console, report: JobReport, *, title: str = "sagefetch describe"
) -> None:
    """The end-of-run table: outcomes, failures by code, calls, speed."""
    stats = report.stats
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("described", f"{report.described:,}")
    table.add_row("failed", f"{report.failed:,}")
    for code, count in sorted(report.failures.items()):
        table.add_row(plain(f"  {code}"), f"{count:,}")
    if stats is not None:
        table.add_row("duplicates skipped", f"{stats.duplicates:,}")
    if report.resumed:
        table.add_row("already in output (--resume)", f"{report.resumed:,}")
    if report.earlier_described or report.earlier_failed:
        table.add_row("described in earlier runs", f"{report.earlier_described:,}")
        table.add_row("failed in earlier runs", f"{report.earlier_failed:,}")
    if stats is not None:
        table.add_row("calls", f"{stats.calls:,}")
        table.add_row("throttled", f"{stats.throttled:,}")
        table.add_row("retries", f"{stats.retries:,}")
    table.add_row("elapsed", f"{report.elapsed:.1f} s")
    arns = report.described + report.failed
    table.add_row("ARNs/s", f"{arns / report.elapsed:,.1f}" if report.elapsed > 0 else "-")
    if report.stopped:
        table.add_row(plain("stopped early", "red"), plain(_reason(report.stopped), "red"))
    console.print(table)


def print_shards(
    console: Console,
    reports: Sequence[ShardReport],
    elapsed: float,
    *,
    filtering: bool,
    resuming: bool,
    earlier: Recorded | None = None,
) -> None:
    """The end-of-audit table: one row per shard, and the total.

    ``filtering`` shows the packages ``--where`` left out; ``resuming`` those
    already in the output, and ``earlier`` what the output held before.
    """
    table = Table(
        title="sagefetch audit",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    counts = [
        *(["resumed"] if resuming else []),
        "written",
        *(["filtered"] if filtering else []),
        "failed",
        "calls",
        "throttled",
    ]
    named = any(report.shard.account_name for report in reports)
    table.add_column("credentials", overflow="fold")
    table.add_column("account", min_width=12, no_wrap=True)
    if named:  # an accounts file or the organization names them
        table.add_column("name", overflow="fold")
    table.add_column("region", no_wrap=True)
    for name in counts:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    totals = dict.fromkeys(counts, 0)
    for report in reports:
        stats = report.stats
        figures = {
            "resumed": report.resumed,
            "written": report.described,
            "filtered": report.filtered,
            "failed": report.failed,
            "calls": stats.calls if stats else 0,
            "throttled": stats.throttled if stats else 0,
        }
        for name in counts:
            totals[name] += figures[name]
        table.add_row(
            plain(report.shard.credentials),
            plain(report.account or "-"),
            *([plain(report.shard.account_name or "-")] if named else []),
            plain(report.region or "-"),
            *(f"{figures[name]:,}" for name in counts),
            _result(report),
        )
    stopped = sum(report.stopped is not None for report in reports)
    table.add_section()
    table.add_row(
        f"{len(reports)} shards" if len(reports) != 1 else "1 shard",
        "",
        *([""] if named else []),
        f"{elapsed:.1f} s",
        *(f"{totals[name]:,}" for name in counts),
        f"[red]{stopped} stop" if stopped else "",
    )
    console.print(table)
    if earlier is not None:
        console.print(
            f"Earlier runs: {earlier.described:,} described and {earlier.failed:,} failed "
            "records already in the output.",
            highlight=False,
        )


def _result(report: JobReport) -> str:
    if report.stopped is not None:
        return "[red]stopped"
    return "[yellow]failures" if report.failed else "[green]complete"
