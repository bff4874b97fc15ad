"""``sagefetch audit --engine ray``: the shards run in Ray async actors, the writer stays here.

    driver: shards, --resume, one writer ◀── chunks (streaming generator) ── actor 1: shard, shard
                                       ◀────────────────────────────────── actor 2: shard, ...

Each actor runs several shards at once on its event loop (``max_concurrency``),
each shard with its own client and limiter (:func:`sagefetch._shard.run_shard`,
the same code ``--engine local`` runs). A shard's outcomes come back in chunks
as they are produced, through a Ray streaming generator with a bounded
backlog; no shared filesystem is needed. The driver ships names (profile,
role ARN, endpoint) and never credentials: the worker resolves them, from its
own environment (a local Ray's workers inherit this process's; a remote
cluster's nodes need their own, e.g. an instance role).

Exactly once: when a shard's worker dies (actor killed, node lost), the shard
is run again on a restarted actor, told to skip what its first run already
sent; and whatever comes twice anyway, the driver's writer, which writes each
ARN once, drops. Ray is imported only here, only for ``--engine ray``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import math
import os
import secrets
import signal
import socket
from contextlib import aclosing, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sagefetch._exceptions import RunStoppedError
from sagefetch._shard import ShardChunk, ShardResult, run_shard, shard_fetcher

from ._exits import UsageError
from ._shards import CHUNK_INTERVAL, CHUNK_SIZE, shard_spec, total_stats

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Collection, Iterable, Iterator

    from sagefetch._discovery import Discovery
    from sagefetch._outcomes import FetchStats
    from sagefetch._shard import ShardSpec

    from ._reports import Shard, ShardReport

__all__ = ["NAMESPACE", "WORKER_LOST", "RayEngine", "ShardTask", "ray_engine", "require_ray"]

#: Ray namespace of the actors (named ``sagefetch-RUN-N``).
NAMESPACE: Final = "sagefetch"
#: ``RunStoppedError.code`` of a shard whose workers kept dying.
WORKER_LOST: Final = "WorkerLost"
#: Times a shard runs again after its worker died, at most.
_MAX_WORKER_RETRIES: Final = 3
#: Chunks a shard's worker may get ahead of the writer before it waits.
_BACKLOG: Final = 8
#: Seconds to wait for a TCP connection to ``--ray-address`` before refusing it.
_CONNECT_TIMEOUT: Final = 10.0
_HINT: Final = "--engine ray needs Ray\nHINT: pip install 'sagefetch[ray]'"


def require_ray() -> Any:
    """The ``ray`` module.

    Raises:
        UsageError: Ray is not installed (the ``sagefetch[ray]`` extra).
    """
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise UsageError(_HINT) from exc


@dataclass(frozen=True, slots=True)
class ShardTask:
    """What a worker gets for one shard: plain data; names of credentials, never secrets."""

    spec: ShardSpec
    discovery: Discovery
    settings: dict[str, Any]
    """``ModelPackageFetcher`` keywords: concurrency, rate, timeouts."""
    skip: frozenset[str]
    """Keys the output holds (or that an earlier run of this shard sent): not described."""


class ShardWorker:
    """A Ray async actor: runs the shards it is given, several at once, on its event loop."""

    async def fetch(self, task: ShardTask) -> AsyncGenerator[ShardChunk | ShardResult, None]:
        """Run one shard here, with a fetcher of its own; yield its chunks, then its result."""
        fetcher = shard_fetcher(task.spec, **task.settings)
        items = run_shard(
            task.spec,
            fetcher,
            task.discovery,
            skip=task.skip,
            chunk_size=CHUNK_SIZE,
            chunk_interval=CHUNK_INTERVAL,
        )
        async with aclosing(items):
            async for item in items:
                yield item


@contextmanager
def ray_engine(
    address: str | None,
    *,
    discovery: Discovery,
    settings: dict[str, Any],
    endpoint_url: str | None,
    shards: int,
    max_shards: int,
) -> Iterator[RayEngine]:
    """Join the Ray cluster at ``address`` (or ``RAY_ADDRESS``), else start a local one.

    Starts the actors for ``shards`` shards, ``max_shards`` at once; at the
    end (however it ends) kills them and leaves the cluster, stopping the
    local one.

    Raises:
        UsageError: Ray is not installed, or the cluster cannot be joined.
    """
    ray = require_ray()
    joining = address is not None or bool(os.environ.get("RAY_ADDRESS"))
    options: dict[str, Any] = {
        # "local": a new Ray for this run, never one that `ray start` left running.
        "address": address if joining else "local",
        "namespace": NAMESPACE,
        "logging_level": logging.ERROR,
        "log_to_driver": False,
    }
    if joining:
        _check_reachable(address or os.environ["RAY_ADDRESS"])
    else:
        options["include_dashboard"] = False
    try:
        with _sigterm_kept(ray):
            ray.init(**options)
    except (OSError, ValueError, RuntimeError) as exc:
        where = f"at {address or os.environ.get('RAY_ADDRESS')}" if joining else "here"
        raise UsageError(f"cannot start or join a Ray cluster {where}: {exc}") from exc
    actors: list[Any] = []
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = max(1, min(shards, cpus))
        per_actor = max(1, math.ceil(min(shards, max_shards) / count))
        remote = ray.remote(ShardWorker)
        run = secrets.token_hex(4)
        actors = [
            remote.options(
                name=f"sagefetch-{run}-{number}",
                max_concurrency=per_actor,
                max_restarts=_MAX_WORKER_RETRIES,
                max_task_retries=0,  # the engine runs a shard again itself, skipping what it sent
                scheduling_strategy="SPREAD",
            ).remote()
            for number in range(count)
        ]
        yield RayEngine(
            ray, actors, discovery=discovery, settings=settings, endpoint_url=endpoint_url
        )
    finally:
        for actor in actors:
            # An actor already gone, or a cluster no longer reachable, must not hide
            # how the run ended; Ray kills a driver's actors when it leaves anyway.
            with contextlib.suppress(Exception):
                ray.kill(actor)
        ray.shutdown()


@dataclass(slots=True)
class RayEngine:
    """Runs shards on a pool of Ray actors (``--engine ray``): see the module docstring."""

    ray: Any
    actors: list[Any]
    discovery: Discovery
    settings: dict[str, Any]
    endpoint_url: str | None
    _earlier: dict[tuple[str, str] | None, set[str]] | None = field(default=None, init=False)
    """The output's keys when the first shard started, by (region, account) of their ARN."""

    def task(self, shard: Shard, recorded: Collection[str], sent: Iterable[str] = ()) -> ShardTask:
        """The task of one shard: what it must skip is what the output holds of its account."""
        if self._earlier is None:
            self._earlier = _by_origin(recorded)
        skip = set(sent)
        for key, keys in self._earlier.items():
            if key is None or (shard.region in (None, key[0]) and shard.account in (None, key[1])):
                skip |= keys
        return ShardTask(
            shard_spec(shard, endpoint_url=self.endpoint_url),
            self.discovery,
            self.settings,
            frozenset(skip),
        )

    async def run(
        self, index: int, report: ShardReport, recorded: Collection[str]
    ) -> AsyncGenerator[ShardChunk | ShardResult, None]:
        """Run shard ``index`` on an actor; run it again on another if its worker dies."""
        errors = self.ray.exceptions
        lost = (
            errors.RayActorError,
            errors.WorkerCrashedError,
            errors.NodeDiedError,
            errors.ObjectLostError,
        )
        sent: set[str] = set()
        """Keys this shard sent before its worker died: not sent again."""
        earlier: list[FetchStats] = []
        """The last counts of each run whose worker died."""
        for attempt in range(_MAX_WORKER_RETRIES + 1):
            actor = self.actors[(index + attempt) % len(self.actors)]
            task = self.task(report.shard, recorded, sent)
            again = rerun = len(sent)  # found again by a rerun: not resumed from an earlier run
            stats: FetchStats | None = None
            refs = actor.fetch.options(
                num_returns="streaming", _generator_backpressure_num_objects=_BACKLOG
            ).remote(task)
            try:
                async for ref in refs:
                    item = await ref
                    if isinstance(item, ShardChunk):
                        stats = item.stats
                        sent.update(outcome.arn for outcome in item.outcomes)
                        found_again = min(again, item.skipped)
                        again -= found_again
                        yield dataclasses.replace(
                            item,
                            skipped=item.skipped - found_again,
                            stats=total_stats([*earlier, item.stats]),
                        )
                    else:
                        yield dataclasses.replace(
                            item,
                            skipped=max(0, item.skipped - (rerun - again)),
                            stats=total_stats([*earlier, item.stats]),
                        )
                        return
            except lost as exc:
                if stats is not None:
                    earlier.append(stats)
                if attempt == _MAX_WORKER_RETRIES:
                    yield ShardResult(
                        shard=task.spec,
                        stats=total_stats(earlier),
                        stopped=RunStoppedError(
                            f"its Ray worker died {attempt + 1} times; the last time: "
                            f"{type(exc).__name__}: {_first_line(exc)}\n"
                            "HINT: the records written are complete; run the audit again "
                            "with --resume to finish this shard.",
                            code=WORKER_LOST,
                        ),
                    )
                    return
                report.worker_retries += 1


@contextmanager
def _sigterm_kept(ray: Any) -> Iterator[None]:
    """Keep the CLI's SIGTERM handling while ``ray.init`` runs, and after.

    ``ray.init`` first sets a SIGTERM handler that calls ``sys.exit``: a SIGTERM
    while a local Ray starts (seconds) would end the run with a traceback. Its
    setter (``ray._private.utils.set_sigterm_handler``, private) does nothing
    meanwhile; should Ray set the handler another way, the CLI's is put back
    after it anyway. The CLI's handler only notes the signal: the run stops
    once ``ray.init`` has returned (exit 143), and Ray is shut down with it.
    """
    previous = signal.getsignal(signal.SIGTERM)
    utils: Any = getattr(getattr(ray, "_private", None), "utils", None)
    setter = getattr(utils, "set_sigterm_handler", None)
    if setter is not None:
        utils.set_sigterm_handler = _keep
    try:
        yield
    finally:
        if setter is not None:
            utils.set_sigterm_handler = setter
        signal.signal(signal.SIGTERM, previous)


def _keep(handler: object) -> None:
    """Ray's SIGTERM handler, not set: the CLI's stays."""


def _check_reachable(address: str) -> None:
    """Refuse a ``HOST:PORT`` nothing listens on, at once: ``ray.init`` would retry for minutes.

    Other forms (``auto``, ``ray://...``) are left to Ray.

    Raises:
        UsageError: the address does not take a connection within a few seconds.
    """
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or "://" in address or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}\n"
            "HINT: --ray-address (or RAY_ADDRESS) is the head node's GCS address, HOST:PORT "
            "(port 6379 unless 'ray start --head --port' said otherwise); leave both unset "
            "to start a local Ray for the run."
        ) from exc


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else ""


def _by_origin(keys: Iterable[str]) -> dict[tuple[str, str] | None, set[str]]:
    """``keys`` by the (region, account) of their ARN; those that are no ARN under None."""
    found: dict[tuple[str, str] | None, set[str]] = {}
    for key in keys:
        parts = key.split(":", 5)
        origin = (parts[3], parts[4]) if len(parts) == 6 and parts[0] == "arn" else None
        found.setdefault(origin, set()).add(key)
    return found
