"""Assumed-role credentials: the role ARN's account, and STS AssumeRole on the local server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aiobotocore.session import AioSession

from sagefetch._credentials import assume_role, role_account
from sagefetch.testing import Credentials
from tests.sts import assumed_roles

if TYPE_CHECKING:
    from sagefetch.testing import LocalSageMaker


@pytest.mark.parametrize(
    ("role_arn", "account"),
    [
        pytest.param("arn:aws:iam::111111111111:role/audit", "111111111111", id="aws"),
        pytest.param("arn:aws-cn:iam::222222222222:role/ops/audit", "222222222222", id="path"),
    ],
)
def test_role_account_reads_the_account(role_arn: str, account: str) -> None:
    """The account of a role ARN is its fifth field."""
    assert role_account(role_arn) == account


@pytest.mark.parametrize(
    "role_arn",
    [
        pytest.param("arn:aws:iam::1:role/x", id="short-account"),
        pytest.param("arn:aws:iam::111111111111:user/x", id="a-user"),
        pytest.param("audit", id="a-name"),
    ],
)
def test_role_account_refuses_what_is_not_a_role(role_arn: str) -> None:
    """Anything but an IAM role ARN is a ValueError saying what is expected."""
    with pytest.raises(ValueError, match="not an IAM role ARN"):
        role_account(role_arn)


async def test_a_session_signs_as_the_assumed_role(
    local_sagemaker: LocalSageMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After assume_role the session signs with what STS AssumeRole gave for that role."""
    local_sagemaker.seed(groups=1, versions=1)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", local_sagemaker.endpoint_url)
    role = "arn:aws:iam::123456789012:role/audit"
    earlier = len(assumed_roles("123456789012"))
    session = AioSession()
    assume_role(session, role, "us-east-1")

    credentials = await session.get_credentials()
    assert credentials is not None
    frozen = await credentials.get_frozen_credentials()
    async with session.create_client(
        "sagemaker", region_name="us-east-1", endpoint_url=local_sagemaker.endpoint_url
    ) as client:
        groups = await client.list_model_package_groups()

    assert assumed_roles("123456789012")[earlier:] == [(role, frozen.access_key)]
    assert frozen.access_key != Credentials().access_key_id
    assert frozen.access_key.startswith("ASIA")
    assert frozen.token
    assert len(groups["ModelPackageGroupSummaryList"]) == 1
