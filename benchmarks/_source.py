"""Pin the sagefetch source a run measures, while others may be editing ``src/``.

By default the working tree's package is copied; ``--commit REV`` measures a
commit instead, extracted with ``git archive`` (the repository is only read).

The package is copied into the run's work directory and put first on every
child's ``PYTHONPATH`` (server, peers, CLI), so one run measures one version
even if files change under it; the report names the commit, the uncommitted
files and a digest of the copy.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import sagefetch

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class SourceSnapshot:
    """The copy of sagefetch a run imports, and where it came from."""

    path: Path
    """Directory to put on ``PYTHONPATH`` (holds ``sagefetch/``)."""
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


def _fingerprint(target: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((target / "sagefetch").rglob("*.py")):
        digest.update(str(path.relative_to(target)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def snapshot_commit(work: Path, revision: str) -> SourceSnapshot:
    """Extract ``src/sagefetch`` of a commit (``git archive``, read-only) into ``work/src``.

    Raises:
        ValueError: the revision is unknown or has no ``src/sagefetch``.
    """
    commit = _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip()
    if not commit:
        raise ValueError(f"unknown commit {revision!r}")
    archive = subprocess.run(
        ["git", "--no-optional-locks", "archive", "--format=tar", commit, "src/sagefetch"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if archive.returncode != 0:
        raise ValueError(f"cannot read src/sagefetch at {revision}: {archive.stderr.decode()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(work / "archive", filter="data")
    target = work / "archive" / "src"
    return SourceSnapshot(
        path=target, commit=commit, uncommitted=[], digest=_fingerprint(target), diff=""
    )


def snapshot_sagefetch(work: Path) -> SourceSnapshot:
    """Copy the imported sagefetch package into ``work/src`` and fingerprint it."""
    package = Path(sagefetch.__file__).resolve().parent
    target = work / "src"
    shutil.copytree(
        package, target / "sagefetch", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    status = _git("status", "--porcelain", "--", "src")
    return SourceSnapshot(
        path=target,
        commit=_git("rev-parse", "HEAD").strip() or "unknown",
        uncommitted=[line[3:].strip() for line in status.splitlines() if line.strip()],
        digest=_fingerprint(target),
        diff=_git("diff", "--", "src"),
    )
