"""``sagefetch audit --engine ray``: shards in Ray actors on a local cluster, one writer here.

One Ray instance serves every test (session fixture, ``ray.init(num_cpus=2)``);
each run of the CLI joins it with ``--ray-address``, so no test pays Ray's
start-up. Its workers read their AWS profiles from one file named when the
cluster started (workers inherit the environment of that moment): each test
writes its accounts' profiles there. ``-m ray`` selects these tests.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from sagefetch._discovery import Discovery
from sagefetch.cli._ray import NAMESPACE, RayEngine
from sagefetch.cli._reports import Shard
from tests.cli.test_audit import (
    ACCOUNT_A,
    ACCOUNT_B,
    ACCOUNT_DENIED,
    REGIONS,
    Accounts,
    _records,
)
from tests.processes import SAGEFETCH
from tests.sts import assumed_roles

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.timeout(300)


@dataclass(frozen=True)
class RayCluster:
    """The session's local Ray: its address, and the AWS config file its workers read."""

    address: str
    aws_config: Path


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """One local Ray (2 CPUs) for every test of the session; skipped only if Ray cannot start."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (the test group has it)")
    aws_config = tmp_path_factory.mktemp("ray") / "aws-config"
    aws_config.write_text("")
    before = os.environ.get("AWS_CONFIG_FILE")
    os.environ["AWS_CONFIG_FILE"] = str(aws_config)  # the workers' environment, from now on
    try:
        context = ray.init(
            num_cpus=2,
            include_dashboard=False,
            logging_level=logging.ERROR,
            log_to_driver=False,
            namespace="sagefetch-tests",
        )
    except Exception as exc:  # noqa: BLE001 - any reason at all: say it and skip
        pytest.skip(f"Ray cannot start on this platform: {type(exc).__name__}: {exc}")
    finally:
        if before is None:
            del os.environ["AWS_CONFIG_FILE"]
        else:
            os.environ["AWS_CONFIG_FILE"] = before
    try:
        yield RayCluster(context.address_info["address"], aws_config)
    finally:
        ray.shutdown()


@pytest.fixture
def accounts(
    ray_cluster: RayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Accounts]:
    """test_audit's three local accounts, their profiles where the Ray workers read them."""
    accounts = Accounts(tmp_path)
    accounts.config = ray_cluster.aws_config
    try:
        accounts.start(monkeypatch)
        yield accounts
    finally:
        accounts.stop()


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SAGEFETCH, "audit", *args], capture_output=True, text=True, timeout=240, check=False
    )


def _slow_ray_audit(ray_cluster: RayCluster, output: Path, *args: str) -> subprocess.Popen[bytes]:
    """A one-shard audit on the session's Ray, slow enough (10 calls/s of 5 ARNs) to act on."""
    return subprocess.Popen(
        [*SAGEFETCH, "audit", "--profile", "team-a", "--region", "us-east-1", "-o", str(output),
         *args, "--max-rate", "10", "--batch-size", "5", "--quiet",
         "--engine", "ray", "--ray-address", ray_cluster.address],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _expected(accounts: Accounts, *shards: tuple[str, str]) -> Counter[str]:
    return Counter(arn for shard in shards for arn in accounts.expected[shard])


def _wait_for_records(process: subprocess.Popen[bytes], output: Path, count: int) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if output.exists() and output.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{output} did not reach {count} records while the audit ran")


@pytest.mark.ray
def test_every_package_once_with_its_origin_and_the_same_records_as_local(
    accounts: Accounts, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """3 accounts x 2 regions on Ray: each package once, with account and region, as --engine local.

    The denied account's two shards stop (exit 5) as they do in-process.
    """
    outputs: dict[str, list[dict[str, Any]]] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for engine in ("local", "ray"):
        output, summary = tmp_path / f"{engine}.jsonl", tmp_path / f"{engine}.json"
        result = _audit(
            "--profiles", "team-a,team-b,denied", "--regions", ",".join(REGIONS),
            "-o", str(output), "--summary-json", str(summary), "--max-shards", "4",
            "--engine", engine, "--ray-address", ray_cluster.address,
        )  # fmt: skip
        assert result.returncode == 5, result.stderr
        assert result.stderr.count("denied in us-east-1: AccessDeniedException") == 1
        assert result.stderr.count("denied in eu-west-1: AccessDeniedException") == 1
        assert "Traceback" not in result.stderr
        outputs[engine] = _records(output)
        summaries[engine] = json.loads(summary.read_text())

    records = outputs["ray"]
    assert Counter(record["arn"] for record in records) == Counter(
        arn for arns in accounts.expected.values() for arn in arns if ACCOUNT_DENIED not in arn
    )
    for record in records:
        assert record["arn"].split(":")[3:5] == [record["region"], record["account"]]
    as_set = {engine: {json.dumps(r, sort_keys=True) for r in rs} for engine, rs in outputs.items()}
    assert as_set["ray"] == as_set["local"]

    def shards(summary: dict[str, Any]) -> set[tuple[Any, ...]]:
        return {
            (s["credentials"], s["region"], s["result"], s["described"], s["worker_retries"])
            for s in summary["shards"]
        }

    assert shards(summaries["ray"]) == shards(summaries["local"])
    assert (summaries["ray"]["engine"], summaries["local"]["engine"]) == ("ray", "local")


@pytest.mark.ray
def test_a_role_is_assumed_on_the_worker_from_the_names_the_driver_sends(
    accounts: Accounts, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """--role-arn on Ray: the worker assumes the role (STS) with its own profile, then audits."""
    role = f"arn:aws:iam::{ACCOUNT_B}:role/model-audit"
    earlier = len(assumed_roles(ACCOUNT_B))
    output = tmp_path / "audit.jsonl"
    result = _audit(
        "--profile", "team-b", "--role-arn", role, "--region", "eu-west-1", "-o", str(output),
        "--engine", "ray", "--ray-address", ray_cluster.address,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert Counter(r["arn"] for r in _records(output)) == _expected(
        accounts, (ACCOUNT_B, "eu-west-1")
    )
    assert [arn for arn, _ in assumed_roles(ACCOUNT_B)[earlier:]] == [role]


def _actors(ray: Any) -> list[str]:
    """The names of the live actors sagefetch runs its shards in."""
    return [
        actor["name"]
        for actor in ray.util.list_named_actors(all_namespaces=True)
        if actor["namespace"] == NAMESPACE and actor["name"].startswith("sagefetch-")
    ]


def _kill_sagefetch_actors(ray: Any, *, restart: bool = True) -> int:
    """Kill every actor the audit runs its shards in (Ray restarts them if asked); how many."""
    killed = 0
    for name in _actors(ray):
        try:
            handle = ray.get_actor(name, namespace=NAMESPACE)
        except ValueError:
            continue  # gone meanwhile
        ray.kill(handle, no_restart=not restart)
        killed += 1
    return killed


def _audit_killing_actors(
    ray_cluster: RayCluster, output: Path, *, restart: bool
) -> tuple[int, bytes, dict[str, Any]]:
    """The slow one-shard audit, its actors killed once 20 records are out.

    Returns the exit code, stderr, and the shard's entry in ``--summary-json``.
    """
    ray = pytest.importorskip("ray")
    summary = output.with_name("summary.json")
    process = _slow_ray_audit(ray_cluster, output, "--summary-json", str(summary))
    _wait_for_records(process, output, 20)
    assert _kill_sagefetch_actors(ray, restart=restart) >= 1
    _, stderr = process.communicate(timeout=240)
    (shard,) = json.loads(summary.read_text())["shards"]
    return process.returncode, stderr, shard


@pytest.mark.ray
def test_a_worker_killed_mid_shard_is_rerun_and_every_package_written_once(
    accounts: Accounts, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """ray.kill of the actors mid-shard: the shard runs again, each package once, as summarized."""
    output = tmp_path / "audit.jsonl"
    returncode, stderr, shard = _audit_killing_actors(ray_cluster, output, restart=True)
    assert returncode == 0, stderr.decode()
    assert Counter(r["arn"] for r in _records(output)) == _expected(
        accounts, (ACCOUNT_A, REGIONS[0])
    )
    assert shard["worker_retries"] >= 1
    assert (shard["result"], shard["described"]) == ("complete", 360)
    assert shard["resumed"] == 0  # what the first run sent is not 'resumed' from an earlier run


@pytest.mark.ray
def test_a_shard_whose_workers_are_gone_for_good_stops_resumable(
    accounts: Accounts, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """All actors killed for good mid-shard: the shard stops (WorkerLost, exit 4), records whole."""
    output = tmp_path / "audit.jsonl"
    returncode, stderr, shard = _audit_killing_actors(ray_cluster, output, restart=False)
    assert returncode == 4, stderr.decode()
    assert b"Traceback" not in stderr
    assert b"--resume" in stderr
    written = Counter(r["arn"] for r in _records(output))
    assert set(written) < set(accounts.expected[ACCOUNT_A, REGIONS[0]])
    assert set(written.values()) == {1}
    assert (shard["result"], shard["stopped"]["code"]) == ("stopped", "WorkerLost")
    assert shard["described"] == len(written)


@pytest.mark.ray
def test_sigint_stops_cleanly_with_whole_records_and_no_actor_left(
    accounts: Accounts, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """Ctrl-C on a Ray audit: exit 130, whole records only, the run's actors killed."""
    ray = pytest.importorskip("ray")
    output = tmp_path / "audit.jsonl"
    process = _slow_ray_audit(ray_cluster, output)
    _wait_for_records(process, output, 20)
    assert _actors(ray)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()
    assert b"Traceback" not in stderr
    assert output.read_bytes().endswith(b"\n")
    assert set(Counter(r["arn"] for r in _records(output)).values()) == {1}
    deadline = time.monotonic() + 30  # the GCS learns of the deaths a moment later
    while _actors(ray) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _actors(ray) == []


@pytest.mark.ray
def test_sigterm_while_its_own_ray_starts_exits_143_and_leaves_no_ray(tmp_path: Path) -> None:
    """SIGTERM while the CLI starts a local Ray for itself: exit 143, no traceback, no raylet.

    ray.init sets a SIGTERM handler that exits mid-call; the CLI keeps its own.
    """
    pytest.importorskip("ray")
    output = tmp_path / "audit.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    process = subprocess.Popen(
        [*SAGEFETCH, "audit", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9",
         "-o", str(output), "--engine", "ray", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    # Within ray.init: its GCS and raylet have started, and ray.init has not returned (the run
    # would then fail at once on port 9). A fixed sleep raced the CLI's start-up on a busy host.
    deadline = time.monotonic() + 60
    while not _processes_of_session(process.pid) and process.poll() is None:
        assert time.monotonic() < deadline, "the CLI started no local Ray"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr.decode()
    assert b"Traceback" not in stderr
    deadline = time.monotonic() + 15  # the raylet and GCS take a moment to exit
    while (left := _processes_of_session(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == b"", "a raylet or GCS of the run is left"


def _processes_of_session(driver: int) -> bytes:
    """The PIDs of the local Ray that the CLI with PID ``driver`` started (its session's)."""
    found = subprocess.run(
        ["pgrep", "-f", f"session_[0-9_-]*_{driver}/"], capture_output=True, check=False
    )
    return found.stdout


@pytest.mark.ray
def test_sigkill_of_the_driver_then_resume_on_ray_records_every_package_once(
    accounts: Accounts, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """The driver SIGKILLed mid-audit (its actors die with it); --resume --engine ray ends it."""
    output, summary = tmp_path / "audit.jsonl", tmp_path / "summary.json"
    args = ["--profiles", "team-a,team-b", "--regions", ",".join(REGIONS), "-o", str(output),
            "--engine", "ray", "--ray-address", ray_cluster.address]  # fmt: skip
    process = subprocess.Popen(
        [*SAGEFETCH, "audit", *args, "--max-rate", "10", "--batch-size", "5", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_for_records(process, output, 30)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    before = len(output.read_bytes().splitlines())  # a torn last line counts: --resume cuts it

    result = _audit(*args, "--resume", "--summary-json", str(summary))
    assert result.returncode == 0, result.stderr
    expected = _expected(
        accounts,
        *((account, region) for account, region in accounts.expected if account != ACCOUNT_DENIED),
    )
    assert Counter(r["arn"] for r in _records(output)) == expected
    totals = json.loads(summary.read_text())["totals"]
    assert before - 1 <= totals["resumed"] <= before
    assert totals["resumed"] + totals["described"] == sum(expected.values())


def test_without_ray_installed_a_one_line_hint_and_exit_2(tmp_path: Path) -> None:
    """No sagefetch[ray]: exit 2 before any call, naming what to install; no output made."""
    output = tmp_path / "audit.jsonl"
    without_ray = (
        "import runpy, sys\n"
        "sys.modules['ray'] = None  # import ray raises ImportError\n"
        "sys.argv[0] = 'sagefetch'\n"
        "runpy.run_module('sagefetch.cli', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", without_ray, "audit", "--region", "us-east-1", "-o", str(output),
         "--engine", "ray"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "pip install 'sagefetch[ray]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert not output.exists()


@pytest.mark.parametrize("how", ["--ray-address", "RAY_ADDRESS"])
def test_a_ray_address_nothing_listens_on_is_refused_at_once(how: str, tmp_path: Path) -> None:
    """An unreachable cluster: exit 2 with a hint within seconds (ray.init retries for minutes)."""
    with socket.socket() as bound:  # a port that is bound but takes no connection
        bound.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{bound.getsockname()[1]}"
        output = tmp_path / "audit.jsonl"
        flag = ["--ray-address", address] if how == "--ray-address" else []
        env = {**os.environ, "RAY_ADDRESS": address} if how == "RAY_ADDRESS" else None
        result = subprocess.run(
            [*SAGEFETCH, "audit", "--region", "us-east-1", "-o", str(output), "--engine", "ray",
             *flag],
            capture_output=True, text=True, timeout=60, check=False, env=env,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"cannot reach the Ray cluster at {address}" in result.stderr
    assert "HINT:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


def test_a_shard_task_names_its_credentials_and_carries_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the driver sends a worker holds profile, role and endpoint names, never a key."""
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile team-a]\naws_access_key_id = AKIASECRETKEYID00001\n"
        "aws_secret_access_key = secret-of-team-a\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00002")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-the-environment")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-from-the-environment")
    engine = RayEngine(
        None,
        [],
        discovery=Discovery(),
        settings={"timeout": 5.0},
        endpoint_url="http://127.0.0.1:1",
    )
    role = f"arn:aws:iam::{ACCOUNT_A}:role/Audit"
    task = engine.task(Shard(region="us-east-1", profile="team-a", role_arn=role), set())
    sent = pickle.dumps(task)
    for secret in ("AKIASECRETKEYID00001", "secret-of-team-a", "AKIAENVIRONMENT00002",
                   "secret-from-the-environment", "token-from-the-environment"):  # fmt: skip
        assert secret.encode() not in sent
    assert (task.spec.profile, task.spec.role_arn, task.spec.region) == (
        "team-a",
        role,
        "us-east-1",
    )


def test_a_shard_skips_only_what_the_output_holds_of_its_account_and_region() -> None:
    """--resume on Ray: a shard is sent the recorded ARNs of its (account, region), not all."""
    arn = "arn:aws:sagemaker:{}:{}:model-package/g/1"
    recorded = {
        arn.format("us-east-1", ACCOUNT_A),
        arn.format("eu-west-1", ACCOUNT_A),
        arn.format("us-east-1", "222222222222"),
        "missing-group",  # a failed group, named as given: every shard skips it
    }
    engine = RayEngine(None, [], discovery=Discovery(), settings={}, endpoint_url=None)
    role = f"arn:aws:iam::{ACCOUNT_A}:role/Audit"
    task = engine.task(Shard(region="us-east-1", role_arn=role), recorded)
    assert task.skip == {arn.format("us-east-1", ACCOUNT_A), "missing-group"}
    unknown_account = engine.task(Shard(region="us-east-1", profile="p"), recorded)
    assert unknown_account.skip == recorded - {arn.format("eu-west-1", ACCOUNT_A)}
