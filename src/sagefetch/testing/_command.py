"""``sagefetch local-server`` / ``python -m sagefetch.testing``: a local SageMaker until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, TextIO

from ._faults import Faults
from ._server import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, LocalSageMaker

if TYPE_CHECKING:
    import argparse
    from types import FrameType

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the local server's options to ``parser``."""
    parser.add_argument(
        "--backend",
        choices=("moto", "synthetic"),
        default="moto",
        help="moto's SageMaker, or the fast synthetic catalogue (default: %(default)s)",
    )
    parser.add_argument(
        "--host",
        metavar="HOST",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--port",
        metavar="N",
        type=int,
        default=0,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--region",
        metavar="R",
        default=DEFAULT_REGION,
        help="region in the ARNs it serves (default: %(default)s)",
    )
    parser.add_argument(
        "--account-id",
        metavar="ID",
        default=DEFAULT_ACCOUNT_ID,
        help="account in the ARNs it serves (default: %(default)s)",
    )
    seeding = parser.add_argument_group("seeding")
    seeding.add_argument(
        "--groups",
        metavar="G",
        type=int,
        default=10,
        help="model package groups to create (default: %(default)s)",
    )
    seeding.add_argument(
        "--versions",
        metavar="V",
        type=int,
        default=30,
        help="versions in each group (default: %(default)s)",
    )
    faults = parser.add_argument_group("faults")
    faults.add_argument(
        "--rate",
        metavar="CALLS_PER_S",
        type=float,
        default=None,
        help="calls/s the server allows (default: no limit)",
    )
    faults.add_argument(
        "--burst",
        metavar="N",
        type=int,
        default=1,
        help="token bucket capacity, in calls (default: %(default)s)",
    )
    faults.add_argument(
        "--latency",
        metavar="S",
        type=float,
        default=0.0,
        help="seconds added to every answer (default: %(default)s)",
    )
    faults.add_argument(
        "--jitter",
        metavar="S",
        type=float,
        default=0.0,
        help="up to this many more seconds (default: %(default)s)",
    )
    faults.add_argument(
        "--internal-error",
        metavar="P",
        type=float,
        default=0.0,
        help="probability of HTTP 500 (default: %(default)s)",
    )
    faults.add_argument(
        "--unavailable",
        metavar="P",
        type=float,
        default=0.0,
        help="probability of HTTP 503 (default: %(default)s)",
    )
    faults.add_argument(
        "--drop",
        metavar="P",
        type=float,
        default=0.0,
        help="probability of a dropped connection (default: %(default)s)",
    )
    faults.add_argument(
        "--omit",
        metavar="P",
        type=float,
        default=0.0,
        help="probability that an answer leaves some ARNs out (default: %(default)s)",
    )
    faults.add_argument(
        "--stall",
        metavar="P",
        type=float,
        default=0.0,
        help="probability of stalling (default: %(default)s)",
    )
    faults.add_argument(
        "--stall-seconds",
        metavar="S",
        type=float,
        default=30.0,
        help="seconds a stall lasts (default: %(default)s)",
    )
    faults.add_argument(
        "--reject-with",
        default=None,
        metavar="CODE",
        help="answer every call with this error, e.g. ExpiredTokenException (default: none)",
    )
    faults.add_argument(
        "--seed",
        metavar="N",
        type=int,
        default=None,
        help="seed for the fault draws (default: random)",
    )


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Start the server, print how to reach it, and serve until SIGINT or SIGTERM."""
    try:
        faults = Faults(
            rate=args.rate,
            burst=args.burst,
            latency=args.latency,
            jitter=args.jitter,
            internal_error=args.internal_error,
            unavailable=args.unavailable,
            drop=args.drop,
            omit=args.omit,
            stall=args.stall,
            stall_seconds=args.stall_seconds,
            reject_with=args.reject_with,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"sagefetch local-server: {exc}", file=sys.stderr)
        return 2
    try:
        sagemaker = LocalSageMaker(
            backend=args.backend,
            region=args.region,
            account_id=args.account_id,
            faults=faults,
            host=args.host,
            port=args.port,
        )
    except ImportError as exc:
        print(f"sagefetch local-server: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> Any:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with sagemaker:
            arns = sagemaker.seed(groups=args.groups, versions=args.versions)
            print(
                f"Local SageMaker ({args.backend}) listening on {sagemaker.endpoint_url}", file=out
            )
            print(
                f"Seeded {args.groups} groups x {args.versions} versions = {len(arns)} packages"
                + (f", e.g. {arns[0]}" if arns else ""),
                file=out,
            )
            print("Point AWS SDKs and sagefetch at it with:", file=out)
            for name, value in sagemaker.environment().items():
                print(f"  export {name}={value}", file=out)
            print("Press Ctrl-C to stop.", file=out, flush=True)
            stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Stopped.", file=out, flush=True)
    return 0
