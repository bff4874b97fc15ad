r"""``--where``: keep only the described packages an audit asks about.

A condition is ``FIELD OP VALUE`` with OP one of ``=``, ``!=``, ``~`` (regular
expression search), ``!~``; several conditions must all hold. Fields holding
one value per container (``image``, ``model_data_url``, ``model_data_etag``)
match when the condition holds for at least one container, so
``image!~^123456789012\.dkr\.ecr\.`` finds packages with any image outside
that registry. Conditions apply to described packages only: failed records
are always kept, so a filter never hides an ARN that went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


__all__ = ["FIELDS", "Condition", "matches_all", "parse_condition"]

#: A package summary, read as plain JSON-like data.
Summary = Mapping[str, Any]


def _containers(summary: Summary) -> list[Summary]:
    spec = summary.get("InferenceSpecification") or {}
    return list(spec.get("Containers") or []) or [{}]


def _model_data_url(container: Summary) -> str:
    url = container.get("ModelDataUrl")
    if url:
        return str(url)
    source = container.get("ModelDataSource") or {}
    s3 = source.get("S3DataSource") or {} if isinstance(source, dict) else {}
    return str(s3.get("S3Uri") or "") if isinstance(s3, dict) else ""


def _arn_part(summary: Summary, index: int) -> str:
    parts = str(summary.get("ModelPackageArn") or "").split(":")
    return parts[index] if len(parts) > index else ""


def _one(key: str) -> Callable[[Summary], list[str]]:
    def get(summary: Summary) -> list[str]:
        value = summary.get(key)
        if value is None:
            return [""]
        return [value.isoformat() if hasattr(value, "isoformat") else str(value)]

    return get


def _each(
    get: Callable[[Summary], str],
) -> Callable[[Summary], list[str]]:
    return lambda summary: [get(container) for container in _containers(summary)]


#: Fields a condition can test, and how to read their values from a summary.
FIELDS: Final[dict[str, Callable[[Summary], list[str]]]] = {
    "arn": _one("ModelPackageArn"),
    "account": lambda summary: [_arn_part(summary, 4)],
    "region": lambda summary: [_arn_part(summary, 3)],
    "group": _one("ModelPackageGroupName"),
    "version": _one("ModelPackageVersion"),
    "approval": _one("ModelApprovalStatus"),
    "status": _one("ModelPackageStatus"),
    "created": _one("CreationTime"),
    "description": _one("ModelPackageDescription"),
    "image": _each(lambda container: str(container.get("Image") or "")),
    "model_data_url": _each(_model_data_url),
    "model_data_etag": _each(lambda container: str(container.get("ModelDataETag") or "")),
}

_CONDITION: Final = re.compile(r"(?P<field>[a-z_]+)\s*(?P<op>!~|!=|~|=)(?P<value>.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``--where`` condition."""

    field: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, summary: Summary) -> bool:
        """Whether the condition holds for ``summary`` (for some container, if per container)."""
        return any(self._holds(value) for value in FIELDS[self.field](summary))

    def _holds(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.pattern is not None
        found = self.pattern.search(value) is not None
        return found if self.op == "~" else not found


def parse_condition(text: str) -> Condition:
    """Parse ``FIELD OP VALUE``.

    Raises:
        ValueError: not a condition, an unknown field, or a bad regular expression.
    """
    match = _CONDITION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a condition\n"
            "HINT: FIELD=VALUE, FIELD!=VALUE, FIELD~REGEX or FIELD!~REGEX, "
            "e.g. approval=Approved or 'image!~^123456789012\\.dkr\\.ecr\\.'"
        )
    field, op, value = match["field"], match["op"], match["value"]
    if field not in FIELDS:
        raise ValueError(f"unknown field {field!r} in {text!r}\nHINT: fields: {', '.join(FIELDS)}")
    pattern = None
    if op in ("~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression in {text!r}: {exc}") from exc
    return Condition(field, op, value, pattern)


def matches_all(conditions: Sequence[Condition], summary: Summary) -> bool:
    """Whether every condition holds for ``summary``."""
    return all(condition.matches(summary) for condition in conditions)
