"""moto's SageMaker, taught ``BatchDescribeModelPackage`` and seeded without HTTP.

moto 5.2.5 does not implement the operation. It dispatches an ``X-Amz-Target``
action to the snake_case method of the same name on ``SageMakerResponse``, so
adding that method is all the server needs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import ModelPackage, ModelPackageGroup, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from ._catalogue import Catalogue, group_name
from ._wire import RequestValidationError, not_found_entry, validate_arn_list

__all__ = ["install_batch_describe", "reset_account", "seed_moto"]


def install_batch_describe() -> None:
    """Add the ``BatchDescribeModelPackage`` action to moto's SageMaker (idempotent)."""
    SageMakerResponse.batch_describe_model_package = _batch_describe_model_package  # type: ignore[attr-defined]


def _batch_describe_model_package(self: SageMakerResponse) -> ActionResult:
    try:
        arns = validate_arn_list(self._get_param("ModelPackageArnList"))
    except RequestValidationError as exc:
        raise ValidationError(exc.message) from exc
    packages = self.sagemaker_backend.model_packages
    summaries: dict[str, dict[str, Any]] = {}
    errors: dict[str, dict[str, str]] = {}
    for arn in arns:
        package = packages.get(arn)
        if package is None:
            errors[arn] = not_found_entry(arn)
        else:
            summaries[arn] = _summary(package)
    return ActionResult(
        {"ModelPackageSummaries": summaries, "BatchDescribeModelPackageErrorMap": errors}
    )


def _summary(package: ModelPackage) -> dict[str, Any]:
    """Every field of the ``BatchDescribeModelPackageSummary`` shape that moto stores."""
    fields = {
        "ModelPackageGroupName": package.model_package_group_name,
        "ModelPackageVersion": package.model_package_version,
        "ModelPackageArn": package.arn,
        "ModelPackageDescription": package.model_package_description,
        "CreationTime": package.creation_time,
        "InferenceSpecification": package.inference_specification,
        "ModelPackageStatus": package.model_package_status,
        "ModelApprovalStatus": package.model_approval_status,
    }
    return {key: value for key, value in fields.items() if value is not None}


def seed_moto(catalogue: Catalogue) -> None:
    """Put every package of ``catalogue`` straight into moto's backend.

    ``create_model_package`` scans every stored package to number a version,
    which makes 10,000 packages take minutes; this builds the same objects directly.
    """
    backend = sagemaker_backends[catalogue.account_id][catalogue.region]
    for group in range(catalogue.groups):
        name = group_name(group)
        first = catalogue.summary(group, 1) if catalogue.versions else None
        model_group = ModelPackageGroup(
            model_package_group_name=name,
            model_package_group_description=f"Model package group {name}",
            account_id=catalogue.account_id,
            region_name=catalogue.region,
            tags=[],
        )
        if first is not None:
            model_group.creation_time = _moto_time(first["CreationTime"])
        backend.model_package_groups[name] = model_group
        for version in range(1, catalogue.versions + 1):
            summary = catalogue.summary(group, version)
            package = ModelPackage(
                model_package_name=name,
                model_package_group_name=name,
                model_package_version=version,
                model_package_description=summary["ModelPackageDescription"],
                inference_specification=summary["InferenceSpecification"],
                source_algorithm_specification=None,
                validation_specification=None,
                certify_for_marketplace=False,
                model_approval_status=summary["ModelApprovalStatus"],
                metadata_properties=None,
                model_metrics=None,
                approval_description=None,
                customer_metadata_properties=None,
                drift_check_baselines=None,
                domain="MACHINE_LEARNING",
                task="OTHER",
                sample_payload_url=None,  # type: ignore[arg-type]
                additional_inference_specifications=None,  # type: ignore[arg-type]
                client_token="sagefetch-seed",  # noqa: S106 - an idempotency token, not a secret
                region_name=catalogue.region,
                account_id=catalogue.account_id,
                model_package_type="Versioned",
            )
            package.creation_time = _moto_time(summary["CreationTime"])
            if package.arn != summary["ModelPackageArn"]:
                raise AssertionError(
                    f"moto named {package.arn}, expected {summary['ModelPackageArn']}"
                )
            backend.model_packages[package.arn] = package
            backend.model_package_name_mapping[package.arn] = package.arn


def _moto_time(moment: datetime) -> datetime:
    """``moment`` as moto keeps times: naive UTC (its filters compare with naive values)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def reset_account(account_id: str) -> None:
    """Empty moto's SageMaker registry of one account, in every region."""
    sagemaker_backends[account_id].reset()
