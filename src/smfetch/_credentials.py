"""Credentials of an assumed role, refreshed before they expire (STS ``AssumeRole``).

A session gets a credential provider at the head of its chain that assumes
the role with the session's own credentials (the standard chain or its
profile), the way botocore's ``role_arn``/``source_profile`` profiles do, so
an audit longer than one session lifetime keeps going.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final, cast

from aiobotocore.credentials import (
    AioAssumeRoleCredentialFetcher,
    AioDeferredRefreshableCredentials,
)
from botocore.credentials import CredentialProvider
from botocore.exceptions import NoCredentialsError

if TYPE_CHECKING:
    from aiobotocore.session import AioSession

__all__ = ["ROLE_ARN_PATTERN", "assume_role", "role_account"]

#: An IAM role ARN, as ``sts:AssumeRole`` accepts it.
ROLE_ARN_PATTERN: Final = re.compile(
    r"arn:aws[a-z\-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}", re.ASCII
)
_SESSION_NAME: Final = "smfetch"


def role_account(role_arn: str) -> str:
    """The account of ``role_arn``.

    Raises:
        ValueError: ``role_arn`` is not an IAM role ARN.
    """
    match = ROLE_ARN_PATTERN.fullmatch(role_arn)
    if match is None:
        raise ValueError(f"{role_arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT_ID:role/NAME)")
    return match.group(1)


class _AssumedRole(CredentialProvider):
    METHOD = "smfetch-assume-role"
    CANONICAL_NAME = "SmfetchAssumeRole"

    def __init__(self, credentials: AioDeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    async def load(self) -> AioDeferredRefreshableCredentials:
        return self._credentials


def assume_role(session: AioSession, role_arn: str) -> None:
    """Make ``session`` sign as ``role_arn``, assumed with its own credentials.

    The role is assumed at the first call, and again before the credentials expire.

    Raises:
        ValueError: ``role_arn`` is not an IAM role ARN.
    """
    role_account(role_arn)
    # The source is a separate session on the same profile: its chain must not
    # find the assumed role itself.
    source = type(session)(profile=session.profile)

    async def refresh() -> dict[str, Any]:
        credentials = await source.get_credentials()
        if credentials is None:
            raise NoCredentialsError
        fetcher = AioAssumeRoleCredentialFetcher(
            client_creator=cast("Any", source.create_client),  # aiobotocore's async creator
            source_credentials=credentials,
            role_arn=role_arn,
            extra_args={"RoleSessionName": _SESSION_NAME},
        )
        return await fetcher.fetch_credentials()  # type: ignore[no-any-return]

    provider = _AssumedRole(
        AioDeferredRefreshableCredentials(refresh_using=refresh, method=_AssumedRole.METHOD)
    )
    resolver = session.get_component("credential_provider")
    resolver.insert_before(resolver.providers[0].METHOD, provider)
