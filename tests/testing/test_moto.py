"""moto's SageMaker answers BatchDescribeModelPackage like the service, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagefetch.testing import Catalogue, LocalSageMaker
from sagefetch.testing._wire import NOT_FOUND_CODE
from tests.conftest import raw_client


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


async def test_existing_and_missing_arns_land_in_their_maps(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """Existing packages come back as full summaries; unknown ones as error entries."""
    arns = local_sagemaker.seed(groups=3, versions=4)
    catalogue = local_sagemaker.catalogue
    missing = [
        catalogue.arn(0, 99),
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/no-such-group/1",
        "arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/churn-0000/1",
    ]
    asked = [arns[0], missing[0], arns[5], missing[1], arns[-1], missing[2]]

    response = await sagemaker_client.batch_describe_model_package(ModelPackageArnList=asked)

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    expected_summaries = {
        arn: catalogue.summary(*place)
        for arn in (arns[0], arns[5], arns[-1])
        if (place := catalogue.locate(arn)) is not None
    }
    assert _without_metadata(response) == {
        "ModelPackageSummaries": expected_summaries,
        "BatchDescribeModelPackageErrorMap": {
            arn: {
                "ErrorCode": NOT_FOUND_CODE,
                "ErrorResponse": f"Model package {arn} does not exist.",
            }
            for arn in missing
        },
    }


async def test_a_summary_carries_every_stored_field(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """A summary has every field of the shape that moto stores, with botocore's types."""
    [arn] = local_sagemaker.seed(groups=1, versions=1)

    response = await sagemaker_client.batch_describe_model_package(ModelPackageArnList=[arn])

    summary = response["ModelPackageSummaries"][arn]
    assert set(summary) == {
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageDescription",
        "CreationTime",
        "InferenceSpecification",
        "ModelPackageStatus",
        "ModelApprovalStatus",
    }
    assert summary["ModelPackageVersion"] == 1
    assert summary["CreationTime"].tzinfo is not None
    spec = summary["InferenceSpecification"]
    assert spec["Containers"][0]["Image"]
    assert spec["SupportedTransformInstanceTypes"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"]


async def test_a_malformed_arn_fails_the_whole_call(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """One bad ARN among good ones is HTTP 400 ValidationException naming its member."""
    arns = local_sagemaker.seed(groups=1, versions=3)

    with pytest.raises(ClientError) as caught:
        await sagemaker_client.batch_describe_model_package(
            ModelPackageArnList=[arns[0], arns[1], "model-package/churn-0000/1", arns[2]]
        )

    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ValidationException"
    assert "'modelPackageArnList.3.member'" in error["Error"]["Message"]


@pytest.mark.parametrize(
    ("count", "fragment"),
    [
        pytest.param(0, "Member must have length greater than or equal to 1", id="0-arns"),
        pytest.param(101, "Member must have length less than or equal to 100", id="101-arns"),
    ],
)
async def test_list_size_outside_1_to_100_is_rejected(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any, count: int, fragment: str
) -> None:
    """An empty list and a list of 101 are HTTP 400 ValidationException."""
    arns = local_sagemaker.seed(groups=1, versions=101)[:count]

    with pytest.raises(ClientError) as caught:
        await sagemaker_client.batch_describe_model_package(ModelPackageArnList=arns)

    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ValidationException"
    assert fragment in error["Error"]["Message"]


async def test_100_arns_is_the_largest_accepted_call(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """A full batch of 100 is described in one call."""
    arns = local_sagemaker.seed(groups=1, versions=100)

    response = await sagemaker_client.batch_describe_model_package(ModelPackageArnList=arns)

    assert sorted(response["ModelPackageSummaries"]) == sorted(arns)
    assert response["BatchDescribeModelPackageErrorMap"] == {}


async def test_seeded_packages_are_real_moto_packages(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """Seeded groups list through moto's own API, and new versions number after them."""
    local_sagemaker.seed(groups=3, versions=5)

    groups = await sagemaker_client.list_model_package_groups(MaxResults=100)
    created = await sagemaker_client.create_model_package(
        ModelPackageGroupName="fraud-0001",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )

    assert sorted(g["ModelPackageGroupName"] for g in groups["ModelPackageGroupSummaryList"]) == [
        "churn-0000",
        "fraud-0001",
        "ranking-0002",
    ]
    assert created["ModelPackageArn"].endswith("model-package/fraud-0001/6")
    described = await sagemaker_client.batch_describe_model_package(
        ModelPackageArnList=[created["ModelPackageArn"]]
    )
    assert (
        described["ModelPackageSummaries"][created["ModelPackageArn"]]["ModelPackageVersion"] == 6
    )


async def test_ten_thousand_packages_seed_and_describe(
    local_sagemaker: LocalSageMaker, sagemaker_client: Any
) -> None:
    """A 100 x 100 registry seeds without HTTP and any slice of it is described."""
    arns = local_sagemaker.seed(groups=100, versions=100)

    response = await sagemaker_client.batch_describe_model_package(ModelPackageArnList=arns[::101])

    assert len(arns) == len(set(arns)) == 10_000
    assert sorted(response["ModelPackageSummaries"]) == sorted(arns[::101])
    assert local_sagemaker.counters.calls == 1


async def test_registries_of_two_accounts_are_separate(sagemaker_client: Any) -> None:
    """Two servers with different accounts do not see each other's packages."""
    async with LocalSageMaker(account_id="111111111111") as other:
        other_arns = other.seed(groups=1, versions=2)
        async with raw_client(other) as other_client:
            mine = await other_client.batch_describe_model_package(ModelPackageArnList=other_arns)
        theirs = await sagemaker_client.batch_describe_model_package(
            ModelPackageArnList=[arn.replace("111111111111", "123456789012") for arn in other_arns]
        )
        other.reset()

    assert sorted(mine["ModelPackageSummaries"]) == sorted(other_arns)
    assert theirs["ModelPackageSummaries"] == {}
    assert len(theirs["BatchDescribeModelPackageErrorMap"]) == 2


def test_catalogue_and_moto_agree_on_arns() -> None:
    """The catalogue names packages the way moto does (group names are lower case)."""
    catalogue = Catalogue("123456789012", "eu-west-1", groups=2, versions=2)
    assert catalogue.arns() == [
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-0000/1",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-0000/2",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/fraud-0001/1",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/fraud-0001/2",
    ]
