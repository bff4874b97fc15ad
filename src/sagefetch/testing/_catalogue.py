"""A made-up but realistic model registry: names, versions and inference specs.

Every package is a pure function of ``(account, region, group index, version)``,
so the moto seeder and the synthetic backend describe the same registry without
storing it twice, and a run is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = ["Catalogue", "group_name", "parse_group_index"]

_DOMAINS: Final = (
    "churn",
    "fraud",
    "ranking",
    "forecast",
    "pricing",
    "vision",
    "nlp-intent",
    "anomaly",
)
_EPOCH: Final = datetime(2024, 1, 1, tzinfo=UTC)
_APPROVALS: Final = ("Approved", "PendingManualApproval", "Rejected")
_APPROVAL_WEIGHTS: Final = (50, 35, 15)
_TRANSFORM_TYPES: Final = (
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.c5.xlarge",
    "ml.c5.2xlarge",
    "ml.g4dn.xlarge",
)
_REALTIME_TYPES: Final = (
    "ml.t2.medium",
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.c5.large",
    "ml.g4dn.xlarge",
    "ml.g5.xlarge",
    "ml.inf2.xlarge",
)
# (framework, version, image template); {account} is the registry's own account.
_IMAGES: Final = (
    ("XGBOOST", "1.7", "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1"),
    (
        "PYTORCH",
        "2.1",
        "763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-inference:2.1.0-cpu-py310",
    ),
    ("SKLEARN", "1.2", "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:1.2-1"),
    (
        "TENSORFLOW",
        "2.13",
        "763104351884.dkr.ecr.{region}.amazonaws.com/tensorflow-inference:2.13-cpu",
    ),
    ("PYTORCH", "2.1", "{account}.dkr.ecr.{region}.amazonaws.com/ml/{group}:v{version}"),
    ("SKLEARN", "1.2", "docker.io/acme-ml/scorer:{version}"),
)


def group_name(index: int) -> str:
    """The name of group ``index``: a domain and a zero-padded number."""
    return f"{_DOMAINS[index % len(_DOMAINS)]}-{index:04d}"


def parse_group_index(name: str) -> int | None:
    """The index of a group named by :func:`group_name`, or ``None``."""
    _, _, number = name.rpartition("-")
    if not number.isdigit():
        return None
    index = int(number)
    return index if group_name(index) == name else None


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The packages of one account and region: ``groups`` x ``versions``."""

    account_id: str
    region: str
    groups: int = 0
    versions: int = 0

    def arn(self, group: int, version: int) -> str:
        """The ARN of version ``version`` (from 1) of group ``group`` (from 0)."""
        return (
            f"arn:aws:sagemaker:{self.region}:{self.account_id}:"
            f"model-package/{group_name(group)}/{version}"
        )

    def arns(self) -> list[str]:
        """Every package ARN, group by group."""
        return [
            self.arn(group, version)
            for group in range(self.groups)
            for version in range(1, self.versions + 1)
        ]

    def locate(self, arn: str) -> tuple[int, int] | None:
        """``(group, version)`` of an ARN in this catalogue, or ``None``."""
        prefix = f"arn:aws:sagemaker:{self.region}:{self.account_id}:model-package/"
        if not arn.startswith(prefix):
            return None
        name, _, version_text = arn[len(prefix) :].partition("/")
        group = parse_group_index(name)
        if group is None or not version_text.isdigit() or group >= self.groups:
            return None
        version = int(version_text)
        return (group, version) if 1 <= version <= self.versions else None

    def summary(self, group: int, version: int) -> dict[str, Any]:
        """The API's summary of one package (``CreationTime`` as a datetime)."""
        rng = random.Random(group * 1_000_003 + version)
        name = group_name(group)
        return {
            "ModelPackageGroupName": name,
            "ModelPackageVersion": version,
            "ModelPackageArn": self.arn(group, version),
            "ModelPackageDescription": f"{name.rsplit('-', 1)[0]} model, version {version}",
            "CreationTime": _EPOCH + timedelta(days=group, minutes=version),
            "InferenceSpecification": self._inference_specification(rng, name, version),
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": rng.choices(_APPROVALS, _APPROVAL_WEIGHTS)[0],
        }

    def _inference_specification(
        self, rng: random.Random, name: str, version: int
    ) -> dict[str, Any]:
        containers = [
            self._container(rng, name, version, position)
            for position in range(rng.choice((1, 1, 1, 2)))
        ]
        content_type = rng.choice(("text/csv", "application/json", "application/x-npy"))
        return {
            "Containers": containers,
            "SupportedTransformInstanceTypes": sorted(rng.sample(_TRANSFORM_TYPES, 2)),
            "SupportedRealtimeInferenceInstanceTypes": sorted(
                rng.sample(_REALTIME_TYPES, rng.randint(1, 3))
            ),
            "SupportedContentTypes": [content_type],
            "SupportedResponseMIMETypes": [rng.choice((content_type, "application/json"))],
        }

    def _container(
        self, rng: random.Random, name: str, version: int, position: int
    ) -> dict[str, Any]:
        framework, framework_version, template = rng.choice(_IMAGES)
        image = template.format(
            account=self.account_id, region=self.region, group=name, version=version
        )
        model_data = (
            f"s3://sagemaker-{self.region}-{self.account_id}/{name}/v{version}/"
            f"model-{position}.tar.gz"
        )
        container: dict[str, Any] = {
            "Image": image,
            "Environment": {
                "SAGEMAKER_PROGRAM": "inference.py",
                "MODEL_VERSION": str(version),
                "LOG_LEVEL": rng.choice(("INFO", "WARNING")),
            },
            "Framework": framework,
            "FrameworkVersion": framework_version,
        }
        if position:
            container["ContainerHostname"] = f"{name}-c{position}"
        if rng.random() < 0.5:
            container["ImageDigest"] = f"sha256:{rng.getrandbits(256):064x}"
        if rng.random() < 0.8:
            container["ModelDataUrl"] = model_data
            if rng.random() < 0.6:
                container["ModelDataETag"] = f"{rng.getrandbits(128):032x}"
        else:
            container["ModelDataSource"] = {
                "S3DataSource": {
                    "S3Uri": model_data.rsplit("/", 1)[0] + "/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            }
        return container
