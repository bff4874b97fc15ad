"""The documents name only tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

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
