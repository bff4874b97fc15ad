"""The documents name only tests that exist."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sagefetch.testing import Catalogue
from tests.cli.test_audit import ACCOUNT_A, ACCOUNT_B, Accounts
from tests.processes import SAGEFETCH

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("document", ["docs/RELIABILITY.md"])
def test_every_named_test_exists(document: str) -> None:
    """Each ``tests/...py::name`` in the document is a test function in that file."""
    named = re.findall(r"(tests/[\w/]+\.py)::(\w+)", (ROOT / document).read_text())
    assert len(named) >= 20
    for path, name in named:
        tree = ast.parse((ROOT / path).read_text())
        functions = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert name in functions, f"{document} names {path}::{name}, which does not exist"


def _audit_questions() -> tuple[list[str], list[str]]:
    """The commands and the DuckDB queries of README's "Audit questions", in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Audit questions", 1)[1].split("\n### ", 1)[0]
    commands = [
        re.sub(r"\\\n\s*", "", block).removeprefix("$ ").strip()
        for block in re.findall(r"```console\n(.*?)```", section, re.DOTALL)
    ]
    queries = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    return commands, queries


def _summary(arn: str) -> dict[str, Any]:
    """The local server's summary of a package it was seeded with."""
    region, account = arn.split(":")[3:5]
    catalogue = Catalogue(account, region, 99, 999)
    located = catalogue.locate(arn)
    assert located is not None
    return catalogue.summary(*located)


@pytest.mark.timeout(240)
def test_readme_audit_questions_answer_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's audit commands and DuckDB queries, run on an audit of local accounts, hold."""
    commands, queries = _audit_questions()
    assert len(commands) == len(queries) == 3
    accounts = Accounts(tmp_path)
    monkeypatch.chdir(tmp_path)
    try:
        accounts.start(monkeypatch)
        for command in dict.fromkeys(commands):
            # --org stands for the two local accounts, in the README's own regions' place.
            words = shlex.split(command.replace("--org --regions all", "--profiles team-a,team-b "
                                                "--regions us-east-1,eu-west-1"))  # fmt: skip
            assert words[:2] == ["sagefetch", "audit"]
            result = subprocess.run(
                [*SAGEFETCH, *words[1:]], capture_output=True, text=True, timeout=120,
                check=False, env={**os.environ, "SAGEFETCH_PARQUET_ROWS": "100"},
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
        answers = [duckdb.sql(query).fetchall() for query in queries]
    finally:
        accounts.stop()

    summaries = {
        arn: _summary(arn)
        for (account, _), arns in accounts.expected.items()
        if account in {ACCOUNT_A, ACCOUNT_B}
        for arn in arns
    }
    org = (rf"{ACCOUNT_A}.dkr.ecr.", rf"{ACCOUNT_B}.dkr.ecr.")
    outside = {
        arn: [c["Image"] for c in s["InferenceSpecification"]["Containers"]
              if not c["Image"].startswith(org)]
        for arn, s in summaries.items()
        if s["ModelApprovalStatus"] == "Approved"
    }  # fmt: skip
    assert all(answers)  # each question has answers to check
    assert answers[0] == sorted(
        (arn, arn.split(":")[4], arn.split(":")[3], images)
        for arn, images in outside.items()
        if images
    )
    assert {row[0] for row in answers[1]} == {
        arn for arn, s in summaries.items() if s["ModelApprovalStatus"] == "PendingManualApproval"
    }
    assert all(row[4] > 30 for row in answers[1])
    assert answers[2] == sorted(
        (account, region, len(arns))
        for (account, region), arns in accounts.expected.items()
        if account in {ACCOUNT_A, ACCOUNT_B}
    )
