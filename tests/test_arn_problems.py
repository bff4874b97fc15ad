"""Messages for invalid ARNs: the stray character by code point, name and column, then the field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagefetch._arn_problems import describe_invalid_arn, describe_stray_character
from sagefetch._arns import MAX_ARN_LENGTH, is_valid_arn

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"
NAME_AT = ARN.index("churn")  # 0-based: the name starts at column NAME_AT + 1


def _insert(text: str, column: int, char: str) -> str:
    return text[: column - 1] + char + text[column - 1 :]


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        pytest.param(
            _insert(ARN, 57, "\u200b"),
            "the ARN holds U+200B ZERO WIDTH SPACE at column 57, invisible in most editors",
            id="zero-width-space",
        ),
        pytest.param(
            "\u200b" + ARN,
            "U+200B ZERO WIDTH SPACE at column 1, invisible in most editors; ARNs are printable "
            "ASCII: delete it (without it the ARN is well-formed)",
            id="leading-zero-width-space",
        ),
        pytest.param(
            "\ufeff" + ARN,
            "U+FEFF ZERO WIDTH NO-BREAK SPACE (a byte order mark) at column 1",
            id="byte-order-mark",
        ),
        pytest.param(
            _insert(ARN, 12, "\u00a0"),
            "U+00A0 NO-BREAK SPACE at column 12; ARNs hold no whitespace: delete it",
            id="no-break-space-inside",
        ),
        pytest.param(
            ARN + "\u00a0",
            "the ARN has surrounding whitespace (U+00A0 NO-BREAK SPACE at column 63); "
            "strip it before describing",
            id="trailing-no-break-space",
        ),
        pytest.param(
            " " + ARN,
            "the ARN has surrounding whitespace (U+0020 SPACE at column 1)",
            id="leading-space",
        ),
        pytest.param(_insert(ARN, 30, "\t"), "U+0009 CHARACTER TABULATION at column 30", id="tab"),
        pytest.param(_insert(ARN, 5, "\x00"), "U+0000 NULL at column 5", id="nul"),
        pytest.param(
            _insert(ARN, 8, "\x01"), "U+0001 (a control character) at column 8", id="control"
        ),
        pytest.param(
            _insert(ARN, 40, "\u00ad"), "U+00AD SOFT HYPHEN at column 40", id="soft-hyphen"
        ),
        pytest.param(
            _insert(ARN, 20, "\u2060"), "U+2060 WORD JOINER at column 20", id="word-joiner"
        ),
        pytest.param(
            _insert(ARN, 20, "\u200e"), "U+200E LEFT-TO-RIGHT MARK at column 20", id="lrm"
        ),
        pytest.param(
            "\u0430" + ARN[1:],
            "U+0430 CYRILLIC SMALL LETTER A at column 1, not ASCII; ARNs are printable ASCII: "
            "retype it",
            id="cyrillic-look-alike",
        ),
        pytest.param(
            _insert(ARN, 20, "\u200b").replace("123456789012", "1234"),
            "U+200B ZERO WIDTH SPACE at column 20, invisible in most editors; ARNs are printable "
            "ASCII: delete it; also, account '1234' is not a 12-digit account ID",
            id="invisible-and-a-bad-field",
        ),
        pytest.param(
            "\u200b" + ARN + "\u200b\u200c",
            "(without it and 2 more such characters the ARN is well-formed)",
            id="several-invisible",
        ),
    ],
)
def test_a_stray_character_is_named_with_its_column(arn: str, expected: str) -> None:
    """Invisible, whitespace, control and look-alike characters: code point, name, column."""
    assert expected in describe_invalid_arn(arn)


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        pytest.param("", "the ARN is empty", id="empty"),
        pytest.param(
            ARN + "x" * MAX_ARN_LENGTH,
            f"the ARN is {len(ARN) + MAX_ARN_LENGTH} characters long; the service allows 2048",
            id="too-long",
        ),
        pytest.param(
            ARN.upper(), "starts with 'arn:' in lowercase, this one with 'ARN:'", id="upper"
        ),
        pytest.param("churn/1", "starts with 'arn:' in lowercase", id="just-a-name"),
        pytest.param("arn:aws:sagemaker", "6 fields separated by ':', this one 3", id="cut-short"),
        pytest.param(ARN.replace(":aws:", ":azure:"), "partition 'azure'", id="partition"),
        pytest.param(ARN.replace("sagemaker", "s3"), "service 's3' is not 'sagemaker'", id="s3"),
        pytest.param(ARN.replace("us-east-1", "us"), "region 'us' is not a region", id="region"),
        pytest.param(
            ARN.replace("123456789012", "12345678901"),
            "account '12345678901' is not a 12-digit account ID",
            id="eleven-digit-account",
        ),
        pytest.param(
            ARN.replace("model-package/churn/1", "model-package-group/churn"),
            "this is a model package group's ARN; describe its versions",
            id="group-arn",
        ),
        pytest.param(
            ARN.replace("model-package/churn/1", "model/churn"),
            "resource 'model' is not 'model-package/NAME[/VERSION]'",
            id="model-arn",
        ),
        pytest.param(ARN.replace("churn/1", ""), "the model package name is missing", id="no-name"),
    ],
)
def test_a_broken_field_is_named(arn: str, expected: str) -> None:
    """Printable ASCII that still breaks the pattern: the first field that does, by name."""
    assert not is_valid_arn(arn)
    assert expected in describe_invalid_arn(arn)


def test_a_clean_arn_has_no_stray_character() -> None:
    """A printable ASCII ARN: nothing to name."""
    assert describe_stray_character(ARN) is None


def test_the_name_part_takes_what_the_service_takes() -> None:
    """A stray character in the name passes the pattern (the service asks): it is still named."""
    arn = _insert(ARN, NAME_AT + 1, "\u200b")
    assert is_valid_arn(arn)
    assert describe_stray_character(arn) == (
        f"the ARN holds U+200B ZERO WIDTH SPACE at column {NAME_AT + 1}, invisible in most "
        "editors; ARNs are printable ASCII: delete it"
    )


_STRAY = st.characters(
    codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Ll", "Lu", "Mn"]
).filter(lambda char: not "!" <= char <= "~")


@given(column=st.integers(1, len(ARN) + 1), char=_STRAY)
def test_any_stray_character_anywhere_is_named_at_its_column(column: int, char: str) -> None:
    """One character outside printable ASCII, at any column: its U+ code and column are named."""
    arn = _insert(ARN, column, char)
    message = describe_invalid_arn(arn)
    assert f"U+{ord(char):04X}" in message
    assert f"at column {column}" in message
    assert "\n" not in message


@given(st.text(max_size=200))
def test_every_string_gets_a_one_line_message(text: str) -> None:
    """No input makes the function fail or return an empty or multi-line message."""
    message = describe_invalid_arn(text)
    assert message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("tail", "char"),
    [
        pytest.param("churn-0001/1,described,churn-0001", ",", id="csv-row"),
        pytest.param('churn-0001/1"', '"', id="quote"),
        pytest.param("churn-0001/1arn:aws:sagemaker", ":", id="two-run-together"),
    ],
)
def test_a_printable_character_no_name_holds_is_named_for_not_found(tail: str, char: str) -> None:
    """A comma, quote or colon in the name passes the pattern; the not-found message names it."""
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{tail}"
    message = describe_stray_character(arn)
    assert message is not None
    assert f"{char!r} at column {arn.index(char, arn.index('/')) + 1}" in message
    assert describe_stray_character(arn.replace(tail, "churn-0001/1")) is None
