"""The command line itself: every option says its default; format words are not file names.

Numeric options take only values a run can use: NaN, infinities and out-of-range
numbers are usage errors (exit 2) before anything starts.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sagefetch import AdaptiveRateLimiter
from sagefetch._limiter import _LOWEST_RATE
from sagefetch.cli._parser import FORMAT_WORDS, LOWEST_RATE, _Number, parser
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
    assert "calls in flight at most, 1..1000 (default: 16)" in text
    assert "calls/s ceiling, at least 0.01 (default: find the server's limit)" in text
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


@pytest.mark.parametrize("command", ["describe", "audit", "demo"])
@pytest.mark.parametrize("value", ["0", "-3", "0.009", "nan", "inf", "-inf", "1e999"])
def test_an_absurd_max_rate_exits_2_from_every_command(command: str, value: str) -> None:
    """``--max-rate`` below 0.01 calls/s, zero, negative, NaN or infinite: exit 2, why and what."""
    extra = ["-"] if command == "describe" else []
    result = subprocess.run(
        [sys.executable, "-m", "sagefetch.cli", command, *extra, f"--max-rate={value}"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    expected = f"argument --max-rate: expected a number of calls/s, at least 0.01, got '{value}'"
    assert expected in result.stderr
    assert "HINT: leave --max-rate out" in result.stderr
    assert "Traceback" not in result.stderr


def _numeric_options() -> list[tuple[str, str, _Number[int] | _Number[float]]]:
    """(command, option, type) for every option of sagefetch's own commands with a number type."""
    return [
        (name.removeprefix("sagefetch "), action.option_strings[-1], action.type)
        for name, command in _parsers().items()
        if name != "sagefetch local-server"
        for action in command._actions
        if isinstance(action.type, _Number)
    ]


def test_no_option_takes_a_bare_int_or_float() -> None:
    """``type=int`` and ``type=float`` let NaN, infinities and negatives through: none is left."""
    bare = [
        f"{name} {action.option_strings[-1]}"
        for name, command in _parsers().items()
        if name != "sagefetch local-server"
        for action in command._actions
        if action.type in {int, float}
    ]
    assert bare == []
    assert {option for _, option, _ in _numeric_options()} == {
        "--concurrency", "--max-rate", "--batch-size", "--timeout", "--max-attempts",
        "--deadline", "--list-concurrency", "--max-shards", "--groups", "--versions",
        "--unknown", "--malformed", "--rate", "--burst", "--latency", "--jitter",
        "--internal-error", "--drop", "--omit",
    }  # fmt: skip


def _argv(command: str, option: str, value: str) -> list[str]:
    return [command, *(["-"] if command == "describe" else []), f"{option}={value}"]


@pytest.mark.parametrize(
    ("command", "option", "kind"),
    [pytest.param(*found, id=f"{found[0]} {found[1]}") for found in _numeric_options()],
)
@pytest.mark.parametrize("value", ["-1", "nan", "NaN", "inf", "-Infinity", "1e400", "", "ten"])
def test_nonsense_numbers_are_usage_errors(
    command: str,
    option: str,
    kind: _Number[int] | _Number[float],
    value: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Negatives, NaN, infinities, overflow, nothing and words: exit 2 naming option and range."""
    with pytest.raises(SystemExit) as exited:
        parser("0").parse_args(_argv(command, option, value))
    assert exited.value.code == 2
    error = " ".join(capsys.readouterr().err.split())
    assert f"argument {option}: expected {kind.what}, {kind.span}, got {value!r}" in error


@pytest.mark.parametrize(
    ("command", "option", "kind"),
    [pytest.param(*found, id=f"{found[0]} {found[1]}") for found in _numeric_options()],
)
def test_each_range_is_in_the_help_and_holds_at_its_bounds(
    command: str, option: str, kind: _Number[int] | _Number[float]
) -> None:
    """The help shows the range; its bounds parse; just past them is refused."""
    sub = _parsers()[f"sagefetch {command}"]
    [action] = [a for a in sub._actions if option in a.option_strings]
    assert kind.span in sub._get_formatter()._expand_help(action)
    step = 1 if kind.kind is int else kind.least / 100 or 0.001
    assert kind(str(kind.least)) == kind.least
    with pytest.raises(argparse.ArgumentTypeError):
        kind(str(kind.least - step))
    if kind.most is not None:
        assert kind(str(kind.most)) == kind.most
        with pytest.raises(argparse.ArgumentTypeError):
            kind(str(kind.most + step))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        pytest.param("--batch-size", "101", "1..100", id="batch-over-the-api-limit"),
        pytest.param("--batch-size", "0", "1..100", id="empty-batches"),
        pytest.param("--concurrency", "0", "1..1000", id="no-concurrency"),
        pytest.param("--concurrency", "1001", "1..1000", id="concurrency-in-thousands"),
        pytest.param("--max-attempts", "0", "1..100", id="no-attempt"),
        pytest.param("--max-attempts", "1.5", "whole number", id="fractional-attempts"),
        pytest.param("--timeout", "0", "0.01..3600", id="zero-timeout"),
        pytest.param("--timeout", "1e12", "0.01..3600", id="timeout-of-31000-years"),
        pytest.param("--deadline", "0", "0.01..2592000", id="zero-deadline"),
        pytest.param("--deadline", "1e300", "0.01..2592000", id="deadline-past-30-days"),
        pytest.param("--max-rate", "0.0099", "at least 0.01", id="rate-just-below"),
    ],
)
def test_out_of_range_numbers_name_the_range(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A finite number outside the option's range: exit 2 with the range in the message."""
    with pytest.raises(SystemExit) as exited:
        parser("0").parse_args(_argv("describe", option, value))
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "parsed"),
    [
        pytest.param("--max-rate", "0.01", 0.01, id="lowest-rate"),
        pytest.param("--max-rate", "1e6", 1e6, id="huge-rate"),
        pytest.param("--deadline", "0.5", 0.5, id="short-deadline"),
        pytest.param("--batch-size", " 7 ", 7, id="padded-batch"),
        pytest.param("--concurrency", "1_000", 1000, id="underscored"),
    ],
)
def test_plain_values_are_taken(option: str, value: str, parsed: float) -> None:
    """Ordinary values, padded or with digit separators, parse to the number."""
    args = parser("0").parse_args(_argv("describe", option, value))
    assert getattr(args, option.removeprefix("--").replace("-", "_")) == parsed


def test_the_command_line_and_the_limiter_agree_on_the_lowest_rate() -> None:
    """The parser's floor (kept apart for a cheap ``--help``) is the limiter's."""
    assert LOWEST_RATE == _LOWEST_RATE
    AdaptiveRateLimiter(max_rate=LOWEST_RATE)
    with pytest.raises(ValueError, match="max_rate"):
        AdaptiveRateLimiter(max_rate=LOWEST_RATE * 0.99)
