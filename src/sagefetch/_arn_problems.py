"""Why an ARN is not one the service accepts, in words that say what to fix.

Most bad ARNs in real files look right: a zero-width space or a no-break space
pasted from a web page, a byte order mark from ``cat`` of two files, a
Cyrillic letter that looks Latin. The first character no ARN holds is named by
code point, Unicode name and column before anything else; then the first field
that breaks the service's pattern (``_arns.MODEL_PACKAGE_ARN_PATTERN``).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from ._arns import MAX_ARN_LENGTH, is_valid_arn

__all__ = ["describe_invalid_arn", "describe_stray_character"]

_RESOURCE: Final = ":model-package/"
_SHAPE: Final = "arn:aws[-partition]:sagemaker:REGION:ACCOUNT_ID:model-package/NAME[/VERSION]"
# C0 and C1 controls have no name in unicodedata; these are the ones files hold.
_CONTROL_NAMES: Final = {
    "\x00": "NULL",
    "\t": "CHARACTER TABULATION",
    "\n": "LINE FEED",
    "\x0b": "LINE TABULATION",
    "\x0c": "FORM FEED",
    "\r": "CARRIAGE RETURN",
    "\x1a": "SUBSTITUTE",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
}
_PARTITION: Final = re.compile(r"aws[a-z\-]*", re.ASCII)
_REGION: Final = re.compile(r"[a-z0-9\-]{9,16}", re.ASCII)
_ACCOUNT: Final = re.compile(r"[0-9]{12}", re.ASCII)


def describe_invalid_arn(arn: str) -> str:
    """Why ``arn`` is not a model package ARN the service accepts, and what to do.

    Meant for ARNs :func:`~sagefetch._arns.is_valid_arn` refuses; for others
    it still names a stray character if there is one.
    """
    if not 1 <= len(arn) <= MAX_ARN_LENGTH:
        return (
            f"the ARN is {len(arn)} characters long; the service allows {MAX_ARN_LENGTH}"
            if arn
            else "the ARN is empty"
        )
    stray = _first_stray(arn)
    if stray is None:
        return _field_problem(arn) or f"not a model package ARN the service accepts ({_SHAPE})"
    column, char = stray
    if char.isspace() and (not arn[: column - 1].strip() or not arn[column:].strip()):
        return (
            f"the ARN has surrounding whitespace ({_describe(char)} at column {column}); "
            "strip it before describing"
        )
    message = _stray_message(column, char)
    visible = "".join(c for c in arn if not _invisible(c))
    if not _invisible(char):
        return message
    if is_valid_arn(visible):
        more = len(arn) - len(visible) - 1
        others = f" and {more} more such character{'s' if more > 1 else ''}" if more else ""
        return f"{message} (without it{others} the ARN is well-formed)"
    problem = _field_problem(visible)
    return f"{message}; also, {problem}" if problem else message


def describe_stray_character(arn: str) -> str | None:
    """The first character of ``arn`` that no ARN holds, by name and column; None if none.

    ARNs are printable ASCII, and a model package's name and version hold only
    letters, digits and hyphens. The service's pattern takes any non-space
    character in the name, so an ARN with a zero-width space or a comma there
    is asked for and "not found": this names the character for that message.
    """
    stray = _first_stray(arn)
    if stray is not None:
        return _stray_message(*stray)
    # Printable, yet no model package name holds it: a comma from a CSV row, a quote.
    start = arn.find(_RESOURCE) + len(_RESOURCE) if _RESOURCE in arn else len(arn)
    for index in range(start, len(arn)):
        if not (arn[index].isalnum() or arn[index] in "-/"):
            return (
                f"the ARN holds {arn[index]!r} at column {index + 1}, which no model package "
                "name holds (names are letters, digits and hyphens): is this a line of a CSV "
                "file, or two ARNs run together?"
            )
    return None


def _stray_message(column: int, char: str) -> str:
    where = f"the ARN holds {_describe(char)} at column {column}"
    if char.isspace():
        return f"{where}; ARNs hold no whitespace: delete it"
    if not char.isprintable():
        return f"{where}, invisible in most editors; ARNs are printable ASCII: delete it"
    return f"{where}, not ASCII; ARNs are printable ASCII: retype it"


def _first_stray(arn: str) -> tuple[int, str] | None:
    """(1-based column, character) of the first character outside printable ASCII."""
    for index, char in enumerate(arn):
        if not "!" <= char <= "~":
            return index + 1, char
    return None


def _invisible(char: str) -> bool:
    return char.isspace() or not char.isprintable()


def _describe(char: str) -> str:
    """``U+200B ZERO WIDTH SPACE``: the code point and its name, or what it is."""
    code = f"U+{ord(char):04X}"
    if char == "\ufeff":
        return f"{code} ZERO WIDTH NO-BREAK SPACE (a byte order mark)"
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(char, "")
    if name:
        return f"{code} {name}"
    return f"{code} (a control character)" if unicodedata.category(char) == "Cc" else code


def _field_problem(arn: str) -> str | None:
    """The first field of ``arn`` that breaks the pattern, in words; None if none found."""
    fields = arn.split(":", 5)
    if fields[0] != "arn":
        return f"an ARN starts with 'arn:' in lowercase, this one with {arn[:4]!r} ({_SHAPE})"
    if len(fields) < 6:
        return f"an ARN has 6 fields separated by ':', this one {len(fields)} ({_SHAPE})"
    _, partition, service, region, account, resource = fields
    checks = (
        (
            _PARTITION.fullmatch(partition),
            f"partition {partition!r} is not aws, aws-cn, aws-us-gov or another aws-...",
        ),
        (service == "sagemaker", f"service {service!r} is not 'sagemaker'"),
        (_REGION.fullmatch(region), f"region {region!r} is not a region name such as 'us-east-1'"),
        (_ACCOUNT.fullmatch(account), f"account {account!r} is not a 12-digit account ID"),
    )
    problem = next((message for holds, message in checks if not holds), None)
    return problem or _resource_problem(resource)


def _resource_problem(resource: str) -> str | None:
    kind, _, name = resource.partition("/")
    if kind == "model-package-group":
        return (
            "this is a model package group's ARN; describe its versions "
            "(...:model-package/GROUP/VERSION)"
        )
    if kind != "model-package":
        return f"resource {kind!r} is not 'model-package/NAME[/VERSION]'"
    return None if name else "the model package name is missing after 'model-package/'"
