"""Credentials of an assumed role, refreshed before they expire (STS ``AssumeRole``).

A session gets a credential provider at the head of its chain that assumes
the role with the session's own credentials (the standard chain or its
profile), the way botocore's ``role_arn``/``source_profile`` profiles do, so
an audit longer than one session lifetime keeps going.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Final, cast

from aiobotocore.credentials import (
    AioAssumeRoleCredentialFetcher,
    AioDeferredRefreshableCredentials,
)
from botocore.credentials import CredentialProvider
from botocore.exceptions import ClientError, NoCredentialsError

from ._decode import fast_data_loader
from ._exceptions import CredentialsError, ErrorKind, classify_error

if TYPE_CHECKING:
    from aiobotocore.session import AioSession

__all__ = ["ROLE_ARN_PATTERN", "assume_role", "role_account"]

#: An IAM role ARN, as ``sts:AssumeRole`` accepts it.
ROLE_ARN_PATTERN: Final = re.compile(
    r"arn:aws[a-z\-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}", re.ASCII
)
_SESSION_NAME: Final = "sagefetch"


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
    METHOD = "sagefetch-assume-role"
    CANONICAL_NAME = "SagefetchAssumeRole"

    def __init__(self, credentials: AioDeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    async def load(self) -> AioDeferredRefreshableCredentials:
        return self._credentials


def assume_role(session: AioSession, role_arn: str, region_name: str | None = None) -> None:
    """Make ``session`` sign as ``role_arn``, assumed with its own credentials.

    The role is assumed at the first call, and again before the credentials
    expire, through the STS endpoint of ``region_name`` (as botocore's own
    ``role_arn`` profiles do: regional tokens work in opt-in regions).

    Raises:
        ValueError: ``role_arn`` is not an IAM role ARN.
    """
    role_account(role_arn)
    # The source is a separate session on the same profile: its chain must not
    # find the assumed role itself.
    source = type(session)(profile=session.profile)
    source.register_component("data_loader", fast_data_loader(source))
    # aiobotocore's creator is an async context manager factory, not botocore's type.
    create_client = cast("Any", functools.partial(source.create_client, region_name=region_name))

    async def refresh() -> dict[str, Any]:
        credentials = await source.get_credentials()
        if credentials is None:
            raise NoCredentialsError
        fetcher = AioAssumeRoleCredentialFetcher(
            client_creator=create_client,
            source_credentials=credentials,
            role_arn=role_arn,
            extra_args={"RoleSessionName": _SESSION_NAME},
        )
        try:
            return await fetcher.fetch_credentials()  # type: ignore[no-any-return]
        except ClientError as exc:
            error = classify_error(exc)
            if error.kind not in (ErrorKind.ACCESS_DENIED, ErrorKind.CREDENTIALS):
                raise  # throttled, unreachable, ...: the call is retried as usual
            raise CredentialsError(
                f"cannot assume {role_arn}: {error.code}: {error.message}\n"
                "HINT: the source credentials (--profile, or the standard chain) need "
                "sts:AssumeRole on this role, and the role's trust policy must allow them; "
                "STS is reached at AWS_ENDPOINT_URL_STS when that is set.",
                code=error.code,
            ) from exc

    provider = _AssumedRole(
        AioDeferredRefreshableCredentials(refresh_using=refresh, method=_AssumedRole.METHOD)
    )
    resolver = session.get_component("credential_provider")
    resolver.insert_before(resolver.providers[0].METHOD, provider)
