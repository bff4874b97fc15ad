"""One peer against one scenario's server: launch, measure, check, summarise.

Both harnesses (``benchmarks.run`` and ``benchmarks.audit``) measure through
``run_peer`` and report ``PeerRun``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from benchmarks._check import OutputCheck, ServiceCheck, check_output, check_service_output
from benchmarks._processes import FirstCallWatcher, clean_environment, run_child

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from benchmarks._processes import ChildResult, ServerProcess
    from benchmarks._scenarios import Request, Scenario


class Client(Protocol):
    """A peer as ``run_peer`` sees it: a key, a label, and whether it is the CLI."""

    @property
    def key(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def is_cli(self) -> bool: ...


#: Seconds per needed call allowed on top of 60 s in scenarios without a limit.
UNLIMITED_SECONDS_PER_CALL = 0.05


@dataclass
class PeerRun:
    """Every number measured for one peer in one scenario."""

    scenario: str
    peer: str
    label: str
    arns: int
    ideal_seconds: float | None
    timeout_seconds: float
    exit_code: int | None
    timed_out: bool
    describe_seconds: float | None
    """The phase the peer timed itself and printed (client creation, calls, outcomes
    written; audit: listing too; S7: first arrival to last answer).

    ``None`` when the peer printed none (the CLI) or timed out: nothing is
    subtracted from a process to make one up.
    """
    process_seconds: float
    """The whole process, fork to exit: what the headline ratio uses for every peer."""
    cpu_seconds: float
    peak_rss_mb: float
    first_output_seconds: float | None
    first_call_seconds: float | None
    """From the peer's start (its fork) to the poll that first saw a call at the server."""
    switched_seconds: float | None
    calls: int
    throttled: int
    server_counters: dict[str, float]
    output: OutputCheck
    timeline: list[tuple[int, int, int]] = field(default_factory=list)
    reported: dict[str, str] = field(default_factory=dict)
    stderr_tail: str = ""
    round: int = 0
    """Which of the ``--repeat`` rounds (from 0)."""
    service: ServiceCheck | None = None
    """S7: the peer's answers, request by request."""

    @property
    def ok(self) -> bool:
        """Finished by itself with a normal exit code (the CLI exits 3 if some ARNs failed)."""
        return not self.timed_out and self.exit_code in {0, 3}

    @property
    def ratio(self) -> float | None:
        """Whole-process wall time over the ideal (the headline); None without a limit.

        Every peer pays its own start-up here (interpreter, imports, reading the
        ARNs, opening its client), the CLI included: nothing is taken off one
        contestant that the others pay.
        """
        if self.ideal_seconds is None:
            return None
        return self.process_seconds / self.ideal_seconds

    @property
    def phase_ratio(self) -> float | None:
        """The peer's own timed phase over the ideal; None if it timed none."""
        if self.ideal_seconds is None or self.describe_seconds is None:
            return None
        return self.describe_seconds / self.ideal_seconds

    @property
    def incomplete(self) -> bool:
        """Some ARN (S7: some request) ended failed or unanswered: never ranked on time."""
        if self.service is not None:
            return self.service.failed + self.service.unanswered > 0
        return self.output.incomplete

    @property
    def throttled_share(self) -> float | None:
        """Throttled calls over all calls the server saw."""
        return self.throttled / self.calls if self.calls else None

    @property
    def cpu_ms_per_1k(self) -> float | None:
        """Client CPU (whole process) in ms per 1,000 described ARNs."""
        described = self.output.described
        return self.cpu_seconds * 1e6 / described if described else None

    @property
    def sent_reference(self) -> int | None:
        """S7: ceil(distinct / 100) + the under-full batches the peer counted it formed."""
        underfull = self.reported.get("batches_underfull")
        if self.service is None or underfull is None or not underfull.isdigit():
            return None
        return self.service.full_calls + int(underfull)

    @property
    def reference_calls(self) -> int | None:
        """S7: the calls target's reference: the counted one, else the derived one."""
        if self.service is None:
            return None
        sent = self.sent_reference
        return self.service.derived_reference if sent is None else sent

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> PeerRun:
        """A run as ``to_json`` wrote it (the derived numbers are computed again)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in document.items() if key in names}
        values["output"] = OutputCheck(**document["output"])
        service = document.get("service")
        values["service"] = None if service is None else ServiceCheck(**service)
        values["timeline"] = [tuple(entry) for entry in document.get("timeline", [])]
        return cls(**values)

    def to_json(self) -> dict[str, object]:
        """The raw numbers, plus the derived ones."""
        document = dataclasses.asdict(self)
        document.update(
            ok=self.ok,
            incomplete=self.incomplete,
            ratio=self.ratio,
            phase_ratio=self.phase_ratio,
            throttled_share=self.throttled_share,
            cpu_ms_per_1k_described=self.cpu_ms_per_1k,
        )
        if self.service is not None:
            document.update(
                derived_reference=self.service.derived_reference,
                sent_reference=self.sent_reference,
            )
        return document


def timeout_for(scenario: Scenario) -> float:
    """4 x ideal + 60 s; without a limit, 60 s + 50 ms per needed call.

    S7: 60 s + three times what one call per request takes at the limit.
    """
    rate = scenario.faults.rate
    if scenario.service is not None and rate is not None:
        return 60 + 3 * scenario.arns / rate
    ideal = scenario.ideal_seconds
    if ideal is None:
        return 60 + UNLIMITED_SECONDS_PER_CALL * scenario.calls_needed
    return 4 * ideal + 60


def measure_rss_floor(work: Path) -> float:
    """Peak RSS the launcher reports for ``/bin/true``: the floor under every peer's."""
    log_dir = work / "rss-floor"
    log_dir.mkdir()
    result = run_child(
        ["/bin/true"],
        environment=clean_environment({}),
        out_file=log_dir / "none",
        log_dir=log_dir,
        timeout=10,
    )
    return result.peak_rss_mb


def run_peer(  # noqa: PLR0917 - the harnesses' call sites read fine
    peer: Client,
    command: Callable[[Path], Sequence[str]],
    scenario: Scenario,
    server: ServerProcess,
    expected: set[str],
    work: Path,
    *,
    keep_output: bool = False,
    requests: list[Request] | None = None,
    round_: int = 0,
) -> PeerRun:
    """Reset the server, run ``peer`` to its end, and gather what it did.

    Args:
        command: the peer's command line, given the file its outcomes go to.
        expected: the distinct ARNs the output must account for.
        requests: S7: the requests the peer was sent, to check its answers against.
        round_: which ``--repeat`` round this is (named in the work directory).
    """
    control = server.control
    assert control is not None
    control.set_faults(scenario.faults)
    control.reset()
    log_dir = work / scenario.key / (peer.key if round_ == 0 else f"{peer.key}-{round_}")
    log_dir.mkdir(parents=True)
    out_file = log_dir / "outcomes.jsonl"
    timeout = timeout_for(scenario)
    watcher = FirstCallWatcher(control, scenario, timeout)
    try:
        child = run_child(
            command(out_file),
            environment=clean_environment(server.environment),
            out_file=out_file,
            log_dir=log_dir,
            timeout=timeout,
            on_start=watcher.start,
        )
    finally:
        watcher.stop()
    counters = control.counters()
    timeline = control.timeline()
    output = check_output(out_file, expected)
    service = None
    if requests is not None and scenario.service is not None:
        service = check_service_output(out_file, requests, linger=scenario.service.linger)
    if not keep_output:
        out_file.unlink(missing_ok=True)
    return PeerRun(
        scenario=scenario.key,
        peer=peer.key,
        label=peer.label,
        arns=scenario.arns,
        ideal_seconds=scenario.ideal_seconds,
        timeout_seconds=timeout,
        exit_code=child.exit_code,
        timed_out=child.timed_out,
        describe_seconds=_describe_seconds(child),
        process_seconds=child.wall_seconds,
        cpu_seconds=child.cpu_seconds,
        peak_rss_mb=child.peak_rss_mb,
        first_output_seconds=child.first_output_seconds,
        first_call_seconds=_since(child, watcher.first_call_at),
        switched_seconds=_since(child, watcher.switched_at),
        calls=counters.calls,
        throttled=counters.throttled,
        server_counters=dataclasses.asdict(counters),
        output=output,
        timeline=timeline,
        reported=child.reported,
        stderr_tail=child.stderr_tail if child.exit_code != 0 else "",
        round=round_,
        service=service,
    )


def _since(child: ChildResult, moment: float | None) -> float | None:
    return None if moment is None else moment - child.started


def _describe_seconds(child: ChildResult) -> float | None:
    reported = child.reported.get("describe_seconds")
    if reported is None or child.timed_out:
        return None
    return float(reported)
