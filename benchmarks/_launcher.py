"""Run one peer and measure it: a bare go-between so peak RSS is the peer's own.

On Linux a child's ``ru_maxrss`` starts at its parent's RSS when it was forked
(the high-water mark survives ``exec``), so a peer forked by the harness
(matplotlib, a million expected ARNs) would inherit the harness's size. This
launcher is a bare interpreter (``python -I -S``, stdlib only, nothing of the
package imported): a peer's peak RSS can only be floored at the launcher's own
~10 MB, which the report states.

    python -I -S benchmarks/_launcher.py SPEC_JSON

SPEC_JSON: ``{"command": [...], "stdout": path, "stderr": path, "out_file": path,
"timeout": seconds}``. The peer inherits the launcher's environment. Prints one
JSON line: exit code, timed out, when the peer was forked (``time.monotonic()``,
one clock for every process on Linux), wall, user and system CPU, peak RSS, and
when the output file first grew. SIGTERM or SIGINT stop the peer too.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

POLL_SECONDS = 0.01
GRACE_SECONDS = 5.0
_stop_requested: list[int] = []


def _request_stop(signum: int, _frame: object) -> None:
    _stop_requested.append(signum)


def _exec_peer(spec: dict[str, object]) -> None:
    """In the forked child: die with the launcher, redirect output, become the peer."""
    try:
        import ctypes  # noqa: PLC0415 - only the child pays for it

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        for fd, name in ((1, "stdout"), (2, "stderr")):
            target = os.open(str(spec[name]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(target, fd)
            os.close(target)
        command = [str(part) for part in spec["command"]]  # type: ignore[attr-defined]
        os.execv(command[0], command)
    finally:
        os._exit(127)


def _output_size(path: str) -> int:
    try:
        return os.stat(path).st_size  # noqa: PTH116 - no pathlib: the launcher stays bare
    except OSError:
        return 0


def _measure(pid: int, spec: dict[str, object], started: float) -> dict[str, object]:
    """Reap the peer with ``os.wait4``; stop it on timeout or on a signal to the launcher."""
    deadline = started + float(spec["timeout"])  # type: ignore[arg-type]
    out_file = str(spec["out_file"])
    first_output: float | None = None
    terminated_at: float | None = None
    timed_out = False
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        now = time.monotonic()
        if reaped:
            break
        if first_output is None and _output_size(out_file) > 0:
            first_output = now - started
        if terminated_at is None and (now > deadline or _stop_requested):
            timed_out = not _stop_requested
            os.kill(pid, signal.SIGTERM)
            terminated_at = now
        elif terminated_at is not None and now > terminated_at + GRACE_SECONDS:
            os.kill(pid, signal.SIGKILL)
        time.sleep(POLL_SECONDS)
    return {
        "exit_code": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "interrupted": bool(_stop_requested),
        "started": started,
        "wall_seconds": now - started,
        "user_seconds": usage.ru_utime,
        "system_seconds": usage.ru_stime,
        "peak_rss_kb": usage.ru_maxrss,
        "first_output_seconds": first_output,
    }


def main() -> int:
    spec = json.loads(sys.argv[1])
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _request_stop)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _exec_peer(spec)
    print(json.dumps(_measure(pid, spec, started)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
