#!/usr/bin/env python3
"""Set up the project-local virtual environment from the lock, then run a task.

    python3 scripts/dev.py test          # ruff, mypy and the whole test suite
                                         # (in CI: plus -m soak, plus test-lowest)
    python3 scripts/dev.py demo          # the main job (sagefetch demo) on a local SageMaker
    python3 scripts/dev.py test-lowest   # the tests against the lowest supported dependencies

Needs only Python 3.11+. Creates ``.venv`` (or reuses it), installs the pinned
uv into it with pip, and lets uv install exactly what ``uv.lock`` records.
``test-lowest`` resolves the lowest versions that pyproject.toml allows for
the direct dependencies into ``.venv-lowest`` (uv.lock is not touched) and
runs the tests there. Extra arguments go to pytest or to the demo.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
LOWEST = ROOT / ".venv-lowest"
LOWEST_BIN = LOWEST / ("Scripts" if os.name == "nt" else "bin")
UV_VERSION = "0.13.9"  # keep equal to the uv pin in pyproject.toml's dev group


def main() -> int:
    """Run the task named on the command line."""
    tasks = {"test": test, "demo": demo, "test-lowest": test_lowest}
    if len(sys.argv) < 2 or sys.argv[1] not in tasks:
        print(__doc__, file=sys.stderr)
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs on any python3
        print("sagefetch needs Python 3.11 or newer; run this with python3.11+.", file=sys.stderr)
        return 2
    setup()
    return tasks[sys.argv[1]](sys.argv[2:])


def setup() -> None:
    """Create or reuse .venv and sync it with uv.lock (quietly when nothing changed)."""
    python = BIN / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(VENV)])
    uv = BIN / "uv"
    if not uv.exists() or UV_VERSION not in capture([str(uv), "--version"]):
        run([str(python), "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"])
    run([str(uv), "sync", "--locked", "--quiet", "--python", str(python)])


def test(args: list[str]) -> int:
    """Lint, type-check, then run pytest; the first failure decides the exit code."""
    paths = ["src", "tests", "benchmarks", "examples", "scripts"]
    steps = [
        [str(BIN / "ruff"), "check", *paths],
        [str(BIN / "ruff"), "format", "--check", *paths],
        [str(BIN / "mypy")],
        [str(BIN / "python"), "-m", "pytest", *args],
    ]
    ci = bool(os.environ.get("CI")) and not args
    if ci:
        # CI also runs the opt-in soak test (about a minute).
        steps.append([str(BIN / "python"), "-m", "pytest", "-m", "soak"])
    for step in steps:
        code = subprocess.call(step, cwd=ROOT, env=_env())
        if code:
            print(f"\nFAILED ({code}): {' '.join(step)}", file=sys.stderr)
            return code
    if ci:
        print("\n== the tests again, against the lowest supported versions ==", file=sys.stderr)
        return test_lowest([])
    return 0


def test_lowest(args: list[str]) -> int:
    """Run pytest in .venv-lowest: the lowest versions pyproject.toml allows (lowest-direct)."""
    uv, python = str(BIN / "uv"), str(LOWEST_BIN / "python")
    if not Path(python).exists():
        run([uv, "venv", "--quiet", "--python", sys.executable, str(LOWEST)])
    requirements = str(LOWEST / "requirements.txt")
    run([
        uv, "pip", "compile", "--quiet", "pyproject.toml", "--extra", "testing",
        "--group", "test", "--resolution", "lowest-direct", "--upgrade",
        "--python", python, "-o", requirements,
    ])  # fmt: skip
    run([uv, "pip", "sync", "--quiet", "--python", python, requirements])
    run([uv, "pip", "install", "--quiet", "--no-deps", "--python", python, "-e", "."])
    print("lowest versions:", " ".join(_direct(requirements)), file=sys.stderr)
    # The wheel tests build and install the package; they do not depend on versions.
    command = [python, "-m", "pytest", "--ignore=tests/test_packaging.py", *args]
    code = subprocess.call(command, cwd=ROOT, env=_env(LOWEST))
    if code:
        print(f"\nFAILED ({code}): {' '.join(command)}", file=sys.stderr)
    return code


def demo(args: list[str]) -> int:
    """Run the main job against the embedded local SageMaker."""
    return subprocess.call([str(BIN / "sagefetch"), "demo", *args], cwd=ROOT, env=_env())


def _direct(requirements: str) -> list[str]:
    """The ``name==version`` pins of a compiled requirements file that pyproject.toml asks for."""
    pins: list[str] = []
    pin = ""
    for line in Path(requirements).read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            pin = line.strip()
        elif "(pyproject.toml)" in line and pin not in pins:
            pins.append(pin)
    return pins


def run(command: list[str]) -> None:
    """Run a set-up step; stop with its exit code if it fails."""
    code = subprocess.call(command, cwd=ROOT, env=_env())
    if code:
        print(f"set-up step failed ({code}): {' '.join(command)}", file=sys.stderr)
        raise SystemExit(code)


def capture(command: list[str]) -> str:
    """Output of a command, or "" if it cannot run."""
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


def _env(venv: Path = VENV) -> dict[str, str]:
    env = dict(os.environ, VIRTUAL_ENV=str(venv), UV_PYTHON_DOWNLOADS="never")
    env.pop("PYTHONHOME", None)
    return env


if __name__ == "__main__":
    sys.exit(main())
