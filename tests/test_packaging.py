"""The built package as a new user gets it: wheel and sdist, installed without extras."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from sagefetch import __version__

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"

pytestmark = pytest.mark.timeout(600)


def _run(*command: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=540,
        check=check,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and sdist, built from this checkout."""
    out = tmp_path_factory.mktemp("dist")
    _run(UV, "build", "--quiet", "--out-dir", out, ROOT)
    return out


@pytest.fixture(scope="module")
def bare_env(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed and no extras."""
    env = tmp_path_factory.mktemp("venv") / "env"
    _run(UV, "venv", "--quiet", "--python", sys.executable, env)
    (wheel,) = dist.glob("*.whl")
    _run(UV, "pip", "install", "--quiet", "--python", env / "bin" / "python", wheel)
    return env


def test_the_wheel_runs_without_extras(bare_env: Path) -> None:
    """``sagefetch --version`` works in an environment that has no moto."""
    python = bare_env / "bin" / "python"
    has_moto = _run(python, "-c", "import importlib.util as u; print(u.find_spec('moto'))")
    result = _run(bare_env / "bin" / "sagefetch", "--version")

    assert has_moto.stdout.strip() == "None"
    assert result.stdout.strip() == f"sagefetch {__version__}"


@pytest.mark.parametrize("command", ["demo", "local-server"])
def test_commands_that_need_the_testing_extra_say_so_in_one_line(
    bare_env: Path, command: str
) -> None:
    """Without ``sagefetch[testing]``: exit 2 and one line naming the install, no traceback."""
    result = _run(bare_env / "bin" / "sagefetch", command, check=False)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "pip install 'sagefetch[testing]'" in lines[0]


def test_local_sagemaker_without_the_extra_raises_a_clear_import_error(bare_env: Path) -> None:
    """``LocalSageMaker()`` (moto backend) raises ImportError naming the extra."""
    script = (
        "from sagefetch.testing import LocalSageMaker\n"
        "try:\n"
        "    LocalSageMaker()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = _run(bare_env / "bin" / "python", "-c", script)

    assert "pip install 'sagefetch[testing]'" in result.stdout


def test_wheel_and_sdist_carry_the_license_and_no_benchmark_results(dist: Path) -> None:
    """LICENSE is in both; the sdist has the code but no result plots or tables."""
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    wheel_names = zipfile.ZipFile(wheel).namelist()
    with tarfile.open(sdist) as archive:
        sdist_names = archive.getnames()

    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel_names)
    assert any(name.endswith("/LICENSE") for name in sdist_names)
    assert any(name.endswith("/src/sagefetch/cli/_main.py") for name in sdist_names)
    assert not [name for name in sdist_names if "benchmarks/results" in name]
    assert not [name for name in sdist_names if name.endswith(".png")]


def test_the_wheel_installs_beside_aioboto3(dist: Path, tmp_path: Path) -> None:
    """A resolver finds versions for the wheel next to aioboto3 15.5.0 (aiobotocore 2.25)."""
    (wheel,) = dist.glob("*.whl")
    requirements = tmp_path / "requirements.in"
    requirements.write_text(f"aioboto3==15.5.0\nsagefetch @ {wheel.as_uri()}\n")

    result = _run(
        UV, "pip", "compile", "--quiet", "--python", sys.executable, requirements, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "aiobotocore==2.25" in result.stdout
