"""The synthetic backend speaks the same wire format as moto's SageMaker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from sagefetch.testing import LocalSageMaker


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


async def test_synthetic_and_moto_answers_parse_identically(
    local_sagemaker: LocalSageMaker,
    sagemaker_client: Any,
    synthetic_sagemaker: LocalSageMaker,
    synthetic_client: Any,
) -> None:
    """For the same registry and request, botocore parses both answers to equal dicts."""
    arns = local_sagemaker.seed(groups=4, versions=20)
    assert synthetic_sagemaker.seed(groups=4, versions=20) == arns
    asked = [*arns[::3], arns[0].replace("/1", "/404"), arns[1].replace("churn", "nope")]

    from_moto = await sagemaker_client.batch_describe_model_package(ModelPackageArnList=asked)
    from_synthetic = await synthetic_client.batch_describe_model_package(ModelPackageArnList=asked)

    assert _without_metadata(from_synthetic) == _without_metadata(from_moto)
    assert len(from_synthetic["ModelPackageSummaries"]) == len(arns[::3])


@pytest.mark.parametrize(
    "arns",
    [
        pytest.param([], id="0-arns"),
        pytest.param(
            ["arn:aws:sagemaker:us-east-1:123456789012:model-package/a/1"] * 101, id="101-arns"
        ),
        pytest.param(
            ["arn:aws:sagemaker:us-east-1:123456789012:model-package/a/1", "bad"], id="malformed"
        ),
    ],
)
async def test_synthetic_and_moto_reject_the_same_calls(
    sagemaker_client: Any, synthetic_client: Any, arns: list[str]
) -> None:
    """Validation failures carry the same code, status and message on both backends."""
    errors = []
    for client in (sagemaker_client, synthetic_client):
        with pytest.raises(ClientError) as caught:
            await client.batch_describe_model_package(ModelPackageArnList=arns)
        errors.append(
            (
                caught.value.response["Error"],
                caught.value.response["ResponseMetadata"]["HTTPStatusCode"],
            )
        )

    assert errors[0] == errors[1]
    assert errors[0][0]["Code"] == "ValidationException"


async def test_the_synthetic_backend_serves_only_batch_describe(synthetic_client: Any) -> None:
    """Other operations are refused with a clear error rather than a wrong answer."""
    with pytest.raises(ClientError) as caught:
        await synthetic_client.list_model_package_groups()

    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"


async def test_reseeding_the_synthetic_backend_grows_its_catalogue(
    synthetic_sagemaker: LocalSageMaker, synthetic_client: Any
) -> None:
    """Seeding again with more versions adds packages; a reset removes them all."""
    synthetic_sagemaker.seed(groups=2, versions=1)
    more = synthetic_sagemaker.seed(groups=1, versions=3)

    grown = await synthetic_client.batch_describe_model_package(ModelPackageArnList=more)
    synthetic_sagemaker.reset()
    emptied = await synthetic_client.batch_describe_model_package(ModelPackageArnList=more)

    assert sorted(grown["ModelPackageSummaries"]) == sorted(more)
    assert synthetic_sagemaker.catalogue.groups == 0
    assert emptied["ModelPackageSummaries"] == {}
