"""``sagefetch audit --org`` end to end, on one local moto server for a whole organization.

moto serves Organizations, STS and SageMaker on one port and keys everything
by the caller's account: the management account's own credentials list the
organization, and each member's packages are reached through the role the
audit assumes in it (moto's STS hands out keys of the role's account).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import botocore.session
import pytest
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
from moto.iam.models import get_account_id_from, iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.organizations.models import organizations_backends

from sagefetch.testing import LocalSageMaker
from sagefetch.testing._http import WSGIServer, call_wsgi
from sagefetch.testing._moto import install_batch_describe, reset_account
from tests.processes import SAGEFETCH, wait_for_lines
from tests.sts import assumed_roles

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MANAGEMENT = "100000000001"
REGIONS = ("us-east-1", "eu-west-1")
ROLE = "OrganizationAccountAccessRole"


@dataclass
class Overrides:
    """Where the server departs from moto: refusals, regions turned off, slow answers."""

    roles_in: set[str] = field(default_factory=set)
    actions: dict[str, str] = field(default_factory=dict)
    regions_off: dict[str, set[str]] = field(default_factory=dict)
    """Regions an account has not enabled, besides moto's opt-in ones (DescribeRegions)."""
    describe_latency: float = 0.0
    """Seconds every BatchDescribeModelPackage answer takes."""
    throttles: dict[str, list[str | None]] = field(default_factory=dict)
    """Action -> what its next calls get, one entry per call: a throttling code, or None for
    moto's answer. Organizations and EC2 (DescribeRegions) actions; once used up, moto answers."""
    throttled: Counter[str] = field(default_factory=Counter)
    """Calls answered from ``throttles``, by action."""
    regions_denied: set[str] = field(default_factory=set)
    """Accounts whose DescribeRegions is refused (UnauthorizedOperation), as an SCP would."""
    answers: dict[str, str] = field(default_factory=dict)
    """Action -> the body every call of it gets instead of moto's (JSON, or STS's XML)."""


def overriding(app: WSGIApplication, overrides: Overrides) -> WSGIApplication:
    """``app``, departing from moto as ``overrides`` says.

    AssumeRole into ``overrides.roles_in`` is denied, as a trust policy would;
    Organizations actions in ``overrides.actions`` are refused with their code;
    ``overrides.throttles`` throttles the calls it plans; DescribeRegions is
    refused to ``overrides.regions_denied``, and answers with ``regions_off`` off;
    actions in ``overrides.answers`` get that body.
    """

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        form = parse_qs(body.decode(errors="replace"))
        role = form.get("RoleArn", [""])[0]
        account = role.split(":")[4] if role.count(":") >= 5 else ""
        if form.get("Action") == ["AssumeRole"] and account in overrides.roles_in:
            payload = (
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                f"<Message>not authorized to perform sts:AssumeRole on {role}</Message></Error>"
                "</ErrorResponse>"
            ).encode()
            start_response("403 Forbidden", [("Content-Type", "text/xml")])
            return [payload]
        action = target.rpartition(".")[2] or form.get("Action", [""])[0]
        if action == "DescribeRegions":
            return _describe_regions(app, environ, start_response, overrides)
        if action in overrides.answers:
            kind = "application/x-amz-json-1.1" if target else "text/xml"
            start_response("200 OK", [("Content-Type", kind)])
            return [overrides.answers[action].encode()]
        throttle = _next_throttle(overrides, action)
        if throttle is not None:
            payload = json.dumps({"__type": throttle, "Message": "Rate exceeded"}).encode()
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1")])
            return [payload]
        if target.endswith(".BatchDescribeModelPackage") and overrides.describe_latency:
            time.sleep(overrides.describe_latency)
        code = overrides.actions.get(action)
        if code is not None:
            payload = json.dumps({"__type": code, "Message": f"Refused: {code}."}).encode()
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1")])
            return [payload]
        return app(environ, start_response)

    return serve


def _caller(environ: WSGIEnvironment) -> str:
    """The account whose keys signed the request, as moto tells them apart."""
    key = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return get_account_id_from(key.group(1)) if key else ""


def _next_throttle(overrides: Overrides, action: str) -> str | None:
    """The throttling code this call of ``action`` gets, if ``overrides.throttles`` has one."""
    planned = overrides.throttles.get(action)
    code = planned.pop(0) if planned else None
    if code is not None:
        overrides.throttled[action] += 1
    return code


def _ec2_error(start_response: StartResponse, status: str, code: str) -> Iterable[bytes]:
    """EC2's query-protocol error answer (EC2 wraps it in Response/Errors)."""
    message = {
        "UnauthorizedOperation": "You are not authorized to perform this operation. User is "
        "not authorized to perform: ec2:DescribeRegions",
    }.get(code, "Request limit exceeded.")
    payload = (
        f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
        "</Error></Errors><RequestID>sagefetch-test</RequestID></Response>"
    ).encode()
    start_response(status, [("Content-Type", "text/xml")])
    return [payload]


def _describe_regions(
    app: WSGIApplication,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    overrides: Overrides,
) -> Iterable[bytes]:
    """EC2 DescribeRegions: refused, throttled, or moto's answer with some regions off."""
    if _caller(environ) in overrides.regions_denied:
        return _ec2_error(start_response, "403 Forbidden", "UnauthorizedOperation")
    throttle = _next_throttle(overrides, "DescribeRegions")
    if throttle is not None:
        return _ec2_error(start_response, "503 Service Unavailable", throttle)
    return _regions_off(app, environ, start_response, overrides.regions_off)


def _regions_off(
    app: WSGIApplication,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    regions_off: dict[str, set[str]],
) -> Iterable[bytes]:
    """The DescribeRegions answer, with the caller's account's regions_off not opted in."""
    off = regions_off.get(_caller(environ), set())
    status, headers, payload = call_wsgi(app, environ)

    def opt_out(item: re.Match[bytes]) -> bytes:
        name = re.search(rb"<regionName>([^<]*)</regionName>", item.group())
        if name is None or name.group(1).decode() not in off:
            return item.group()
        return re.sub(rb"<optInStatus>[^<]*<", b"<optInStatus>not-opted-in<", item.group())

    payload = re.sub(rb"<item>.*?</item>", opt_out, payload, flags=re.DOTALL)
    start_response(status, [(k, v) for k, v in headers if k.lower() != "content-length"])
    return [payload]


class Organization:
    """An organization on one local moto server, with model packages in its accounts.

    Layout (names as Organizations has them)::

        root ─┬─ master (the management account, MANAGEMENT)
              ├─ data, denied (its role cannot be assumed), closed (SUSPENDED)
              └─ OU ml ─┬─ ml-dev
                        └─ OU prod ── ml-prod
    """

    def __init__(self) -> None:
        install_batch_describe()
        self.overrides = Overrides()
        self.ids: dict[str, str] = {"master": MANAGEMENT}
        self.ous: dict[str, str] = {}
        self.expected: dict[tuple[str, str], set[str]] = {}
        app = DomainDispatcherApplication(create_backend_app)
        self._server = WSGIServer("127.0.0.1", 0, overriding(app, self.overrides))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._key: str | None = None
        self._secret = ""

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> dict[str, str]:
        """Serve, build the organization, seed packages; the management account's credentials."""
        self._thread.start()
        iam = iam_backends[MANAGEMENT]["aws"]
        if "auditor" not in iam.users:
            iam.create_user(region_name="us-east-1", user_name="auditor")
        key = iam.create_access_key("auditor")
        self._key, self._secret = key.access_key_id, key.secret_access_key
        backend = self.backend
        backend.create_organization(region="us-east-1", FeatureSet="ALL")
        root = backend.list_roots()["Roots"][0]["Id"]
        self.ous["root"] = root
        self.ous["ml"] = self._unit(root, "ml")
        self.ous["prod"] = self._unit(self.ous["ml"], "prod")
        for name, parent in (
            ("data", root),
            ("denied", root),
            ("closed", root),
            ("ml-dev", self.ous["ml"]),
            ("ml-prod", self.ous["prod"]),
        ):
            self.add_account(name, parent)
        self.overrides.roles_in.add(self.ids["denied"])
        for name, region, groups, versions in (
            ("master", "us-east-1", 1, 4),
            ("data", "us-east-1", 2, 3),
            ("data", "eu-west-1", 1, 2),
            ("denied", "us-east-1", 1, 2),
            ("closed", "us-east-1", 1, 2),
            ("ml-dev", "eu-west-1", 2, 5),
            ("ml-prod", "us-east-1", 3, 10),
            ("ml-prod", "eu-west-1", 1, 4),
        ):
            self.seed(name, region, groups=groups, versions=versions)
        backend.close_account(AccountId=self.ids["closed"])
        return {
            "AWS_ACCESS_KEY_ID": key.access_key_id,
            "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
        }

    @property
    def backend(self) -> Any:
        return organizations_backends[MANAGEMENT]["aws"]

    def _unit(self, parent: str, name: str) -> str:
        unit = self.backend.create_organizational_unit(ParentId=parent, Name=name)
        return str(unit["OrganizationalUnit"]["Id"])

    def add_account(self, name: str, parent: str | None = None) -> str:
        status = self.backend.create_account(AccountName=name, Email=f"{name}@example.com")
        account = str(status["CreateAccountStatus"]["AccountId"])
        self.ids[name] = account
        root = self.ous["root"]
        if parent is not None and parent != root:
            self.backend.move_account(
                AccountId=account, SourceParentId=root, DestinationParentId=parent
            )
        return account

    def seed(self, name: str, region: str, *, groups: int, versions: int) -> None:
        account = self.ids[name]
        arns = LocalSageMaker(account_id=account, region=region).seed(
            groups=groups, versions=versions
        )
        self.expected[account, region] = set(arns)

    def seed_through_role(self, name: str, region: str, *, versions: int) -> None:
        """Packages created over HTTP by the account's own OrganizationAccountAccessRole.

        As an ML team would: STS AssumeRole with the management account's keys,
        then SageMaker CreateModelPackageGroup and CreateModelPackage with the
        role's keys, which moto files under the member account.
        """
        session = botocore.session.get_session()
        keys = {"aws_access_key_id": self._key, "aws_secret_access_key": self._secret}
        sts = session.create_client(
            "sts", region_name=region, endpoint_url=self.endpoint_url, **keys
        )
        role = sts.assume_role(RoleArn=_role(self, name), RoleSessionName="seeding")["Credentials"]
        sagemaker = session.create_client(
            "sagemaker",
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=role["AccessKeyId"],
            aws_secret_access_key=role["SecretAccessKey"],
            aws_session_token=role["SessionToken"],
        )
        group = f"seeded-{name}"
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
        arns = {
            sagemaker.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]
            for _ in range(versions)
        }
        self.expected.setdefault((self.ids[name], region), set()).update(arns)

    def packages(self, *names: str, regions: Iterable[str] = REGIONS) -> Counter[str]:
        """Every package of these accounts in these regions, once each."""
        return Counter(
            arn
            for name in names
            for region in regions
            for arn in self.expected.get((self.ids[name], region), ())
        )

    def stop(self) -> None:
        self._server.close()
        self._thread.join()
        if self._key is not None:
            iam_backends[MANAGEMENT]["aws"].delete_access_key(self._key, "auditor")
        for account in self.ids.values():
            reset_account(account)
            organizations_backends.master_accounts.pop(account, None)
        self.backend.reset()


@pytest.fixture
def organization(monkeypatch: pytest.MonkeyPatch) -> Iterator[Organization]:
    """An organization on a local server; the environment signs as its management account."""
    organization = Organization()
    try:
        for name, value in organization.start().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", organization.endpoint_url)
        yield organization
    finally:
        organization.stop()


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SAGEFETCH, "audit", "--org", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _role(organization: Organization, name: str, role: str = ROLE) -> str:
    return f"arn:aws:iam::{organization.ids[name]}:role/{role}"


@pytest.mark.timeout(180)
def test_org_audits_every_package_of_every_active_account_once(
    organization: Organization, tmp_path: Path
) -> None:
    """Every ACTIVE account in both regions: each package once, with account, region and name.

    The management account is audited with its own credentials; members through
    their OrganizationAccountAccessRole; the denied member stops its shards only;
    the suspended account is not audited.
    """
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"
    assumed_before = {
        name: len(assumed_roles(account)) for name, account in organization.ids.items()
    }

    result = _audit("--regions", ",".join(REGIONS), "-o", str(output), "--summary-json", str(path))

    assert result.returncode == 5, result.stderr
    records = _records(output)
    assert Counter(record["arn"] for record in records) == organization.packages(
        "master", "data", "ml-dev", "ml-prod"
    )
    names = {account: name for name, account in organization.ids.items()}
    for record in records:
        assert record["arn"].split(":")[3:5] == [record["region"], record["account"]]
        assert record["account_name"] == names[record["account"]]
        assert record["status"] == "described"
    summary = json.loads(path.read_text())
    assert (summary["exit_code"], summary["totals"]["shards_stopped"]) == (5, 2)
    shards = {(names[shard["account"]], shard["region"]): shard for shard in summary["shards"]}
    assert set(shards) == {
        (name, region)
        for name in ("master", "data", "denied", "ml-dev", "ml-prod")
        for region in REGIONS
    }
    assert shards["master", "us-east-1"]["role_arn"] is None
    assert shards["data", "us-east-1"]["role_arn"] == _role(organization, "data")
    for region in REGIONS:
        stopped = shards["denied", region]
        assert stopped["result"] == "stopped"
        assert stopped["stopped"]["error"] == "CredentialsError"
        assert stopped["stopped"]["message"].startswith(
            f"cannot assume {_role(organization, 'denied')}: AccessDenied"
        )
        assert f"denied ({organization.ids['denied']}) in {region}: cannot assume" in result.stderr
    assert summary["organization"] | {"calls": None} == {
        "caller": MANAGEMENT,
        "partition": "aws",
        "member_role": ROLE,
        "ous": [],
        "accounts_listed": 6,
        "accounts_inactive": 1,
        "accounts_audited": 5,
        "not_found": [],
        "calls": None,
        "throttled": 0,
        "retries": 0,
        "stopped": None,
    }
    assert summary["organization"]["calls"] >= 2  # GetCallerIdentity, ListAccounts
    # The management account signed with its own keys; each member's role was assumed.
    assumed = {
        name: [arn for arn, _ in assumed_roles(account)[assumed_before[name] :]]
        for name, account in organization.ids.items()
    }
    assert assumed["master"] == assumed["closed"] == assumed["denied"] == []
    for name in ("data", "ml-dev", "ml-prod"):
        assert set(assumed[name]) == {_role(organization, name)}


def test_ou_lists_its_accounts_recursively_and_skip_accounts_drops_some(
    organization: Organization, tmp_path: Path
) -> None:
    """--ou ml: ml-dev and ml-prod (in ml's child OU); --skip-accounts ml-dev leaves ml-prod."""
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"
    args = ["--regions", ",".join(REGIONS), "--ou", organization.ous["ml"]]

    result = _audit(*args, "-o", str(output))

    assert result.returncode == 0, result.stderr
    assert Counter(record["arn"] for record in _records(output)) == organization.packages(
        "ml-dev", "ml-prod"
    )

    result = _audit(
        *args, "--skip-accounts", "ml-dev", "-o", str(output), "--summary-json", str(path)
    )

    assert result.returncode == 0, result.stderr
    assert Counter(record["arn"] for record in _records(output)) == organization.packages("ml-prod")
    listing = json.loads(path.read_text())["organization"]
    assert (listing["ous"], listing["accounts_listed"], listing["accounts_audited"]) == (
        [organization.ous["ml"]], 2, 1
    )  # fmt: skip


def test_accounts_allow_list_and_a_custom_member_role(
    organization: Organization, tmp_path: Path
) -> None:
    """--accounts by id and name (an unknown one is reported, not fatal); --member-role-name."""
    output = tmp_path / "audit.jsonl"
    assumed_before = len(assumed_roles(organization.ids["data"]))

    result = _audit(
        "--region", "eu-west-1", "--accounts", f"{organization.ids['data']},master,closed,typo",
        "--member-role-name", "ModelAudit", "-o", str(output),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert Counter(record["arn"] for record in _records(output)) == organization.packages(
        "data", "master", regions=["eu-west-1"]
    )
    assert "--accounts names closed, not an active account of the organization" in result.stderr
    assert "--accounts names typo, not an active account" in result.stderr
    assert {arn for arn, _ in assumed_roles(organization.ids["data"])[assumed_before:]} == {
        _role(organization, "data", "ModelAudit")
    }


@pytest.mark.timeout(120)
def test_packages_a_member_created_through_its_role_are_audited_in_that_account(
    organization: Organization, tmp_path: Path
) -> None:
    """Packages made over HTTP by a member's assumed role: audited once each, in that account."""
    organization.seed_through_role("ml-dev", "us-east-1", versions=3)
    seeded = organization.expected[organization.ids["ml-dev"], "us-east-1"]
    assert len(seeded) == 3
    assert all(arn.split(":")[4] == organization.ids["ml-dev"] for arn in seeded)
    output = tmp_path / "audit.jsonl"

    result = _audit("--region", "us-east-1", "--accounts", "ml-dev,master", "-o", str(output))

    assert result.returncode == 0, result.stderr
    records = _records(output)
    assert Counter(record["arn"] for record in records) == organization.packages(
        "ml-dev", "master", regions=["us-east-1"]
    )
    assert {record["account_name"] for record in records if record["arn"] in seeded} == {"ml-dev"}


@pytest.mark.timeout(120)
def test_every_page_of_accounts_is_listed(organization: Organization, tmp_path: Path) -> None:
    """More accounts than one ListAccounts page (20): each one gets its shard."""
    extra = [organization.add_account(f"team-{number:02d}") for number in range(18)]
    path = tmp_path / "summary.json"

    result = _audit(
        "--region", "us-east-1", "--skip-accounts", "denied", "-o", str(tmp_path / "a.jsonl"),
        "--summary-json", str(path),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    summary = json.loads(path.read_text())
    assert summary["organization"]["accounts_listed"] == 24
    audited = {shard["account"] for shard in summary["shards"]}
    others = (organization.ids[name] for name in ("master", "data", "ml-dev", "ml-prod"))
    assert audited == {*extra, *others}


@pytest.mark.parametrize(
    ("ou", "throttles"),
    [
        pytest.param(
            None,
            {"ListAccounts": ["TooManyRequestsException", None, "ThrottlingException"]},
            id="list-accounts",
        ),
        pytest.param(
            "ml",
            {
                "ListAccountsForParent": ["TooManyRequestsException", None, "ThrottlingException"],
                "ListChildren": ["ThrottlingException", "TooManyRequestsException"],
            },
            id="ou",
        ),
    ],
)
@pytest.mark.timeout(120)
def test_a_throttled_organization_listing_is_retried_and_lists_every_account(
    organization: Organization,
    tmp_path: Path,
    ou: str | None,
    throttles: dict[str, list[str | None]],
) -> None:
    """Organizations throttles (on the first and a later page) are retried: every account audited.

    The retries go through the call layer: the summary counts each throttle and retry.
    """
    extra = [organization.add_account(f"team-{number:02d}") for number in range(18)]
    organization.overrides.throttles.update({key: list(codes) for key, codes in throttles.items()})
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"
    scope = ["--ou", organization.ous[ou]] if ou else ["--skip-accounts", "denied"]

    result = _audit(
        "--region", "us-east-1", *scope, "-o", str(output), "--summary-json", str(path)
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    names = ("ml-prod",) if ou else ("master", "data", "ml-prod")
    assert Counter(record["arn"] for record in _records(output)) == organization.packages(
        *names, regions=["us-east-1"]
    )
    planned = sum(code is not None for codes in throttles.values() for code in codes)
    assert sum(organization.overrides.throttled.values()) == planned
    assert all(not codes for codes in organization.overrides.throttles.values())
    summary = json.loads(path.read_text())
    listing = summary["organization"]
    assert (listing["throttled"], listing["retries"], listing["stopped"]) == (
        planned,
        planned,
        None,
    )
    audited = {shard["account"] for shard in summary["shards"]}
    if ou:
        assert listing["accounts_listed"] == 2
        assert audited == {organization.ids["ml-dev"], organization.ids["ml-prod"]}
    else:
        assert listing["accounts_listed"] == 24  # two pages
        others = (organization.ids[name] for name in ("master", "data", "ml-dev", "ml-prod"))
        assert audited == {*extra, *others}


@pytest.mark.timeout(180)
def test_regions_all_an_account_refused_describe_regions_is_a_stopped_shard(
    organization: Organization, tmp_path: Path
) -> None:
    """--regions all, DescribeRegions refused to one account: that account stops, with the reason.

    The others are audited (DescribeRegions throttled first, then retried); the
    run ends with exit 5 and the summary JSON says which account stopped and why.
    """
    organization.overrides.regions_denied.add(organization.ids["data"])
    organization.overrides.throttles["DescribeRegions"] = ["RequestLimitExceeded"] * 2
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"

    result = _audit(
        "--regions", "all", "--accounts", "data,ml-dev", "-o", str(output),
        "--summary-json", str(path),
    )  # fmt: skip

    assert result.returncode == 5, result.stderr
    assert "Traceback" not in result.stderr
    assert Counter(record["arn"] for record in _records(output)) == organization.packages("ml-dev")
    assert organization.overrides.throttled["DescribeRegions"] == 2
    summary = json.loads(path.read_text())
    assert summary["exit_code"] == 5
    listed = {account["account_name"]: account for account in summary["regions"]["accounts"]}
    assert listed["data"]["enabled"] == []
    stopped = listed["data"]["stopped"]
    assert (stopped["error"], stopped["code"]) == ("AccessDeniedError", "UnauthorizedOperation")
    who = f"data ({organization.ids['data']})"
    assert stopped["message"].startswith("cannot list the regions the account has enabled: ")
    assert "ec2:DescribeRegions" in stopped["hint"]
    assert listed["data"]["calls"] == 1  # refused: not retried
    assert listed["ml-dev"]["stopped"] is None
    assert listed["ml-dev"]["calls"] == 3  # throttled twice, retried
    shards = {(shard["account_name"], shard["region"]): shard for shard in summary["shards"]}
    assert shards["data", None]["result"] == "stopped"
    assert shards["data", None]["stopped"] == stopped
    assert {key for key in shards if key[0] == "ml-dev"} == {
        ("ml-dev", region) for region in listed["ml-dev"]["enabled"]
    }
    assert all(shards[key]["result"] == "complete" for key in shards if key[0] == "ml-dev")
    assert f"sagefetch audit: {who}: cannot list the regions the account has enabled: " in (
        result.stderr
    )
    assert "HINT: --regions all needs ec2:DescribeRegions" in result.stderr


@pytest.mark.timeout(180)
def test_org_audit_killed_then_resumed_records_every_package_once(
    organization: Organization, tmp_path: Path
) -> None:
    """SIGKILL mid-audit, then --resume: every package of every account exactly once."""
    organization.overrides.describe_latency = 0.1
    output = tmp_path / "audit.jsonl"
    args = ["--regions", ",".join(REGIONS), "--skip-accounts", "denied", "-o", str(output)]
    process = subprocess.Popen(
        [*SAGEFETCH, "audit", "--org", *args, "--batch-size", "2", "--concurrency", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_lines(output, 10, process)
    process.kill()
    process.wait(timeout=10)
    expected = organization.packages("master", "data", "ml-dev", "ml-prod")
    assert 10 <= output.read_bytes().count(b"\n") < sum(expected.values())  # whole records
    organization.overrides.describe_latency = 0.0

    result = _audit(*args, "--resume")

    assert result.returncode == 0, result.stderr
    assert Counter(record["arn"] for record in _records(output)) == expected
    assert "resumed" in result.stderr


#: SageMaker's regions in the aws partition, and those moto's accounts have enabled.
SAGEMAKER_REGIONS = botocore.session.get_session().get_available_regions("sagemaker", "aws")
MOTO_ENABLED = set(RegionsAndZonesBackend.regions_opt_in_not_required)


@pytest.mark.timeout(240)
def test_regions_all_audits_each_accounts_enabled_sagemaker_regions(
    organization: Organization, tmp_path: Path
) -> None:
    """--regions all: per account, SageMaker regions it has enabled; the others skipped, counted.

    data has also turned eu-west-1 off: its packages there are not audited. The
    denied member's regions cannot be listed: one stopped shard, the others go on.
    """
    organization.overrides.regions_off[organization.ids["data"]] = {"eu-west-1"}
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"

    result = _audit(
        "--regions", "all", "--accounts", "data,ml-dev,denied", "-o", str(output),
        "--summary-json", str(path),
    )  # fmt: skip

    assert result.returncode == 5, result.stderr
    assert Counter(record["arn"] for record in _records(output)) == organization.packages(
        "ml-dev"
    ) + organization.packages("data", regions=["us-east-1"])
    enabled = [region for region in SAGEMAKER_REGIONS if region in MOTO_ENABLED]
    assert {"us-east-1", "eu-west-1"} <= set(enabled) < set(SAGEMAKER_REGIONS)
    summary = json.loads(path.read_text())
    listed = {account["account_name"]: account for account in summary["regions"]["accounts"]}
    assert listed["ml-dev"]["enabled"] == enabled
    assert set(listed["ml-dev"]["not_enabled"]) == set(SAGEMAKER_REGIONS) - MOTO_ENABLED
    assert listed["data"]["enabled"] == [region for region in enabled if region != "eu-west-1"]
    assert "eu-west-1" in listed["data"]["not_enabled"]
    assert listed["denied"]["enabled"] == []
    assert listed["denied"]["stopped"]["error"] == "CredentialsError"
    assert summary["regions"]["not_enabled"] == 2 * len(SAGEMAKER_REGIONS) - 2 * len(enabled) + 1
    shards = Counter((shard["account_name"], shard["region"]) for shard in summary["shards"])
    assert shards == Counter(
        [("ml-dev", region) for region in enabled]
        + [("data", region) for region in enabled if region != "eu-west-1"]
        + [("denied", None)]
    )
    assert f"denied ({organization.ids['denied']}): cannot assume" in result.stderr
    assert "SageMaker regions not enabled in their account skipped" in result.stderr


@pytest.mark.parametrize(
    ("setup", "code", "message"),
    [
        pytest.param(
            "deny-list-accounts", 4,
            "cannot list the organization's accounts: AccessDeniedException", id="denied",
        ),
        pytest.param(
            "no-organization", 2, "the calling account is not in an organization", id="no-org"
        ),
        pytest.param("unknown-ou", 2, "--ou ou-abcd-abcdefgh: ParentNotFoundException",
                     id="unknown-ou"),
    ],
)  # fmt: skip
def test_an_organization_that_cannot_be_listed_stops_the_audit(
    organization: Organization, tmp_path: Path, setup: str, code: int, message: str
) -> None:
    """Nothing to audit: exit 4 (2 for what the user must fix), a hint, and no output written."""
    extra: list[str] = []
    if setup == "deny-list-accounts":
        organization.overrides.actions["ListAccounts"] = "AccessDeniedException"
    elif setup == "no-organization":  # moto lists no account rather than refusing
        organization.overrides.actions["ListAccounts"] = "AWSOrganizationsNotInUseException"
    else:
        extra = ["--ou", "ou-abcd-abcdefgh"]
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"

    result = _audit(*extra, "-o", str(output), "--summary-json", str(path))

    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "HINT: " in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()
    summary = json.loads(path.read_text())
    assert summary["exit_code"] == code
    assert message in summary["organization"]["stopped"]["message"]
    assert summary["shards"] == []


_IDENTITY_WITHOUT_ACCOUNT = (
    "<GetCallerIdentityResponse><GetCallerIdentityResult>"
    f"<Arn>arn:aws:iam::{MANAGEMENT}:user/auditor</Arn><UserId>AIDAEXAMPLE</UserId>"
    "</GetCallerIdentityResult></GetCallerIdentityResponse>"
)


@pytest.mark.parametrize(
    ("action", "body", "message"),
    [
        pytest.param(
            "ListAccounts",
            json.dumps({"Accounts": [{"Id": "12", "Name": "short", "State": "ACTIVE"}]}),
            "ListAccounts answered an account id that is not 12 digits ('12')",
            id="short-account-id",
        ),
        pytest.param(
            "ListAccounts",
            json.dumps({"Accounts": [{"Name": "no-id", "State": "ACTIVE"}]}),
            "ListAccounts answered an account id that is not 12 digits (None)",
            id="no-account-id",
        ),
        pytest.param(
            "ListAccounts",
            json.dumps({"Accounts": [], "NextToken": "again"}),
            "ListAccounts answered a page token it had already given",
            id="token-loop",
        ),
        pytest.param(
            "GetCallerIdentity",
            _IDENTITY_WITHOUT_ACCOUNT,
            "GetCallerIdentity answered an account id that is not 12 digits (None)",
            id="identity-without-account",
        ),
    ],
)
@pytest.mark.timeout(120)
def test_an_answer_that_does_not_fit_stops_the_listing_cleanly(
    organization: Organization, tmp_path: Path, action: str, body: str, message: str
) -> None:
    """An Organizations or STS answer out of shape: exit 4 and why, never a crash or a loop."""
    organization.overrides.answers[action] = body
    output, path = tmp_path / "audit.jsonl", tmp_path / "summary.json"

    result = _audit("-o", str(output), "--summary-json", str(path))

    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    assert f"cannot list the organization's accounts: InvalidResponse: {message}" in result.stderr
    assert "HINT: " in result.stderr
    assert not output.exists()
    stopped = json.loads(path.read_text())["organization"]["stopped"]
    assert (stopped["error"], stopped["code"]) == ("RunStoppedError", "InvalidResponse")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--profiles", "a"], "not with --profiles", id="with-profiles"),
        pytest.param(["--role-arn", "arn:aws:iam::111111111111:role/x"], "not with --profiles",
                     id="with-role-arn"),
        pytest.param(["--member-role-name", "arn:aws:iam::1:role/x"], "not an IAM role name",
                     id="role-arn-as-name"),
        pytest.param(["--ou", "ml"], "expected an organizational unit", id="bad-ou"),
        pytest.param(["--regions", "all,us-east-1"], "stands alone", id="all-and-a-region"),
    ],
)  # fmt: skip
def test_org_usage_errors_exit_2(args: list[str], message: str) -> None:
    """Options --org cannot take are refused before any call."""
    result = _audit(*args)

    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--ou", "ou-abcd-abcdefgh"], id="ou"),
        pytest.param(["--member-role-name", "Audit"], id="member-role-name"),
    ],
)
def test_org_options_need_org(args: list[str]) -> None:
    """--ou and --member-role-name without --org: exit 2."""
    result = subprocess.run(
        [*SAGEFETCH, "audit", *args], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 2
    assert "go with --org" in result.stderr
