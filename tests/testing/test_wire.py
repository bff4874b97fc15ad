"""Request validation shared by both backends, as the service words it."""

from __future__ import annotations

import pytest

from sagefetch.testing._wire import RequestValidationError, validate_arn_list

GOOD = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-0001/3"


def test_a_valid_list_is_returned_unchanged() -> None:
    """1..100 well-formed ARNs pass unchanged, duplicates included."""
    arns = [GOOD] * 100
    assert validate_arn_list(arns) == arns


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        pytest.param(None, "Member must not be null", id="missing"),
        pytest.param("not-a-list", "Member must be a list of strings", id="string"),
        pytest.param([GOOD, 7], "Member must be a list of strings", id="number-member"),
        pytest.param([], "length greater than or equal to 1", id="empty"),
        pytest.param([GOOD] * 101, "length less than or equal to 100", id="101"),
    ],
)
def test_bad_lists_fail_the_whole_call(value: object, fragment: str) -> None:
    """A missing, empty or oversized list is one validation error on the list."""
    with pytest.raises(RequestValidationError) as caught:
        validate_arn_list(value)
    assert caught.value.message.startswith("1 validation error detected: ")
    assert "'modelPackageArnList'" in caught.value.message
    assert fragment in caught.value.message


def test_each_malformed_member_is_named_by_its_one_based_position() -> None:
    """Every bad member is reported as ``modelPackageArnList.N.member``."""
    too_long = GOOD + "x" * 2048
    with pytest.raises(RequestValidationError) as caught:
        validate_arn_list([GOOD, "arn:bad", GOOD, too_long])
    message = caught.value.message
    assert message.startswith("2 validation errors detected: ")
    assert "Value 'arn:bad' at 'modelPackageArnList.2.member'" in message
    assert "regular expression pattern" in message
    assert "'modelPackageArnList.4.member'" in message
    assert "length less than or equal to 2048" in message
    assert "modelPackageArnList.1.member" not in message
