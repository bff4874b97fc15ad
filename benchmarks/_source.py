"""Pin the smfetch source a run measures, while others may be editing ``src/``.

The package is copied into the run's work directory and put first on every
child's ``PYTHONPATH`` (server, peers, CLI), so one run measures one version
even if files change under it; the report names the commit, the uncommitted
files and a digest of the copy.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import smfetch

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class SourceSnapshot:
    """The copy of smfetch a run imports, and where it came from."""

    path: Path
    """Directory to put on ``PYTHONPATH`` (holds ``smfetch/``)."""
    commit: str
    uncommitted: list[str]
    """Files under ``src/`` that differ from the commit when the copy was taken."""
    digest: str
    """sha256 over the copied ``.py`` files, names and contents."""
    diff: str
    """``git diff`` of ``src/`` when the copy was taken: the uncommitted part measured."""

    def describe(self) -> str:
        """One line for the report header."""
        changes = ", ".join(self.uncommitted) if self.uncommitted else "none"
        return (
            f"commit {self.commit[:10]}, uncommitted changes in src/: {changes}; "
            f"snapshot sha256 {self.digest[:12]}"
        )


def _git(*args: str) -> str:
    """A read-only git command (no optional locks: someone else may be committing)."""
    try:
        result = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout


def snapshot_smfetch(work: Path) -> SourceSnapshot:
    """Copy the imported smfetch package into ``work/src`` and fingerprint it."""
    package = Path(smfetch.__file__).resolve().parent
    target = work / "src"
    shutil.copytree(
        package, target / "smfetch", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    digest = hashlib.sha256()
    for path in sorted((target / "smfetch").rglob("*.py")):
        digest.update(str(path.relative_to(target)).encode())
        digest.update(path.read_bytes())
    status = _git("status", "--porcelain", "--", "src")
    return SourceSnapshot(
        path=target,
        commit=_git("rev-parse", "HEAD").strip() or "unknown",
        uncommitted=[line[3:].strip() for line in status.splitlines() if line.strip()],
        digest=digest.hexdigest(),
        diff=_git("diff", "--", "src"),
    )
