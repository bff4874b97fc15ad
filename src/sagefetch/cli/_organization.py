"""``audit --org``: the accounts of an AWS Organization, and how to reach each.

    STS GetCallerIdentity ─▶ the calling account (audited with its own credentials), partition
    Organizations ListAccounts (every page) ─▶ ACTIVE accounts
      or, with --ou: ListChildren (OUs, recursively) + ListAccountsForParent (each OU)

Every other account is reached by assuming ``arn:<partition>:iam::<id>:role/<name>``
(``--member-role-name``, by default ``OrganizationAccountAccessRole``, the
role Organizations creates in the accounts it creates). Calls go through the
library's :class:`~sagefetch._calls.CallGuard`: one limiter, the call timeout,
tenacity retries and the one error classification, so an Organizations
throttle (``TooManyRequestsException``) is waited out like SageMaker's.

Listing runs in the management account or a delegated administrator; if it
fails, there is nothing to audit and the audit stops (exit 4). Answers are
checked before they are used: an account id that is not 12 digits, or a page
token the listing has already followed, stops it the same way (never a crash,
never an endless listing).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from sagefetch._calls import CallFailedError, CallGuard
from sagefetch._credentials import ROLE_ARN_PATTERN
from sagefetch._exceptions import (
    INVALID_RESPONSE,
    AccessDeniedError,
    ConfigurationError,
    CredentialsError,
    RunStoppedError,
    classify_error,
)
from sagefetch._limiter import AdaptiveRateLimiter
from sagefetch._version import __version__

from ._accounts import Account

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

__all__ = [
    "DEFAULT_MEMBER_ROLE",
    "Organization",
    "list_organization",
    "member_role_arn",
]

#: The role Organizations creates in every account it creates.
DEFAULT_MEMBER_ROLE: Final = "OrganizationAccountAccessRole"
#: The most ListAccounts and ListAccountsForParent return per page.
_PAGE: Final = 20
_ACTIVE: Final = "ACTIVE"
_ACCOUNT_ID: Final = re.compile(r"[0-9]{12}", re.ASCII)
_PERMISSIONS: Final = (
    "HINT: --org lists accounts with organizations:ListAccounts (with --ou: "
    "organizations:ListChildren and organizations:ListAccountsForParent), from the management "
    "account or a delegated administrator; or list the accounts in --accounts-file."
)


def member_role_arn(partition: str, account_id: str, role_name: str) -> str:
    """The role to assume in a member account.

    Raises:
        ValueError: ``role_name`` is not an IAM role name (or ``path/name``).
    """
    arn = f"arn:{partition}:iam::{account_id}:role/{role_name}"
    if not ROLE_ARN_PATTERN.fullmatch(arn) or role_name.startswith("/"):
        raise ValueError(
            f"{role_name!r} is not an IAM role name\n"
            "HINT: --member-role-name takes the role's name (e.g. OrganizationAccountAccessRole), "
            "not its ARN."
        )
    return arn


@dataclass
class Organization:
    """What ``--org`` asked for and found, and what listing it took."""

    member_role: str = DEFAULT_MEMBER_ROLE
    ous: Sequence[str] = ()
    caller: str | None = None
    """The calling account (management or delegated administrator)."""
    partition: str | None = None
    listed: int = 0
    """Accounts listed (under ``--ou``), whatever their state."""
    inactive: int = 0
    """Listed accounts not ACTIVE (suspended, closing): not audited."""
    selected: int = 0
    """Active accounts left after ``--accounts`` and ``--skip-accounts``: audited."""
    not_found: list[str] = field(default_factory=list)
    """``--accounts`` names that matched no active account listed."""
    counts: Counter[str] = field(default_factory=Counter)
    """Calls, throttles and retries of the listing."""
    stopped: RunStoppedError | None = None
    """Why listing failed, if it did."""


async def list_organization(
    organization: Organization,
    *,
    profile: str | None,
    region: str | None,
    call_timeout: float,
    max_attempts: int,
    max_rate: float | None = None,
) -> list[Account]:
    """The ACTIVE accounts of the organization (under its ``ous``, if any), each with its role.

    The calling account comes without a role: its own credentials audit it.
    ``organization`` is filled in as listing goes.

    Raises:
        RunStoppedError: the accounts could not be listed (not in an organization,
            not allowed, unknown OU: :class:`ConfigurationError`, unreachable).
    """
    session = AioSession(profile=profile)
    region = region or _session_region(session) or "us-east-1"
    guard = CallGuard(
        limiter=AdaptiveRateLimiter(max_rate=max_rate),
        timeout=call_timeout,
        max_attempts=max_attempts,
        counts=organization.counts,
    )
    config = AioConfig(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=min(call_timeout, 10.0),
        read_timeout=call_timeout,
        user_agent_extra=f"sagefetch/{__version__}",
    )
    try:
        async with (
            session.create_client("sts", region_name=region, config=config) as sts,
            session.create_client("organizations", region_name=region, config=config) as orgs,
        ):
            lister = _Lister(guard, sts, orgs)
            organization.caller, organization.partition = await lister.caller()
            found = [item async for item in lister.accounts(organization.ous)]
    except RunStoppedError as exc:
        organization.stopped = _stop_error(exc)
        raise organization.stopped from None
    except Exception as exc:
        # A client not made (unknown profile): classify_error raises what it cannot sort.
        organization.stopped = _stop_error(classify_error(exc).stop_error("ListAccounts"))
        raise organization.stopped from exc
    accounts: dict[str, Account] = {}
    for summary in found:
        organization.listed += 1
        account_id = str(summary["Id"])
        # State supersedes the deprecated Status (2025); either says ACTIVE.
        if (summary.get("State") or summary.get("Status")) != _ACTIVE:
            organization.inactive += 1
            continue
        role = None
        if account_id != organization.caller:
            role = member_role_arn(organization.partition, account_id, organization.member_role)
        accounts.setdefault(
            account_id,
            Account(account_id=account_id, name=summary.get("Name") or None, role_arn=role),
        )
    return list(accounts.values())


def _session_region(session: AioSession) -> str | None:
    try:
        region = session.get_config_variable("region")
    except Exception:  # noqa: BLE001 - an unknown profile: its client creation says so
        return None
    return region if isinstance(region, str) else None


class _Lister:
    def __init__(self, guard: CallGuard, sts: Any, orgs: Any) -> None:
        self._guard = guard
        self._sts = sts
        self._orgs = orgs

    async def caller(self) -> tuple[str, str]:
        """The calling account and its partition (STS GetCallerIdentity)."""
        identity = await self._call(self._sts.get_caller_identity, "GetCallerIdentity")
        account = _checked_id(identity.get("Account"), "GetCallerIdentity", "account")
        parts = str(identity.get("Arn") or "").split(":")
        return account, parts[1] if len(parts) >= 6 and parts[1] else "aws"

    async def accounts(self, ous: Sequence[str]) -> AsyncIterator[dict[str, Any]]:
        """Every account listed: the organization's, or those under ``ous`` (recursively)."""
        if not ous:
            async for account in self._pages("ListAccounts", "Accounts"):
                _checked_id(account.get("Id"), "ListAccounts", "account")
                yield account
            return
        pending, seen = list(dict.fromkeys(ous)), set(ous)
        while pending:
            parent = pending.pop(0)
            async for account in self._pages("ListAccountsForParent", "Accounts", ParentId=parent):
                _checked_id(account.get("Id"), "ListAccountsForParent", "account")
                yield account
            children = self._pages(
                "ListChildren", "Children", ParentId=parent, ChildType="ORGANIZATIONAL_UNIT"
            )
            async for child in children:
                unit = child.get("Id")
                if not isinstance(unit, str) or not unit:
                    raise _invalid("ListChildren", f"a child without an id ({child!r})")
                if unit not in seen:
                    seen.add(unit)
                    pending.append(unit)

    async def _pages(self, operation: str, key: str, **params: Any) -> AsyncIterator[Any]:
        method = getattr(self._orgs, _snake(operation))
        token: str | None = None
        followed: set[str] = set()
        while True:
            page_params = {**params, "MaxResults": _PAGE, **({"NextToken": token} if token else {})}
            page = await self._call(lambda p=page_params: method(**p), operation, **params)
            for item in page.get(key) or []:
                yield item
            token = page.get("NextToken")
            if not token:
                return
            if token in followed:
                # botocore's paginators refuse the same: the listing would never end.
                raise _invalid(operation, "a page token it had already given (a listing loop)")
            followed.add(token)

    async def _call(self, call: Any, operation: str, **context: Any) -> Any:
        try:
            return await self._guard.call(
                call,
                name="organization",
                operation=operation,
                context={"operation": operation, **context},
                counts=Counter(),
            )
        except CallFailedError as exc:
            error = exc.classified
            parent = context.get("ParentId")
            if parent is not None and error.code in (
                "ParentNotFoundException",
                "OrganizationalUnitNotFoundException",
                "InvalidInputException",
            ):
                raise ConfigurationError(
                    f"--ou {parent}: {error.code}: {error.message}\n"
                    "HINT: name an organizational unit (ou-...) or the root (r-...) of this "
                    "organization; 'aws organizations list-roots' and "
                    "'list-organizational-units-for-parent' show them.",
                    code=error.code,
                ) from None
            if error.code == "AWSOrganizationsNotInUseException":
                raise ConfigurationError(
                    f"{error.code}: the calling account is not in an organization (calling "
                    f"{operation})\n{_PERMISSIONS}",
                    code=error.code,
                ) from None
            raise RunStoppedError(
                f"{error.code}: {error.message} (calling {operation})", code=error.code
            ) from None


def _checked_id(value: object, operation: str, what: str) -> str:
    """``value`` if it is an account id (12 digits).

    Raises:
        RunStoppedError: it is not: the answer cannot be trusted.
    """
    if isinstance(value, str) and _ACCOUNT_ID.fullmatch(value):
        return value
    raise _invalid(operation, f"an {what} id that is not 12 digits ({value!r})")


def _invalid(operation: str, what: str) -> RunStoppedError:
    return RunStoppedError(
        f"{INVALID_RESPONSE}: {operation} answered {what} (calling {operation})\n"
        "HINT: the answer did not come from Organizations or STS as documented: check "
        "AWS_ENDPOINT_URL and any proxy in between.",
        code=INVALID_RESPONSE,
    )


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _stop_error(exc: RunStoppedError) -> RunStoppedError:
    """``exc`` as the reason the organization could not be listed, with --org's hint."""
    if isinstance(exc, ConfigurationError) and "HINT: " in str(exc):
        return _prefixed(exc)
    reason = str(exc).partition("\nHINT: ")[0]
    if isinstance(exc, (AccessDeniedError, CredentialsError)):
        hint = _PERMISSIONS
        if isinstance(exc, CredentialsError):
            hint = (
                "HINT: check which credentials are in use (--profile / AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID); --org runs with the management account's or a delegated "
                "administrator's."
            )
        return type(exc)(
            f"cannot list the organization's accounts: {reason}\n{hint}", code=exc.code
        )
    return _prefixed(exc)


def _prefixed(exc: RunStoppedError) -> RunStoppedError:
    return type(exc)(f"cannot list the organization's accounts: {exc}", code=exc.code)
