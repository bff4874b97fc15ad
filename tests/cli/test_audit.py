"""``sagefetch audit`` in a subprocess: several accounts (local servers) and regions at once."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from sagefetch.cli._records import AUDIT_CSV_COLUMNS
from sagefetch.testing import Catalogue, Faults, LocalSageMaker
from sagefetch.testing._moto import reset_account
from tests.processes import FILE_SIZE_LIMIT, SAGEFETCH
from tests.sts import assumed_roles

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ACCOUNT_A, ACCOUNT_B, ACCOUNT_DENIED = "111111111111", "222222222222", "333333333333"
REGIONS = ("us-east-1", "eu-west-1")


class Accounts:
    """Three accounts, each a moto server reached through its own AWS profile."""

    def __init__(self, tmp_path: Path) -> None:
        self.servers = {
            "team-a": LocalSageMaker(account_id=ACCOUNT_A),
            "team-b": LocalSageMaker(account_id=ACCOUNT_B),
            "denied": LocalSageMaker(
                account_id=ACCOUNT_DENIED, faults=Faults(reject_with="AccessDeniedException")
            ),
        }
        self.config = tmp_path / "aws-config"
        self.expected: dict[tuple[str, str], set[str]] = {}

    def start(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for server in self.servers.values():
            server.start()
        # Account A has packages in both regions, B only in eu-west-1.
        self._seed(ACCOUNT_A, "us-east-1", groups=3, versions=120)
        self._seed(ACCOUNT_A, "eu-west-1", groups=2, versions=7)
        self._seed(ACCOUNT_B, "eu-west-1", groups=5, versions=9)
        self._seed(ACCOUNT_DENIED, "us-east-1", groups=1, versions=3)
        self.config.write_text(
            "".join(
                f"[profile {name}]\nendpoint_url = {server.endpoint_url}\n"
                f"aws_access_key_id = AKIA{server.account_id}\n"
                f"aws_secret_access_key = secret-of-{name}\n"
                for name, server in self.servers.items()
            )
        )
        monkeypatch.setenv("AWS_CONFIG_FILE", str(self.config))

    def _seed(self, account: str, region: str, *, groups: int, versions: int) -> None:
        arns = LocalSageMaker(account_id=account, region=region).seed(
            groups=groups, versions=versions
        )
        self.expected[account, region] = set(arns)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
            reset_account(server.account_id)


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Accounts]:
    """Three local accounts with packages in two regions; the third denies everything."""
    accounts = Accounts(tmp_path)
    try:
        accounts.start(monkeypatch)
        yield accounts
    finally:
        accounts.stop()


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SAGEFETCH, "audit", *args], capture_output=True, text=True, timeout=120, check=False
    )


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.timeout(180)
def test_every_package_of_every_shard_once_and_a_failing_shard_reported(
    accounts: Accounts, tmp_path: Path
) -> None:
    """3 accounts x 2 regions: each package once with its origin; the denied account is reported."""
    output = tmp_path / "audit.jsonl"
    result = _audit(
        "--profiles", "team-a,team-b,denied", "--regions", ",".join(REGIONS), "-o", str(output),
        "--max-shards", "4",
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    records = _records(output)
    assert all(record["status"] == "described" for record in records)
    assert Counter(record["arn"] for record in records) == Counter(
        arn for arns in accounts.expected.values() for arn in arns if ACCOUNT_DENIED not in arn
    )
    for record in records:
        assert record["arn"].split(":")[3:5] == [record["region"], record["account"]]
        assert list(record)[:5] == ["arn", "account", "region", "account_name", "status"]
        assert record["account_name"] is None  # profiles do not name their accounts
    # The summary names both shards of the denied account, and why.
    assert result.stderr.count("denied in us-east-1: AccessDeniedException") == 1
    assert result.stderr.count("denied in eu-west-1: AccessDeniedException") == 1
    assert "2 stop" in result.stderr
    assert "needs the IAM permission sagemaker:ListModelPackage" in result.stderr


def test_where_keeps_the_matching_packages_and_every_failure(
    accounts: Accounts, tmp_path: Path
) -> None:
    """--where approval=Approved --where image!~REGISTRY: exactly the flagged packages."""
    output = tmp_path / "flagged.jsonl"
    registry = rf"^{ACCOUNT_A}\.dkr\.ecr\."
    result = _audit(
        "--profile", "team-a", "--region", "us-east-1", "-o", str(output),
        "--where", "approval=Approved", "--where", f"image!~{registry}",
        "--group", "churn-0000", "--group", "fraud-0001", "--group", "missing-group",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    catalogue = Catalogue(ACCOUNT_A, "us-east-1", 3, 120)
    expected = set()
    for group in (0, 1):
        for version in range(1, 121):
            summary = catalogue.summary(group, version)
            images = [c["Image"] for c in summary["InferenceSpecification"]["Containers"]]
            if summary["ModelApprovalStatus"] == "Approved" and any(
                not image.startswith(f"{ACCOUNT_A}.dkr.ecr.") for image in images
            ):
                expected.add(summary["ModelPackageArn"])
    records = _records(output)
    described = {record["arn"] for record in records if record["status"] == "described"}
    failed = [record for record in records if record["status"] == "failed"]
    assert 0 < len(expected) < 240
    assert described == expected
    assert [(record["arn"], record["error"]["code"]) for record in failed] == [
        ("missing-group", "ValidationException")
    ]
    assert "filtered" in result.stderr


@pytest.mark.timeout(180)
def test_resume_completes_a_cut_audit_exactly_once(accounts: Accounts, tmp_path: Path) -> None:
    """An audit cut short (torn last line) and resumed records every package exactly once."""
    output = tmp_path / "audit.jsonl"
    args = ["--profiles", "team-a,team-b", "--regions", ",".join(REGIONS), "-o", str(output)]
    assert _audit(*args).returncode == 0
    lines = output.read_bytes().splitlines(keepends=True)
    output.write_bytes(b"".join(lines[: len(lines) // 3]) + lines[len(lines) // 3][:25])
    result = _audit(*args, "--resume")
    assert result.returncode == 0, result.stderr
    expected = [
        arn
        for (account, _), arns in accounts.expected.items()
        if account != ACCOUNT_DENIED
        for arn in arns
    ]
    assert Counter(record["arn"] for record in _records(output)) == Counter(expected)
    assert "resumed" in result.stderr
    assert f" {len(lines) // 3:,} " in result.stderr  # the total of what was already there


@pytest.mark.timeout(180)
def test_sigint_then_resume_records_every_package_exactly_once(
    accounts: Accounts, tmp_path: Path
) -> None:
    """Ctrl-C mid-audit exits 130 with whole records; --resume completes every shard."""
    accounts.servers["team-a"].faults = Faults(latency=0.2)
    output = tmp_path / "audit.jsonl"
    args = ["--profiles", "team-a,team-b", "--regions", ",".join(REGIONS), "-o", str(output)]
    process = subprocess.Popen(
        [*SAGEFETCH, "audit", *args, "--max-rate", "4", "--batch-size", "20", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if output.exists() and output.read_bytes().count(b"\n") >= 40:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 130
    data = output.read_bytes()
    assert data.endswith(b"\n")
    expected = [
        arn
        for (account, _), arns in accounts.expected.items()
        if account != ACCOUNT_DENIED
        for arn in arns
    ]
    assert 40 <= len(_records(output)) < len(expected)

    accounts.servers["team-a"].faults = Faults()
    assert _audit(*args, "--resume").returncode == 0
    assert Counter(record["arn"] for record in _records(output)) == Counter(expected)


@pytest.mark.timeout(180)
def test_summary_json_has_every_shard_and_why_some_stopped(
    accounts: Accounts, tmp_path: Path
) -> None:
    """--summary-json: per shard its account, region, counts and result; the denied ones, why."""
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"
    result = _audit(
        "--profiles", "team-a,team-b,denied", "--regions", ",".join(REGIONS), "-o", str(output),
        "--summary-json", str(path),
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    summary = json.loads(path.read_text())
    assert (summary["command"], summary["exit_code"], summary["result"]) == (
        "audit", 5, "shards_stopped"
    )  # fmt: skip
    written = Counter((record["account"], record["region"]) for record in _records(output))
    shards = summary["shards"]
    assert [(shard["credentials"], shard["region"]) for shard in shards] == [
        (profile, region) for profile in ("team-a", "team-b", "denied") for region in REGIONS
    ]
    for shard in shards:
        assert shard["described"] == written[shard["account"], shard["region"]]
        assert shard["failed"] == shard["filtered"] == 0
        if shard["credentials"] == "denied":
            assert shard["result"] == "stopped"
            assert shard["stopped"]["error"] == "AccessDeniedError"
            assert shard["stopped"]["code"] == "AccessDeniedException"
            assert "sagemaker:ListModelPackageGroups" in shard["stopped"]["hint"]
        else:
            assert (shard["result"], shard["stopped"]) == ("complete", None)
            assert shard["calls"] > 0
    assert written[ACCOUNT_A, "us-east-1"] == 360
    totals = summary["totals"]
    assert totals["described"] == sum(written.values())
    assert totals["calls"] == sum(shard["calls"] for shard in shards)
    assert (totals["shards"], totals["shards_complete"], totals["shards_stopped"]) == (6, 4, 2)


@pytest.mark.timeout(180)
def test_sigint_writes_a_summary_of_the_shards_so_far(accounts: Accounts, tmp_path: Path) -> None:
    """Ctrl-C mid-audit: exit 130, the summary counts exactly what was written, per shard."""
    accounts.servers["team-a"].faults = Faults(latency=0.2)
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"
    process = subprocess.Popen(
        [*SAGEFETCH, "audit", "--profiles", "team-a,team-b", "--regions", ",".join(REGIONS),
         "-o", str(output), "--summary-json", str(path), "--max-rate", "4", "--batch-size", "20",
         "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if output.exists() and output.read_bytes().count(b"\n") >= 40:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 130

    summary = json.loads(path.read_text())
    assert (summary["exit_code"], summary["result"]) == (130, "interrupted")
    records = _records(output)
    assert summary["totals"]["described"] == len(records) >= 40
    written = Counter((record["account"], record["region"]) for record in records)
    for shard in summary["shards"]:
        assert shard["described"] == written[shard["account"], shard["region"]]
    assert "interrupted" in {shard["result"] for shard in summary["shards"]}


def test_two_profiles_of_one_account_write_each_package_once(
    accounts: Accounts, tmp_path: Path
) -> None:
    """Shards that reach the same packages (two profiles, one account) record each once."""
    server = accounts.servers["team-a"]
    with accounts.config.open("a") as config:
        config.write(
            f"[profile team-a-admin]\nendpoint_url = {server.endpoint_url}\n"
            "aws_access_key_id = AKIAADMIN\naws_secret_access_key = secret-of-admin\n"
        )
    output = tmp_path / "audit.jsonl"
    result = _audit(
        "--profiles", "team-a,team-a-admin", "--region", "us-east-1", "-o", str(output)
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert Counter(record["arn"] for record in _records(output)) == Counter(
        accounts.expected[ACCOUNT_A, "us-east-1"]
    )


def test_closed_output_stops_every_shard_with_exit_4(accounts: Accounts) -> None:
    """A reader that goes away (| head) stops the whole audit cleanly: exit 4, no traceback."""
    accounts.servers["team-a"].faults = Faults(latency=0.3, operations=("ListModelPackages",))
    process = subprocess.Popen(
        [*SAGEFETCH, "audit", "--profiles", "team-a,team-b", "--regions", ",".join(REGIONS),
         "--batch-size", "2", "--list-concurrency", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.read(20)
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 4, stderr.decode()
    assert b"Traceback" not in stderr
    assert stderr.count(b"the output was closed") == 1


@pytest.mark.timeout(180)
def test_a_full_output_stops_every_shard_and_resume_completes_it(
    accounts: Accounts, tmp_path: Path
) -> None:
    """Output at its size limit mid-audit: exit 4, one message, whole records; --resume ends it."""
    output = tmp_path / "audit.jsonl"
    args = ["--profiles", "team-a,team-b", "--regions", ",".join(REGIONS), "-o", str(output)]

    result = subprocess.run(
        [*FILE_SIZE_LIMIT, str(48 * 1024), *SAGEFETCH, "audit", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count(f"cannot write {output}: File too large (EFBIG)") == 1
    assert output.read_bytes().endswith(b"\n")
    assert len(_records(output)) > 0

    resumed = _audit(*args, "--resume")

    assert resumed.returncode == 0, resumed.stderr
    expected = [
        arn
        for (account, _), arns in accounts.expected.items()
        if account != ACCOUNT_DENIED
        for arn in arns
    ]
    assert Counter(record["arn"] for record in _records(output)) == Counter(expected)


def test_resume_exits_3_for_a_failure_an_earlier_run_recorded(
    accounts: Accounts, tmp_path: Path
) -> None:
    """The exit code after --resume speaks for the whole output, earlier runs' failures too."""
    output = tmp_path / "audit.jsonl"
    args = ["--profile", "team-a", "--region", "us-east-1", "-o", str(output),
            "--group", "churn-0000", "--group", "missing-group"]  # fmt: skip
    assert _audit(*args).returncode == 3

    resumed = _audit(*args, "--resume")

    assert resumed.returncode == 3, resumed.stderr
    assert "Earlier runs: 120 described and 1 failed records" in resumed.stderr
    arns = Counter(record["arn"] for record in _records(output))
    assert len(arns) == 121
    assert set(arns.values()) == {1}


def test_csv_records_carry_account_and_region(accounts: Accounts, tmp_path: Path) -> None:
    """--format csv puts account and region right after the ARN."""
    output = tmp_path / "audit.csv"
    result = _audit(
        "--profile", "team-b", "--region", "eu-west-1", "--format", "csv", "-o", str(output)
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(output.read_text())))
    assert tuple(rows[0]) == AUDIT_CSV_COLUMNS
    assert {row[0] for row in rows[1:]} == accounts.expected[ACCOUNT_B, "eu-west-1"]
    assert {(row[1], row[2]) for row in rows[1:]} == {(ACCOUNT_B, "eu-west-1")}


def test_role_arn_assumes_the_role_through_sts(
    accounts: Accounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--role-arn: STS AssumeRole with --profile's credentials, then the shard as that role."""
    server = accounts.servers["team-b"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.endpoint_url)
    monkeypatch.setenv("COLUMNS", "200")  # the summary on one line per shard
    role = f"arn:aws:iam::{ACCOUNT_B}:role/model-audit"
    earlier = len(assumed_roles(ACCOUNT_B))
    output = tmp_path / "audit.jsonl"
    result = _audit(
        "--profile", "team-b", "--role-arn", role, "--region", "eu-west-1", "-o", str(output)
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert {record["arn"] for record in _records(output)} == accounts.expected[
        ACCOUNT_B, "eu-west-1"
    ]
    assert f"model-audit  {ACCOUNT_B}  eu-west-1" in result.stderr
    assert [arn for arn, _ in assumed_roles(ACCOUNT_B)[earlier:]] == [role]


def test_a_role_that_cannot_be_assumed_stops_only_its_shard(
    accounts: Accounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STS unreachable: the role's shard stops, the profile's shard completes, exit code 5."""
    # A port bound but not listening refuses every connection at once, and no
    # other process can listen on it meanwhile.
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{refusing.getsockname()[1]}")
        # botocore's STS client would retry each refused refresh itself, with
        # random backoff (legacy mode: 5 attempts, ~15 s); sagefetch's retries stay.
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        output = tmp_path / "audit.jsonl"
        result = _audit(
            "--profiles", "team-b", "--role-arn", f"arn:aws:iam::{ACCOUNT_A}:role/model-audit",
            "--region", "eu-west-1", "-o", str(output), "--max-attempts", "2",
        )  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert {record["arn"] for record in _records(output)} == accounts.expected[
        ACCOUNT_B, "eu-west-1"
    ]
    assert "model-audit in eu-west-1: EndpointConnectionError" in result.stderr


def test_a_role_whose_trust_policy_denies_us_says_so(
    accounts: Accounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AssumeRole denied: that shard stops with a credentials error naming the role; exit 5."""
    sts = accounts.servers["team-b"]
    sts.faults = Faults(reject_with="AccessDenied", operations=("AssumeRole",))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.endpoint_url)
    role = f"arn:aws:iam::{ACCOUNT_B}:role/locked"
    earlier = len(assumed_roles(ACCOUNT_B))
    output = tmp_path / "audit.jsonl"
    result = _audit(
        "--profiles", "team-a", "--role-arn", role, "--region", "us-east-1", "-o", str(output)
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert sts.counters.rejected >= 1  # the denial came from STS
    assert assumed_roles(ACCOUNT_B)[earlier:] == []
    assert f"cannot assume {role}: AccessDenied" in result.stderr
    assert "trust policy" in result.stderr
    assert "Traceback" not in result.stderr
    assert {record["arn"] for record in _records(output)} == accounts.expected[
        ACCOUNT_A, "us-east-1"
    ]


def _accounts_file(tmp_path: Path) -> Path:
    """The three local accounts as an accounts file: named, each through its own profile."""
    path = tmp_path / "accounts.yaml"
    path.write_text(
        "accounts:\n"
        f"- {{account_id: '{ACCOUNT_A}', name: ml-prod, profile: team-a, email: a@example.com,"
        " regions: [us-east-1, eu-west-1], tags: ['team:ml']}\n"
        f"- {{account_id: '{ACCOUNT_B}', name: ml-dev, profile: team-b, regions: [eu-west-1]}}\n"
        f"- {{account_id: '{ACCOUNT_DENIED}', name: sandbox, profile: denied,"
        " regions: [us-east-1]}\n"
    )
    return path


@pytest.mark.timeout(180)
def test_accounts_file_audits_each_account_in_its_regions_with_its_name(
    accounts: Accounts, tmp_path: Path
) -> None:
    """--accounts-file: each account in its own regions; records and summary carry its name."""
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"
    result = _audit(
        "--accounts-file", str(_accounts_file(tmp_path)), "-o", str(output),
        "--summary-json", str(path),
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    records = _records(output)
    names = {ACCOUNT_A: "ml-prod", ACCOUNT_B: "ml-dev"}
    assert Counter(record["arn"] for record in records) == Counter(
        arn
        for key in ((ACCOUNT_A, "us-east-1"), (ACCOUNT_A, "eu-west-1"), (ACCOUNT_B, "eu-west-1"))
        for arn in accounts.expected[key]
    )
    assert all(record["account_name"] == names[record["account"]] for record in records)
    summary = json.loads(path.read_text())
    assert [
        (shard["account"], shard["account_name"], shard["region"], shard["result"])
        for shard in summary["shards"]
    ] == [
        (ACCOUNT_A, "ml-prod", "us-east-1", "complete"),
        (ACCOUNT_A, "ml-prod", "eu-west-1", "complete"),
        (ACCOUNT_B, "ml-dev", "eu-west-1", "complete"),
        (ACCOUNT_DENIED, "sandbox", "us-east-1", "stopped"),
    ]
    assert f"sandbox ({ACCOUNT_DENIED}) in us-east-1: AccessDeniedException" in result.stderr


def test_accounts_and_skip_accounts_narrow_the_file_and_regions_replace_its_regions(
    accounts: Accounts, tmp_path: Path
) -> None:
    """--accounts by name, --skip-accounts by id, --region for every account chosen."""
    output = tmp_path / "audit.csv"
    result = _audit(
        "--accounts-file", str(_accounts_file(tmp_path)), "--accounts", "ml-prod,ml-dev,sandbox",
        "--skip-accounts", ACCOUNT_DENIED, "--region", "eu-west-1", "-o", str(output),
        "--format", "csv",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    assert Counter((row["account"], row["account_name"], row["region"]) for row in rows) == {
        (ACCOUNT_A, "ml-prod", "eu-west-1"): len(accounts.expected[ACCOUNT_A, "eu-west-1"]),
        (ACCOUNT_B, "ml-dev", "eu-west-1"): len(accounts.expected[ACCOUNT_B, "eu-west-1"]),
    }


@pytest.mark.parametrize(
    ("text", "extra", "message"),
    [
        pytest.param(
            "accounts:\n- {account_id: '111111111111', name: a}\n- {account_id: 2}\n", [],
            "accounts.yaml: entry 2: account_id must be 12 digits", id="bad-entry",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', name: a}\n", ["--accounts", "b"],
            "--accounts names b, not in", id="unknown-account",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', name: a}\n", ["--skip-accounts", "a"],
            "no account of", id="all-skipped",
        ),
        pytest.param(
            "accounts:\n- {account_id: '111111111111', name: a}\n", ["--profiles", "p"],
            "not with --profiles or --role-arn", id="with-profiles",
        ),
    ],
)  # fmt: skip
def test_a_wrong_accounts_file_is_refused_before_any_call(
    tmp_path: Path, text: str, extra: list[str], message: str
) -> None:
    """Exit 2, a message naming the entry or the option, and the output left as it was."""
    path = tmp_path / "accounts.yaml"
    path.write_text(text)
    output = tmp_path / "audit.jsonl"
    output.write_text("an earlier audit\n")

    result = _audit("--accounts-file", str(path), *extra, "-o", str(output))

    assert result.returncode == 2
    assert message in result.stderr
    assert output.read_text() == "an earlier audit\n"


def test_an_audit_csv_without_account_names_is_not_resumed_into(
    accounts: Accounts, tmp_path: Path
) -> None:
    """An earlier version's audit CSV (no account_name column): refused, untouched, with a hint."""
    output = tmp_path / "audit.csv"
    earlier = (
        "arn,account,region,status,group,version,approval_status,package_status,creation_time,"
        "image,model_data_url,error_code,error_message\n"
    )
    output.write_text(earlier)
    result = _audit(
        "--profile", "team-b", "--region", "eu-west-1", "--format", "csv", "-o", str(output),
        "--resume",
    )  # fmt: skip
    assert result.returncode == 2
    assert "without the account_name column" in result.stderr
    assert "HINT: write to another file" in result.stderr
    assert output.read_text() == earlier


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--regions", "a,b", "--region", "c"], "not both", id="regions-and-region"),
        pytest.param(["--profiles", "a", "--profile", "b"], "not both", id="profiles-and-profile"),
        pytest.param(["--role-arn", "arn:aws:iam::1:role/x"], "not an IAM role", id="bad-role"),
        pytest.param(["--where", "colour=red"], "unknown field", id="bad-where"),
        pytest.param(["--created-after", "yesterday"], "ISO 8601", id="bad-time"),
        pytest.param(
            ["--created-after", "2025-02-01", "--created-before", "2025-01-01"],
            "earlier",
            id="empty-window",
        ),
        pytest.param(["--resume"], "--output", id="resume-without-output"),
        pytest.param(["--max-shards", "0"], "--max-shards", id="no-shards"),
        pytest.param(["--group", "g", "--unversioned"], "not with --group", id="group-unversioned"),
        pytest.param(["--accounts", "a"], "choose among the accounts", id="accounts-without-file"),
        pytest.param(
            ["--accounts-file", "missing.yaml"], "--accounts-file missing.yaml", id="no-file"
        ),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    """Bad options are refused before any call, with exit code 2."""
    result = _audit(*args)
    assert result.returncode == 2
    assert message in result.stderr


#: Rich markup, an emoji code and escape sequences (ANSI, OSC 8), as a hostile server sends.
HOSTILE = "[/] [bold red]X[/bold red] :pile_of_poo: \x1b[2J \x1b]8;;http://evil.example/\x1b\\link"
#: A listed ARN whose region and account (shown in the shard table) are hostile.
HOSTILE_ARN = "arn:aws:sagemaker:[/]\x1b[2J:[bold]\x1b]8;;x\x1b\\:model-package/g/1"


def _shown(text: str) -> str:
    r"""How stderr shows service text: as it is, with ESC written ``\x1b``."""
    return text.replace("\x1b", "\\x1b")


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("shard-table", id="account-and-region-in-the-shard-table"),
        pytest.param("stop-line", id="message-in-the-stop-line"),
    ],
)
def test_service_text_in_the_audit_summary_is_plain_text(
    local_sagemaker: LocalSageMaker, tmp_path: Path, where: str
) -> None:
    """Markup and escape sequences in what the service lists or says reach stderr literally."""
    local_sagemaker.seed(groups=1, versions=2)
    if where == "shard-table":
        listing = {"ModelPackageArn": HOSTILE_ARN, "ModelPackageGroupName": "g",
                   "ModelPackageVersion": 1, "CreationTime": 1_700_000_000,
                   "ModelPackageStatus": "Completed"}  # fmt: skip
        local_sagemaker.faults = Faults(
            answer_body=json.dumps({"ModelPackageSummaryList": [listing]}),
            operations=("ListModelPackages",),
        )
    else:
        local_sagemaker.faults = Faults(
            answer_body=json.dumps({"__type": "UnrecognizedClientException", "message": HOSTILE}),
            answer_status=400,
        )
    output = tmp_path / "audit.jsonl"

    result = subprocess.run(
        [*SAGEFETCH, "audit", "-o", str(output), "--endpoint-url", local_sagemaker.endpoint_url],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "300"},  # a table row on one line
    )  # fmt: skip

    assert "Traceback" not in result.stderr
    assert "\x1b" not in result.stderr
    if where == "shard-table":
        assert result.returncode == 3, result.stderr
        [record] = _records(output)
        assert (record["account"], record["region"]) == ("[bold]\x1b]8;;x\x1b\\", "[/]\x1b[2J")
        assert f" {_shown(record['account'])}  {_shown(record['region'])} " in result.stderr
    else:
        assert result.returncode == 4, result.stderr
        assert f": UnrecognizedClientException: {_shown(HOSTILE)} (calling " in result.stderr
        assert "HINT: check which credentials" in result.stderr
