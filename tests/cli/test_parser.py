"""The command line itself: every option says its default; format words are not file names."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sagefetch.cli._parser import FORMAT_WORDS, parser
from sagefetch.testing._command import add_arguments


def _parsers() -> dict[str, argparse.ArgumentParser]:
    main = parser("0")
    found = {"sagefetch": main}
    for action in main._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update({f"sagefetch {name}": sub for name, sub in action.choices.items()})
    local = argparse.ArgumentParser(prog="sagefetch local-server")
    add_arguments(local)
    found["sagefetch local-server"] = local
    return found


def test_every_option_of_every_command_shows_its_default() -> None:
    """Each option's help names its default (argparse's own help and version aside)."""
    checked = 0
    missing = []
    for name, command in _parsers().items():
        for action in command._actions:
            if not action.option_strings or isinstance(
                action, argparse._HelpAction | argparse._VersionAction
            ):
                continue
            checked += 1
            shown = command._get_formatter()._expand_help(action) if action.help else ""
            if "default" not in shown or "%(" in shown:
                missing.append(f"{name} {action.option_strings[0]}")
    assert checked > 60
    assert missing == []


def test_help_shows_the_defaults_with_their_values() -> None:
    """``describe --help`` prints the defaults as values, not placeholders."""
    result = subprocess.run(
        [sys.executable, "-m", "sagefetch.cli", "describe", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    text = " ".join(result.stdout.split())
    assert "calls in flight at most (default: 16)" in text
    assert "ARNs per call, 1..100 (default: 100)" in text
    assert "AWS_REGION" in text


@pytest.mark.parametrize("word", sorted(FORMAT_WORDS))
def test_a_format_word_as_output_is_a_usage_error(
    word: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``-o json`` (AWS CLI habit) with no such file exits 2 and points to --format."""
    cwd = tmp_path_factory.mktemp("empty")
    result = subprocess.run(
        [sys.executable, "-m", "sagefetch.cli", "describe", "-", "--output", word],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=cwd,
    )
    assert result.returncode == 2
    assert "--format" in result.stderr
    assert not (cwd / word).exists()


def _long_options(command: argparse.ArgumentParser) -> set[str]:
    return {
        option.removeprefix("--no-").removeprefix("--")
        for action in command._actions
        for option in action.option_strings
        if option.startswith("--") and option not in {"--help", "--version"}
    }


def _synopsis(readme: str, command: str) -> str:
    heading = readme.index(f"### `{command}`")
    start = readme.index("```\n", heading) + 4
    return readme[start : readme.index("```", start)]


@pytest.mark.parametrize("command", ["describe", "audit", "demo", "local-server"])
def test_the_readme_synopsis_lists_exactly_the_options(command: str) -> None:
    """Each command's synopsis in the README names the options ``--help`` has, no more."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    text = _synopsis(readme, f"sagefetch {command}")
    parsers = _parsers()
    written = {flag.removeprefix("no-") for flag in re.findall(r"--([a-z][a-z-]*)", text)}
    if "[-o " in text:
        written.add("output")  # -o is --output's short form
    if "options of describe" in text:
        describe = parsers["sagefetch describe"]
        written |= {
            option
            for group in describe._action_groups
            if group.title in {"fetching", "display"}
            for option in _long_options(_group_parser(group))
        }
    assert written == _long_options(parsers[f"sagefetch {command}"])


def _group_parser(group: argparse._ArgumentGroup) -> argparse.ArgumentParser:
    holder = argparse.ArgumentParser(add_help=False)
    holder._actions = list(group._group_actions)
    return holder
