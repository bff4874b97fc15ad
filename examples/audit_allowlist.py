"""An audit: approved model packages whose images come from outside an allow-list.

Approved packages are the ones a pipeline may deploy, so an image pulled from
an unvetted registry (Docker Hub, someone's own account) is a supply-chain
risk worth a look. Discovery asks the API for approved packages only, which
costs fewer calls than describing everything and filtering here. Run it
against the embedded local SageMaker, whose catalogue has some images on
docker.io:

    .venv/bin/python examples/audit_allowlist.py
"""

from __future__ import annotations

import logging
import os
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import anyio
import structlog

from sagefetch import Failed, ModelPackageFetcher, RunStoppedError
from sagefetch.testing import LocalSageMaker

if TYPE_CHECKING:
    from types_aiobotocore_sagemaker.type_defs import BatchDescribeModelPackageSummaryTypeDef

# Whole registry hosts, up to the "/": a prefix that stopped at "dkr.ecr." would
# also let "123456789012.dkr.ecr.attacker.example/..." through.
ALLOWED_REGISTRIES: Final = (
    "{account}.dkr.ecr.{region}.amazonaws.com/",  # the package's own account
    # AWS-owned images. A few regions use other accounts: see "Docker Registry
    # Paths and Example Code" in the SageMaker developer guide.
    "763104351884.dkr.ecr.{region}.amazonaws.com/",  # Deep Learning Containers
    "683313688378.dkr.ecr.{region}.amazonaws.com/",  # built-in algorithms (us-east-1)
)


@dataclass
class AllowlistReport:
    """What the audit found."""

    checked: int = 0
    """Approved packages described."""
    flagged: list[tuple[str, str]] = field(default_factory=list)
    """``(arn, image)`` for every image outside the allow-list."""
    failed: list[Failed] = field(default_factory=list)
    """Packages (or whole groups) that could not be checked: not a pass."""
    stopped: RunStoppedError | None = None


def images_outside(summary: BatchDescribeModelPackageSummaryTypeDef) -> list[str]:
    """The images of ``summary`` that no allowed registry serves."""
    _, _, _, region, account, _ = summary["ModelPackageArn"].split(":", 5)
    allowed = tuple(prefix.format(account=account, region=region) for prefix in ALLOWED_REGISTRIES)
    # Typed as required; if the service ever leaves it out, there is no image to flag.
    spec = summary.get("InferenceSpecification")
    containers = spec["Containers"] if spec else []
    images = [container.get("Image", "") for container in containers]
    return [image for image in images if not image.startswith(allowed)]


async def audit(fetcher: ModelPackageFetcher) -> AllowlistReport:
    """Check the images of every approved package the fetcher's account has."""
    report = AllowlistReport()
    try:
        found = fetcher.discover(approval_status="Approved")
        async with aclosing(fetcher.stream(found)) as outcomes:
            async for outcome in outcomes:
                if isinstance(outcome, Failed):
                    report.failed.append(outcome)
                    continue
                report.checked += 1
                images = images_outside(outcome.summary)
                report.flagged += [(outcome.arn, image) for image in images]
    except RunStoppedError as exc:  # what was checked before the stop is still true
        report.stopped = exc
    return report


def print_report(report: AllowlistReport) -> None:
    """Every finding, then the counts; a partial audit says so."""
    for arn, image in sorted(report.flagged):
        print(f"FLAGGED  {arn}  {image}")
    for failed in report.failed:
        print(f"FAILED   {failed.arn}  {failed.code}: {failed.message}")
    packages = len({arn for arn, _ in report.flagged})
    print(
        f"{report.checked} approved packages checked: {packages} with images outside the "
        f"allow-list ({len(report.flagged)} images), {len(report.failed)} could not be checked"
    )
    if report.stopped is not None:
        print(f"INCOMPLETE: the audit stopped early: {report.stopped}")


async def main() -> None:
    async with LocalSageMaker(account_id="123456789012") as sagemaker:
        sagemaker.seed(groups=20, versions=30)
        # The fetcher finds credentials through the standard chain (here: the environment).
        os.environ["AWS_ACCESS_KEY_ID"] = sagemaker.credentials.access_key_id
        os.environ["AWS_SECRET_ACCESS_KEY"] = sagemaker.credentials.secret_access_key
        async with ModelPackageFetcher(
            region_name=sagemaker.region, endpoint_url=sagemaker.endpoint_url
        ) as fetcher:
            report = await audit(fetcher)
        print_report(report)


if __name__ == "__main__":
    # The library never configures logging; an audit's output is its report.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    anyio.run(main)
