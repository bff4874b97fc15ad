"""--where conditions: parsing, and matching against package summaries."""

from __future__ import annotations

from typing import Any

import pytest

from sagefetch.cli._where import matches_all, parse_condition

SUMMARY: dict[str, Any] = {
    "ModelPackageArn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn-0001/3",
    "ModelPackageGroupName": "churn-0001",
    "ModelPackageVersion": 3,
    "ModelApprovalStatus": "Approved",
    "InferenceSpecification": {
        "Containers": [
            {"Image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/ml/churn:v3"},
            {"Image": "docker.io/acme/scorer:3", "ModelDataUrl": "s3://b/m.tar.gz"},
        ]
    },
}


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        pytest.param(["approval=Approved"], True, id="equal"),
        pytest.param(["approval!=Approved"], False, id="not-equal"),
        pytest.param(["version=3", "group~^churn-"], True, id="all-hold"),
        pytest.param(["version=3", "group~^fraud-"], False, id="one-fails"),
        pytest.param([r"image!~^111111111111\.dkr\.ecr\."], True, id="some-image-outside"),
        pytest.param([r"image~^111111111111\.dkr\.ecr\."], True, id="some-image-inside"),
        pytest.param(["image~^quay.io/"], False, id="no-image-matches"),
        pytest.param(["model_data_etag="], True, id="a-container-without-etag"),
        pytest.param(["account=111111111111", "region=eu-west-1"], True, id="origin"),
        pytest.param(["status="], True, id="missing-field-is-empty"),
    ],
)
def test_conditions_match_summaries(conditions: list[str], expected: bool) -> None:
    """Every condition must hold; per-container fields hold when some container does."""
    assert matches_all([parse_condition(text) for text in conditions], SUMMARY) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("approval", "not a condition", id="no-operator"),
        pytest.param("colour=red", "unknown field", id="unknown-field"),
        pytest.param("image~[", "bad regular expression", id="bad-regex"),
    ],
)
def test_bad_conditions_say_what_is_wrong(text: str, message: str) -> None:
    """A condition that cannot be used is a ValueError naming the problem."""
    with pytest.raises(ValueError, match=message):
        parse_condition(text)
