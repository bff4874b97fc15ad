"""``sagefetch demo``: the main job on an embedded local SageMaker, checked.

Starts the local SageMaker with a server-side rate limit and some faults,
seeds a registry, writes an ARN file (with unknown, malformed and duplicate
ARNs and a comment), describes it through the same code path as
``sagefetch describe``, and checks every outcome against what was planted:
each package described once, each unknown ARN failed as not found, each
malformed ARN failed as invalid, nothing else and nothing twice.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from sagefetch._fetcher import ModelPackageFetcher
from sagefetch._outcomes import INVALID_ARN, Described, Failed

from ._describe import describe_into
from ._exits import EXIT_FAILURES, EXIT_OK, UsageError
from ._parser import fetcher_settings
from ._progress import plain, print_summary, shows_progress
from ._records import files_read, open_output, writer_for
from ._reports import exit_code
from ._text import printable

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from sagefetch._outcomes import Outcome
    from sagefetch.testing import LocalSageMaker

    from ._records import Origin, RecordWriter

__all__ = ["Plan", "demo"]

#: The error code the service gives a well-formed ARN of a package that does not exist.
NOT_FOUND = "ResourceNotFound"


@dataclass(frozen=True, slots=True)
class Plan:
    """The demo's input and the outcome each ARN must end in."""

    lines: list[str]
    described: frozenset[str]
    not_found: frozenset[str]
    malformed: frozenset[str]

    def check(self, written: Counter[tuple[str, str]]) -> list[str]:
        """What went otherwise than planned, given how often each (ARN, outcome) was written."""
        expected = {
            **dict.fromkeys(self.described, "described"),
            **dict.fromkeys(self.not_found, f"failed {NOT_FOUND}"),
            **dict.fromkeys(self.malformed, f"failed {INVALID_ARN}"),
        }
        by_arn: dict[str, list[str]] = {}
        for (arn, outcome), count in written.items():
            by_arn.setdefault(arn, []).extend([outcome] * count)
        problems: Counter[str] = Counter()
        examples: dict[str, str] = {}

        def note(kind: str, arn: str) -> None:
            problems[kind] += 1
            examples.setdefault(kind, arn)

        for arn, want in expected.items():
            got = by_arn.get(arn, [])
            if not got:
                note("lost (no record)", arn)
            elif len(got) > 1:
                note("written more than once", arn)
            elif got[0] != want:
                note(f"expected {want}, got {got[0]}", arn)
        for arn in by_arn.keys() - expected.keys():
            note("not in the input", arn)
        return [
            f"{count:,} ARN{'s' if count != 1 else ''} {kind}, e.g. {examples[kind]}"
            for kind, count in sorted(problems.items())
        ]


def plan(arns: list[str], sagemaker: LocalSageMaker, args: argparse.Namespace) -> Plan:
    """The ARN file: the seeded packages, planted unknown and malformed ARNs, repeats, a comment."""
    rng = random.Random(7)
    catalogue = sagemaker.catalogue
    unknown = [
        catalogue.arn(rng.randrange(max(catalogue.groups, 1)), args.versions + 1 + i)
        for i in range(args.unknown)
    ]
    malformed = [
        f"arn:aws:sagemaker:{sagemaker.region}:{sagemaker.account_id}:model-package-group/g{i}"
        for i in range(args.malformed)
    ]
    lines = arns + unknown + malformed + rng.sample(arns, min(len(arns) // 20, len(arns)))
    rng.shuffle(lines)
    return Plan(
        lines=["# sagefetch demo input: one ARN per line", *lines],
        described=frozenset(arns),
        not_found=frozenset(unknown),
        malformed=frozenset(malformed),
    )


@dataclass
class _Tally:
    """A record writer that also counts what it wrote, for the check."""

    writer: RecordWriter
    written: Counter[tuple[str, str]] = field(default_factory=Counter)

    def header(self) -> None:
        self.writer.header()

    def close(self) -> None:
        self.writer.close()

    def write(self, outcome: Outcome, origin: Origin | None = None) -> None:
        self.writer.write(outcome, origin)
        if isinstance(outcome, Described):
            self.written[outcome.arn, "described"] += 1
        elif isinstance(outcome, Failed):
            self.written[outcome.arn, f"failed {outcome.code}"] += 1


async def demo(args: argparse.Namespace, stderr: Console) -> int:
    """Run the demo; 0 when every outcome is the planted one, 3 otherwise (4: stopped)."""
    try:
        from sagefetch.testing import Faults, LocalSageMaker  # noqa: PLC0415 - optional extra

        faults = Faults(
            rate=args.rate, burst=args.burst, latency=args.latency, jitter=args.jitter,
            internal_error=args.internal_error, drop=args.drop, omit=args.omit, seed=1,
        )  # fmt: skip
        local = LocalSageMaker(backend=args.backend, faults=faults)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    with ExitStack() as files:
        out, _ = open_output(
            args.output, args.format, resume=False, reads=files_read(), files=files
        )
        workdir = Path(files.enter_context(tempfile.TemporaryDirectory(prefix="sagefetch-demo-")))
        tally = _Tally(writer_for(args.format, out))
        async with local as sagemaker:
            arns = sagemaker.seed(groups=args.groups, versions=args.versions)
            planned = plan(arns, sagemaker, args)
            input_path = workdir / "arns.txt"
            input_path.write_text("\n".join(planned.lines) + "\n")
            stderr.print(  # no markup: the output's name is the user's
                f"Local SageMaker ({args.backend}) at {sagemaker.endpoint_url}: "
                f"{len(arns):,} packages in {args.groups} groups; server limit "
                f"{args.rate:g} calls/s (burst {args.burst}), faults: "
                f"{args.internal_error:.0%} HTTP 500, {args.drop:.0%} dropped, "
                f"{args.omit:.0%} omitting\nDescribing {len(planned.lines) - 1:,} input lines "
                f"({len(planned.not_found)} unknown and {len(planned.malformed)} malformed "
                f"ARNs planted) into {printable(args.output or 'stdout')}",
                markup=False,
                emoji=False,
            )
            config = AioConfig(
                retries={"mode": "standard", "total_max_attempts": 1},
                max_pool_connections=max(args.concurrency, 10),
                read_timeout=args.timeout,
            )
            async with get_session().create_client(
                "sagemaker",
                config=config,
                endpoint_url=sagemaker.endpoint_url,
                region_name=sagemaker.region,
                aws_access_key_id=sagemaker.credentials.access_key_id,
                aws_secret_access_key=sagemaker.credentials.secret_access_key,
            ) as client:
                fetcher = ModelPackageFetcher(client, **fetcher_settings(args))
                with input_path.open("rb") as source:
                    report = await describe_into(
                        fetcher, source, tally, set(), header=True,
                        total=len(planned.lines), progress=shows_progress(args.progress, stderr),
                        stderr=stderr,
                    )  # fmt: skip
            counters = sagemaker.counters
    print_summary(stderr, report, title="sagefetch demo")
    stats = report.stats
    if stats is not None and report.elapsed > 0:
        achieved = stats.calls / report.elapsed
        share = stats.throttled / stats.calls if stats.calls else 0.0
        stderr.print(
            f"Against the server's limit of {args.rate:g} calls/s: {achieved:.1f} calls/s "
            f"achieved ({achieved / args.rate:.0%} of the limit), {share:.1%} of calls throttled; "
            f"the server saw {counters.internal_errors} HTTP 500, {counters.dropped} dropped "
            f"connections and {counters.omitted_arns} omitted ARNs, all retried."
        )
    if report.stopped is not None:
        return exit_code(report)
    problems = planned.check(tally.written)
    if problems:
        stderr.print("[red]sagefetch demo: outcomes differ from the plan:", highlight=False)
        for problem in problems:
            stderr.print(plain(f"  {problem}", "red"))  # ARNs and codes: plain text
        return EXIT_FAILURES
    stderr.print(
        f"[green]Checked: {len(planned.described):,} packages described once each, "
        f"{len(planned.not_found)} unknown ARNs failed {NOT_FOUND}, "
        f"{len(planned.malformed)} malformed ARNs failed {INVALID_ARN}, "
        "nothing lost or duplicated.",
        highlight=False,
    )
    return EXIT_OK
