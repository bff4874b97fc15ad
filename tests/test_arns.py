"""The service's ARN limits and pattern."""

from __future__ import annotations

import pytest

from sagefetch._arns import MAX_ARN_LENGTH, is_valid_arn

GOOD = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-0001/3"


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param(GOOD, id="commercial"),
        pytest.param(
            GOOD.replace("arn:aws:", "arn:aws-cn:").replace("us-east-1", "cn-north-1"), id="china"
        ),
        pytest.param(
            GOOD.replace("arn:aws:", "arn:aws-us-gov:").replace("us-east-1", "us-gov-west-1"),
            id="govcloud",
        ),
        pytest.param(GOOD.replace("churn-0001/3", "UPPER-Case/1"), id="uppercase-name"),
        pytest.param(GOOD.replace("churn-0001/3", "unversioned-package"), id="unversioned"),
        pytest.param(
            GOOD.replace("churn-0001/3", "x" * (MAX_ARN_LENGTH - len(GOOD) + len("churn-0001/3"))),
            id="exactly-2048",
        ),
        # Java's \S, which the service uses, matches every non-ASCII-whitespace character.
        pytest.param(GOOD + "\x00", id="nul-byte"),
        pytest.param(GOOD + "\u00a0", id="no-break-space"),
    ],
)
def test_valid_arns_are_accepted(arn: str) -> None:
    """Well-formed ARNs of every partition pass."""
    assert is_valid_arn(arn)


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param("", id="empty"),
        pytest.param("arn:bad", id="garbage"),
        pytest.param(GOOD.replace("model-package/", "model-package-group/"), id="group-arn"),
        pytest.param(GOOD.replace("123456789012", "12345"), id="short-account"),
        pytest.param(GOOD.replace("us-east-1", "us"), id="short-region"),
        pytest.param(GOOD.replace("sagemaker", "SageMaker"), id="service-case"),
        pytest.param(GOOD + " trailing", id="space"),
        pytest.param(GOOD + "\t", id="tab"),
        pytest.param(GOOD.replace("churn-0001/3", ""), id="no-name"),
        pytest.param(GOOD + "x" * MAX_ARN_LENGTH, id="too-long"),
    ],
)
def test_malformed_arns_are_rejected(arn: str) -> None:
    """ARNs the service would refuse fail the check."""
    assert not is_valid_arn(arn)
