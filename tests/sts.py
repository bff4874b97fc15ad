"""moto's STS in this process (the local servers run it): the roles it was asked to assume."""

from __future__ import annotations

from moto.sts.models import sts_backends


def assumed_roles(account_id: str) -> list[tuple[str, str]]:
    """``(role ARN, access key id)`` of each AssumeRole answered for a role of ``account_id``.

    moto keeps them for the whole process, oldest first: compare with an earlier
    call to see a test's own.
    """
    return [
        (role.role_arn, role.access_key_id)
        for role in sts_backends[account_id]["aws"].assumed_roles
    ]
