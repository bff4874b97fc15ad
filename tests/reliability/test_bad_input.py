"""Bad input gives a clear message or a failed record: never a traceback, never a lost ARN."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.processes import run_cli

if TYPE_CHECKING:
    from pathlib import Path

    from sagefetch.testing import LocalSageMaker


def _describe(
    server: LocalSageMaker, *args: str, stdin: bytes | None = None
) -> tuple[int, list[dict[str, object]], str]:
    result = run_cli(
        "describe", *args, "--endpoint-url", server.endpoint_url, "--region", server.region,
        stdin=stdin,
    )  # fmt: skip
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return result.returncode, records, result.stderr.decode()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"# only\n# comments\n\n   \n", id="only-comments"),
    ],
)
def test_input_without_arns_is_a_clean_empty_run(
    local_sagemaker: LocalSageMaker, data: bytes
) -> None:
    """No ARNs: exit 0, no records, no call."""
    code, records, _ = _describe(local_sagemaker, "-", stdin=data)
    assert (code, records) == (0, [])
    assert local_sagemaker.counters.calls == 0


def test_every_odd_line_gets_exactly_one_record(local_sagemaker: LocalSageMaker) -> None:
    """NUL, non-UTF-8, 10,000-character lines, partitions, case variants: one record each."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)
    lines = {
        "nul": arn.replace("churn", "ch\x00urn").encode(),
        "latin1": "arn:aws:sagemaker:us-east-1:123456789012:model-package/café/1".encode("latin-1"),
        "long": b"arn:aws:sagemaker:us-east-1:123456789012:model-package/" + b"x" * 10_000,
        "china": arn.replace("arn:aws:", "arn:aws-cn:").replace("us-east-1", "cn-north-1").encode(),
        "govcloud": arn.replace("arn:aws:", "arn:aws-us-gov:")
        .replace("us-east-1", "us-gov-west-1")
        .encode(),
        "upper": arn.upper().encode(),
        "mixed-name": arn.replace("churn-0000", "Churn-0000").encode(),
        "good": arn.encode(),
    }  # fmt: skip
    code, records, _ = _describe(local_sagemaker, "-", stdin=b"\n".join(lines.values()))

    assert code == 3
    assert len(records) == len(lines)
    by_arn = {record["arn"]: record for record in records}
    assert len(by_arn) == len(lines)

    def error(name: str) -> str:
        key = lines[name].decode("utf-8", "backslashreplace")
        return by_arn[key]["error"]["code"]  # type: ignore[index]

    assert by_arn[arn]["status"] == "described"
    assert error("latin1") == "InvalidInput"
    assert error("long") == "InvalidArn"
    assert error("upper") == "InvalidArn"
    # Well-formed by the service's pattern (Java's \S takes NUL): asked, and not found.
    for name in ("nul", "china", "govcloud", "mixed-name"):
        assert error(name) == "ResourceNotFound", name


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda tmp: tmp, "is a directory", id="directory"),
        pytest.param(lambda tmp: tmp / "missing.txt", "cannot read", id="missing"),
        pytest.param(
            lambda tmp: (tmp / "link").symlink_to(tmp / "nowhere") or tmp / "link",
            "cannot read", id="dangling-symlink",
        ),
    ],
)  # fmt: skip
def test_unusable_input_paths_exit_2_with_a_message(
    local_sagemaker: LocalSageMaker, tmp_path: Path, make: object, message: str
) -> None:
    """A directory or unreadable path as input: exit 2, one line saying why."""
    path = make(tmp_path)  # type: ignore[operator]
    code, records, stderr = _describe(local_sagemaker, str(path))
    assert (code, records) == (2, [])
    assert message in stderr
