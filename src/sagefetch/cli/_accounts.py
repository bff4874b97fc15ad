"""The accounts an audit covers: an accounts file (c7n-org's shape), allow and skip lists.

``--accounts-file FILE`` is YAML or JSON, as Cloud Custodian's c7n-org reads it::

    accounts:
      - account_id: "111111111111"     # 12 digits; quote it in YAML
        name: ml-prod                  # optional: records' account_name
        role: arn:aws:iam::111111111111:role/ModelAudit   # optional: assumed with --profile's
        profile: ml-prod               # optional: credentials of this account (or of its role)
        regions: [us-east-1, eu-west-1]  # optional: else --regions / --region
        tags: [team:ml, env:prod]      # optional: checked, not used yet

``email`` and ``vars`` (c7n-org's) are allowed and ignored; any other key is an
error, so a misspelt ``regoins`` is never silently dropped. YAML needs PyYAML
(which c7n-org and most AWS tooling already install); JSON needs nothing.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sagefetch._credentials import role_account

from ._exits import UsageError
from ._records import ReadFile
from ._reports import Shard

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

__all__ = ["Account", "account_shards", "read_accounts_file", "select_accounts"]

#: Keys of an entry sagefetch reads.
_KEYS: Final = ("account_id", "name", "role", "profile", "regions", "tags")
#: Keys c7n-org files carry that say nothing to an audit.
_IGNORED: Final = frozenset({"email", "vars"})
_ACCOUNT_ID: Final = re.compile(r"[0-9]{12}")


@dataclass(frozen=True, slots=True)
class Account:
    """One account to audit, and how to reach it."""

    account_id: str
    name: str | None = None
    role_arn: str | None = None
    """Assumed (STS ``AssumeRole``) with the profile's or the chain's credentials."""
    profile: str | None = None
    regions: tuple[str, ...] = ()
    """Its own regions; empty: the command line's."""
    tags: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How messages name it: ``name (id)``, or the id."""
        return f"{self.name} ({self.account_id})" if self.name else self.account_id


def read_accounts_file(path: Path) -> tuple[list[Account], ReadFile]:
    """The accounts of an accounts file, checked; and the file, which the output must not be.

    Raises:
        UsageError: it cannot be read or parsed, or an entry is wrong (the
            message names the entry and the key).
    """
    try:
        with path.open("rb") as file:
            data = file.read()
            status = os.fstat(file.fileno())
    except OSError as exc:
        raise UsageError(f"--accounts-file {path}: {exc.strerror or exc}") from exc
    read = ReadFile("the accounts file (--accounts-file)", status.st_dev, status.st_ino)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    document = _parse(path, text)
    if not isinstance(document, dict) or not isinstance(document.get("accounts"), list):
        raise UsageError(
            f"{path}: expected a mapping with an 'accounts' list (c7n-org's shape)\n"
            "HINT: accounts:\n"
            "  - account_id: '111111111111'\n"
            "    role: arn:aws:iam::111111111111:role/ModelAudit"
        )
    entries: list[Any] = document["accounts"]
    if not entries:
        raise UsageError(f"{path}: 'accounts' is empty; there is nothing to audit")
    accounts: list[Account] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        account = _account(entry, f"{path}: entry {number}")
        if account.account_id in seen:
            raise UsageError(
                f"{path}: entry {number} repeats account {account.account_id} of entry "
                f"{seen[account.account_id]}\nHINT: list each account once, with all its regions."
            )
        seen[account.account_id] = number
        accounts.append(account)
    return accounts, read


def _parse(path: Path, text: str) -> Any:
    """The document in ``text``: JSON for ``*.json``, else YAML (JSON when PyYAML is missing)."""
    if path.suffix.lower() == ".json":
        return _json(path, text)
    try:
        # Optional, loaded for this option only; through import_module as no stubs are needed.
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise UsageError(
                f"{path}: reading YAML needs PyYAML, which is not installed\n"
                "HINT: pip install pyyaml, or write the accounts file as JSON (FILE.json)."
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {exc}") from None


def _json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def _account(entry: object, where: str) -> Account:
    """One entry of the file, checked; ``where`` names it in messages."""
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: expected a mapping (account_id, role, ...), got {entry!r}")
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise UsageError(f"{where}: name must be a non-empty string, got {name!r}")
    if isinstance(name, str):
        where = f"{where} ({name})"
    for key in entry:
        if key == "external_id":
            raise UsageError(
                f"{where}: external_id is not supported yet\n"
                "HINT: use a role whose trust policy needs no external ID, or a profile "
                "that assumes it (role_arn and external_id in ~/.aws/config) as 'profile'."
            )
        if key not in _KEYS and key not in _IGNORED:
            raise UsageError(f"{where}: unknown key {key!r}\nHINT: keys: {', '.join(_KEYS)}")
    account_id = _account_id(entry.get("account_id"), where)
    role = entry.get("role")
    if role is not None:
        if not isinstance(role, str):
            raise UsageError(f"{where}: role must be a role ARN, got {role!r}")
        try:
            owner = role_account(role)
        except ValueError as exc:
            raise UsageError(f"{where}: {exc}") from None
        if owner != account_id:
            raise UsageError(
                f"{where}: role {role} belongs to account {owner}, not {account_id}\n"
                "HINT: the role to assume is one in the account being audited."
            )
    profile = entry.get("profile")
    if profile is not None and (not isinstance(profile, str) or not profile.strip()):
        raise UsageError(f"{where}: profile must be a profile's name, got {profile!r}")
    return Account(
        account_id=account_id,
        name=name,
        role_arn=role,
        profile=profile,
        regions=_regions(entry.get("regions"), where),
        tags=_tags(entry.get("tags"), where),
    )


def _account_id(value: object, where: str) -> str:
    if value is None:
        raise UsageError(f"{where}: account_id is missing")
    # YAML reads an unquoted 111111111111 as a number: fine when all 12 digits survive.
    if isinstance(value, int) and not isinstance(value, bool) and 10**11 <= value < 10**12:
        return str(value)
    if isinstance(value, str) and _ACCOUNT_ID.fullmatch(value):
        return value
    hint = (
        "\nHINT: quote it ('012345678901'): unquoted, YAML reads digits as a number and "
        "drops leading zeros (or reads them as octal)."
        if isinstance(value, int)
        else ""
    )
    raise UsageError(f"{where}: account_id must be 12 digits, got {value!r}{hint}")


def _regions(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise UsageError(f"{where}: regions must be a non-empty list of region names")
    for region in value:
        if not isinstance(region, str) or not region.strip():
            raise UsageError(f"{where}: regions must be region names, got {region!r}")
    return tuple(dict.fromkeys(region.strip() for region in value))


def _tags(value: object, where: str) -> tuple[str, ...]:
    """c7n-org's ``["key:value", ...]``; a mapping is read as the same pairs."""
    if value is None:
        return ()
    if isinstance(value, dict):
        value = [f"{key}:{item}" for key, item in value.items()]
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise UsageError(f"{where}: tags must be a list of strings (key:value), got {value!r}")
    return tuple(value)


def select_accounts(
    accounts: Sequence[Account], *, only: Iterable[str] | None, skip: Iterable[str] | None
) -> tuple[list[Account], list[str]]:
    """The accounts ``only`` names (ids or names; all when None), less those ``skip`` names.

    Returns the selection, and the names in ``only`` that matched no account.
    """
    wanted = list(dict.fromkeys(only)) if only is not None else None
    skipped = set(skip or ())
    matched: set[str] = set()
    selected = []
    for account in accounts:
        keys = {account.account_id, *([account.name] if account.name else [])}
        if wanted is not None:
            hits = keys.intersection(wanted)
            if not hits:
                continue
            matched |= hits
        if keys.isdisjoint(skipped):
            selected.append(account)
    unmatched = [name for name in wanted or () if name not in matched]
    return selected, unmatched


def account_shards(
    accounts: Sequence[Account], *, regions: Sequence[str | None] | None, profile: str | None
) -> list[Shard]:
    """A shard per account and region: ``regions`` if given, else the account's own.

    An account with neither is one shard in the default region. ``profile``
    signs for accounts without a profile of their own (and assumes their roles).
    """
    return [
        Shard(
            region=region,
            profile=account.profile or profile,
            role_arn=account.role_arn,
            account_id=account.account_id,
            account_name=account.name,
        )
        for account in accounts
        for region in (regions or account.regions or (None,))
    ]
