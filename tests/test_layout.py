"""The package's layers: the library never imports the application; no import circles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "sagefetch"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every sagefetch module and the sagefetch modules it imports (type-checking ones too)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for named in targets:
                # The longest sagefetch module the import names (a module, or a name in one).
                target = named
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found.add(target)
        graph[name] = found
    return graph


def _is_library(module: str) -> bool:
    return not module.startswith(("sagefetch.cli", "sagefetch.testing"))


def test_the_graph_sees_every_layer() -> None:
    """The walk finds the library, the application and the testing package (it can fail)."""
    graph = _imports()
    assert {"sagefetch._fetcher", "sagefetch.cli._main", "sagefetch.testing._server"} <= set(graph)
    assert "sagefetch._fetcher" in graph["sagefetch.cli._describe"]


def test_the_library_never_imports_the_application_or_testing() -> None:
    """Arrows point one way: sagefetch.cli and sagefetch.testing build on the library."""
    wrong = {
        (module, target)
        for module, targets in _imports().items()
        if _is_library(module)
        for target in targets
        if not _is_library(target)
    }
    assert wrong == set()


def test_no_import_circles() -> None:
    """No module reaches itself through its imports, type-checking imports included."""
    graph = _imports()
    circles: list[list[str]] = []

    def visit(module: str, path: list[str], done: set[str]) -> None:
        for target in sorted(graph[module]):
            if target == "sagefetch" or target.endswith("__init__"):
                continue  # a package's own __init__ re-exports; it is not a layer
            if target in path:
                circles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target], done)
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module], done)
    assert circles == []


@pytest.mark.parametrize(
    "argv", [["--help"], ["--version"], ["describe", "--help"]], ids=["help", "version", "sub"]
)
def test_help_and_version_load_no_heavy_library(argv: list[str]) -> None:
    """``--help`` and ``--version`` import neither the AWS stack nor rich, structlog or anyio."""
    script = (
        "import sys\n"
        "from sagefetch.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('aiobotocore', 'botocore', 'aiohttp', 'rich', 'structlog', 'anyio', 'orjson')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
