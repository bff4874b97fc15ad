"""Per-ARN checks shared by the pipeline, reliability and property tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagefetch import Described, Failed, Outcome

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sagefetch.testing import Catalogue


def by_arn(outcomes: list[Outcome]) -> dict[str, Outcome]:
    """Outcomes keyed by ARN; fails if an ARN got more than one."""
    keyed = {outcome.arn: outcome for outcome in outcomes}
    assert len(keyed) == len(outcomes), "an ARN got more than one outcome"
    return keyed


def check_outcomes(
    outcomes: list[Outcome],
    catalogue: Catalogue,
    distinct: Iterable[str],
    malformed: Iterable[str] = (),
    *,
    malformed_code: str = "InvalidArn",
) -> None:
    """Every distinct ARN has exactly one outcome, and it is the right one.

    Packages of ``catalogue`` are described with their true summary, ARNs in
    ``malformed`` fail with ``malformed_code``, every other ARN fails as
    ``ResourceNotFound``.
    """
    keyed = by_arn(outcomes)
    malformed = set(malformed)
    assert set(keyed) == set(distinct)
    for arn, outcome in keyed.items():
        place = catalogue.locate(arn)
        if arn in malformed:
            assert isinstance(outcome, Failed), arn
            assert outcome.code == malformed_code, outcome
        elif place is None:
            assert isinstance(outcome, Failed), arn
            assert outcome.code == "ResourceNotFound", outcome
        else:
            assert isinstance(outcome, Described), outcome
            assert outcome.summary == catalogue.summary(*place)
