"""The generated registry is deterministic, self-consistent and varied."""

from __future__ import annotations

from collections import Counter

import pytest

from sagefetch._arns import is_valid_arn
from sagefetch.testing import Catalogue
from sagefetch.testing._catalogue import group_name, parse_group_index

CATALOGUE = Catalogue("123456789012", "us-west-2", groups=40, versions=25)


def test_every_arn_is_well_formed_and_locates_back() -> None:
    """Each ARN passes the service pattern and maps back to its group and version."""
    arns = CATALOGUE.arns()
    assert len(set(arns)) == 1000
    assert all(is_valid_arn(arn) for arn in arns)
    assert [CATALOGUE.locate(arn) for arn in arns[:3]] == [(0, 1), (0, 2), (0, 3)]
    assert all(
        CATALOGUE.summary(*CATALOGUE.locate(arn))["ModelPackageArn"] == arn  # type: ignore[misc]
        for arn in arns
    )


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param(CATALOGUE.arn(40, 1), id="group-beyond-range"),
        pytest.param(CATALOGUE.arn(0, 26), id="version-beyond-range"),
        pytest.param(CATALOGUE.arn(0, 1).replace("/1", "/0"), id="version-0"),
        pytest.param(CATALOGUE.arn(0, 1).replace("us-west-2", "us-east-1"), id="other-region"),
        pytest.param(CATALOGUE.arn(0, 1).replace("churn-0000", "fraud-0000"), id="wrong-domain"),
        pytest.param(CATALOGUE.arn(0, 1).replace("/1", "/x"), id="non-numeric-version"),
    ],
)
def test_arns_outside_the_catalogue_do_not_locate(arn: str) -> None:
    """Packages that were not generated are not found."""
    assert CATALOGUE.locate(arn) is None


def test_summaries_are_a_pure_function_of_their_place() -> None:
    """The same place gives the same summary, every time and in every catalogue size."""
    bigger = Catalogue("123456789012", "us-west-2", groups=400, versions=400)
    assert CATALOGUE.summary(3, 7) == CATALOGUE.summary(3, 7) == bigger.summary(3, 7)


def test_the_registry_is_realistically_varied() -> None:
    """Approval statuses, images, model data sources and container counts all vary."""
    summaries = [CATALOGUE.summary(g, v) for g in range(40) for v in range(1, 26)]
    containers = [c for s in summaries for c in s["InferenceSpecification"]["Containers"]]

    approvals = Counter(s["ModelApprovalStatus"] for s in summaries)
    assert set(approvals) == {"Approved", "PendingManualApproval", "Rejected"}
    assert len({c["Image"] for c in containers}) > 50
    assert any(image.startswith("docker.io/") for image in (c["Image"] for c in containers))
    assert any("ModelDataSource" in c for c in containers)
    assert any("ModelDataETag" in c for c in containers)
    assert any(len(s["InferenceSpecification"]["Containers"]) == 2 for s in summaries)
    assert len({s["CreationTime"] for s in summaries}) == len(summaries)


def test_group_names_round_trip() -> None:
    """Group names parse back to their index; other names do not."""
    assert [parse_group_index(group_name(i)) for i in (0, 7, 1234)] == [0, 7, 1234]
    assert parse_group_index("churn-0001") is None
    assert parse_group_index("my-models") is None
