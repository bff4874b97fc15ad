"""``--accounts-file``: c7n-org's accounts file, checked entry by entry; allow and skip lists."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import pytest

from sagefetch.cli._accounts import Account, account_shards, read_accounts_file, select_accounts
from sagefetch.cli._exits import UsageError

if TYPE_CHECKING:
    from pathlib import Path

C7N_ORG_YAML = """\
accounts:
- account_id: '011111111111'
  email: ml-prod@example.com
  name: ml-prod
  regions:
  - us-east-1
  - eu-west-1
  role: arn:aws:iam::011111111111:role/ModelAudit
  tags:
  - type:prod
  - team:ml
- account_id: 222222222222
  name: ml-dev
  profile: ml-dev
  vars:
    owner: someone
"""


def _write(tmp_path: Path, text: str, name: str = "accounts.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_c7n_org_yaml_file_reads_as_its_accounts(tmp_path: Path) -> None:
    """Ids (quoted, or 12 unquoted digits), names, roles, profiles, regions and tags."""
    accounts, read = read_accounts_file(_write(tmp_path, C7N_ORG_YAML))

    assert accounts == [
        Account(
            account_id="011111111111",
            name="ml-prod",
            role_arn="arn:aws:iam::011111111111:role/ModelAudit",
            regions=("us-east-1", "eu-west-1"),
            tags=("type:prod", "team:ml"),
        ),
        Account(account_id="222222222222", name="ml-dev", profile="ml-dev"),
    ]
    status = (tmp_path / "accounts.yaml").stat()
    assert (read.device, read.inode) == (status.st_dev, status.st_ino)


def test_a_json_file_reads_the_same(tmp_path: Path) -> None:
    """The same shape in JSON (by its .json suffix), tags as a mapping too."""
    document = {
        "accounts": [
            {"account_id": "011111111111", "name": "ml-prod", "tags": {"team": "ml"}},
            {"account_id": "222222222222"},
        ]
    }
    accounts, _ = read_accounts_file(_write(tmp_path, json.dumps(document), "accounts.json"))

    assert accounts == [
        Account(account_id="011111111111", name="ml-prod", tags=("team:ml",)),
        Account(account_id="222222222222"),
    ]


def test_without_pyyaml_yaml_is_refused_with_a_hint_and_json_still_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No PyYAML: a YAML file says what to install; a JSON document under any name reads."""
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml now raises ImportError

    with pytest.raises(UsageError, match=r"needs PyYAML[\s\S]*HINT: pip install pyyaml"):
        read_accounts_file(_write(tmp_path, C7N_ORG_YAML))
    accounts, _ = read_accounts_file(
        _write(tmp_path, '{"accounts": [{"account_id": "222222222222"}]}', "accounts.yml")
    )
    assert accounts == [Account(account_id="222222222222")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("accounts:\n- name: a\n", r"entry 1 \(a\): account_id is missing", id="no-id"),
        pytest.param(
            "accounts:\n- account_id: 11111111111\n",
            r"entry 1: account_id must be 12 digits, got 11111111111\nHINT: quote it",
            id="unquoted-leading-zero",
        ),
        pytest.param(
            "accounts:\n- account_id: '1234'\n", r"must be 12 digits, got '1234'", id="short-id"
        ),
        pytest.param(
            "accounts:\n- account_id: '111111111111'\n  role: ModelAudit\n",
            r"entry 1: 'ModelAudit' is not an IAM role ARN",
            id="role-not-an-arn",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', name: x,"
            " role: 'arn:aws:iam::222222222222:role/A'}\n",
            r"entry 1 \(x\): role arn:aws:iam::222222222222:role/A belongs to account "
            r"222222222222, not 111111111111",
            id="role-of-another-account",
        ),
        pytest.param(
            "accounts:\n- account_id: '111111111111'\n- account_id: '222222222222'\n"
            "  regoins: [us-east-1]\n",
            r"entry 2: unknown key 'regoins'\nHINT: keys: account_id, name, role",
            id="misspelt-key",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', external_id: x}\n",
            r"entry 1: external_id is not supported yet",
            id="external-id",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', name: a}\n"
            "- {account_id: '111111111111', name: b}\n",
            r"entry 2 repeats account 111111111111 of entry 1",
            id="repeated-account",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', regions: us-east-1}\n",
            r"entry 1: regions must be a non-empty list",
            id="regions-not-a-list",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', regions: [us-east-1, 7]}\n",
            r"regions must be region names, got 7",
            id="region-not-a-name",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', tags: [a, 1]}\n",
            r"tags must be a list of strings",
            id="bad-tags",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', name: ''}\n",
            r"name must be a non-empty string",
            id="empty-name",
        ),
        pytest.param("accounts:\n- '111111111111'\n", r"entry 1: expected a mapping", id="scalar"),
        pytest.param("accounts: []\n", r"'accounts' is empty", id="empty"),
        pytest.param("- account_id: '111111111111'\n", r"with an 'accounts' list", id="no-key"),
        pytest.param("accounts: [\n", r"is not valid YAML", id="bad-yaml"),
    ],
)
def test_a_wrong_entry_is_refused_naming_it(tmp_path: Path, text: str, message: str) -> None:
    """Every mistake is a usage error that names the file, the entry and what is wrong."""
    path = _write(tmp_path, text)

    with pytest.raises(UsageError, match=message) as caught:
        read_accounts_file(path)
    assert str(caught.value).startswith(str(path))


def test_bad_json_says_where(tmp_path: Path) -> None:
    """A JSON syntax error names its line and column."""
    path = _write(tmp_path, '{"accounts": [\n  {"account_id": }\n]}', "accounts.json")

    with pytest.raises(UsageError, match=r"is not valid JSON: .* \(line 2, column 18\)"):
        read_accounts_file(path)


def test_an_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    """A missing file, or one that is not UTF-8 text, is refused before any call."""
    with pytest.raises(UsageError, match="No such file"):
        read_accounts_file(tmp_path / "missing.yaml")
    path = tmp_path / "accounts.yaml"
    path.write_bytes(b"accounts:\n- name: \xff\n")
    with pytest.raises(UsageError, match="is not UTF-8 text"):
        read_accounts_file(path)


ACCOUNTS = [
    Account("111111111111", name="ml-prod"),
    Account("222222222222", name="ml-dev"),
    Account("333333333333"),
]


@pytest.mark.parametrize(
    ("only", "skip", "selected", "unmatched"),
    [
        pytest.param(None, None, ["111111111111", "222222222222", "333333333333"], [], id="all"),
        pytest.param(["ml-dev", "333333333333"], None, ["222222222222", "333333333333"], [],
                     id="by-name-and-id"),
        pytest.param(None, ["ml-prod"], ["222222222222", "333333333333"], [], id="skip-by-name"),
        pytest.param(["ml-prod", "ml-dev"], ["222222222222"], ["111111111111"], [],
                     id="skip-wins"),
        pytest.param(["ml-prod", "typo"], None, ["111111111111"], ["typo"], id="unmatched"),
    ],
)  # fmt: skip
def test_select_accounts_by_id_or_name(
    only: list[str] | None, skip: list[str] | None, selected: list[str], unmatched: list[str]
) -> None:
    """--accounts keeps only the named accounts, --skip-accounts drops some; typos are reported."""
    chosen, missing = select_accounts(ACCOUNTS, only=only, skip=skip)

    assert [account.account_id for account in chosen] == selected
    assert missing == unmatched


def test_account_shards_use_the_command_lines_regions_else_the_accounts() -> None:
    """--regions replaces each account's regions; without either, the default region."""
    accounts = [
        Account("111111111111", name="a", regions=("us-east-1", "eu-west-1"), role_arn=None),
        Account("222222222222", profile="b"),
    ]

    own = account_shards(accounts, regions=None, profile="source")
    given = account_shards(accounts, regions=["ap-south-1"], profile=None)

    assert [(s.account, s.account_name, s.region, s.profile) for s in own] == [
        ("111111111111", "a", "us-east-1", "source"),
        ("111111111111", "a", "eu-west-1", "source"),
        ("222222222222", None, None, "b"),
    ]
    assert [(s.account, s.region) for s in given] == [
        ("111111111111", "ap-south-1"),
        ("222222222222", "ap-south-1"),
    ]
    assert own[0].name == "a (111111111111) in us-east-1"
    assert own[2].name == "222222222222 in the default region"
