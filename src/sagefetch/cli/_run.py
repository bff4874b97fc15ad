"""Running a command: logging, the console, signals and the exit code."""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, Any

import anyio
from rich.console import Console

from ._exits import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Terminated,
    UsageError,
    exit_code_of_signal,
)
from ._logging import configure_logging
from ._summary import RunSummary

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Coroutine

    Command = Callable[[argparse.Namespace, Console, RunSummary], Coroutine[Any, Any, int]]


__all__ = ["run_command"]


def run_command(args: argparse.Namespace) -> int:
    """Run the command ``args`` name; usage errors exit 2 with one message.

    The run's summary (``--summary-json``) is written last, with the exit code.
    """
    configure_logging(args)
    stderr = Console(stderr=True, quiet=args.quiet)
    summary: RunSummary | None = None
    try:
        summary = RunSummary.for_args(args)
        return summary.finish(_run(_command(args.command), args, stderr, summary))
    except UsageError as exc:
        print(f"sagefetch {args.command}: {exc}", file=sys.stderr)
        return summary.finish(EXIT_USAGE, error=str(exc)) if summary else EXIT_USAGE
    except (KeyboardInterrupt, Terminated) as stopped:  # before the event loop took the signals
        code = exit_code_of_signal(stopped)
        return summary.finish(code) if summary else code


def _command(name: str) -> Command:
    # Each command's module loads only when that command runs.
    if name == "describe":
        from ._describe import describe  # noqa: PLC0415

        return describe
    if name == "audit":
        from ._audit import audit  # noqa: PLC0415

        return audit
    from ._demo import demo  # noqa: PLC0415

    return lambda args, stderr, _summary: demo(args, stderr)


def _run(command: Command, args: argparse.Namespace, stderr: Console, summary: RunSummary) -> int:
    """Run a command's coroutine; SIGINT/SIGTERM cancel it and pick the exit code."""
    received: list[int] = []
    usage: list[UsageError] = []

    async def guarded() -> int:
        async with anyio.create_task_group() as group:
            code: list[int] = []

            async def watch_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        received.append(signum)
                        group.cancel_scope.cancel()
                        return

            async def work() -> None:
                try:
                    code.append(await command(args, stderr, summary))
                except UsageError as exc:
                    usage.append(exc)
                group.cancel_scope.cancel()

            group.start_soon(watch_signals)
            group.start_soon(work)
        if usage:
            raise usage[0]
        if received:
            stderr.print("[yellow]interrupted: the output holds every record written so far")
            return EXIT_TERMINATED if received[0] == signal.SIGTERM else EXIT_INTERRUPTED
        return code[0]

    return anyio.run(guarded)
