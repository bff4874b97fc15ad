"""A5's server: an AWS Organization on one local moto server, in its own process.

    python -m benchmarks._organization --accounts 20 --regions us-east-1,eu-west-1,ap-southeast-2
        --groups 8 --versions 25 --rate 1 --burst 2 --latency 0.03 --jitter 0.02 --seed 5
        --config FILE

moto serves Organizations, STS, EC2 and SageMaker on one port and keys
everything by the caller's account (as ``tests/cli/test_organization.py``
does): the management account's keys list the organization; each member is
reached through ``OrganizationAccountAccessRole`` (moto's STS hands out keys
of the role's account). Every account holds ``groups x versions`` packages in
each region.

SageMaker's limits are per account and region, so each (account, region)
gets its own :class:`~sagefetch.testing._faults.FaultLayer`: its own token
bucket (starting full), latency and counters. Organizations, STS and EC2
calls pass straight to moto: no limit, no added latency, not counted. The
control API (``/_sagefetch/counters``, ``faults``, ``reset``) answers for
all the layers at once, summed, so ``benchmarks._measure.run_peer`` drives
this server as it drives the one-account servers.

It writes ``--config``: an AWS config file with a profile per account, as a
user auditing by profiles would have it (``acct-01``, the management account,
with its keys; every other one a ``role_arn`` with ``source_profile =
acct-01``), and prints the ``export`` lines the harness reads (the
management account's keys, ``AWS_ENDPOINT_URL`` for every service,
``AWS_CONFIG_FILE``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sagefetch.testing import Catalogue, Faults
from sagefetch.testing._faults import CONTROL_PREFIX, FaultCounters, FaultLayer
from sagefetch.testing._http import WSGIServer

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import FrameType

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MANAGEMENT: Final = "100000000001"
MEMBER_ROLE: Final = "OrganizationAccountAccessRole"
_SAGEMAKER: Final = "SageMaker."
_SCOPE: Final = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/")


def profile_name(number: int) -> str:
    """The config file's profile of the ``number``-th account (from 1; 1 is the management)."""
    return f"acct-{number:02d}"


class ShardLayers:
    """A :class:`FaultLayer` per (account, region) for SageMaker calls; the rest straight to moto.

    The control API acts on every layer: faults put in force and resets reach
    them all; counters are summed and timelines merged by second.
    """

    def __init__(self, app: WSGIApplication, faults: Faults) -> None:
        self._app = app
        self._faults = faults
        self._layers: dict[tuple[str, str], FaultLayer] = {}
        self._accounts: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, account: str, region: str) -> None:
        """A layer for this account and region (made before the first call, so reset reaches it)."""
        with self._lock:
            self._layers.setdefault((account, region), FaultLayer(self._app, self._faults))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return self._control(environ, start_response)
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(_SAGEMAKER):
            return self._app(environ, start_response)
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        key, region = scope.groups() if scope else ("", "us-east-1")
        account = self._account(key)
        self.add(account, region)
        return self._layers[account, region](environ, start_response)

    def _account(self, access_key: str) -> str:
        account = self._accounts.get(access_key)
        if account is None:
            from moto.iam.models import get_account_id_from  # noqa: PLC0415 - moto's, late

            account = self._accounts[access_key] = get_account_id_from(access_key)
        return account

    def counters(self) -> FaultCounters:
        with self._lock:
            layers = list(self._layers.values())
        total: Counter[str] = Counter()
        most_in_flight = 0
        for layer in layers:
            counts = dataclasses.asdict(layer.counters)
            most_in_flight = max(most_in_flight, counts.pop("max_in_flight"))
            total.update(counts)
        fields = {field.name: total[field.name] for field in dataclasses.fields(FaultCounters)}
        return FaultCounters(**{**fields, "max_in_flight": most_in_flight})

    def timeline(self) -> list[tuple[int, int, int]]:
        merged: dict[int, list[int]] = {}
        with self._lock:
            layers = list(self._layers.values())
        for layer in layers:
            for second, calls, throttled in layer.timeline:
                entry = merged.setdefault(second, [0, 0])
                entry[0] += calls
                entry[1] += throttled
        return [(second, *counts) for second, counts in sorted(merged.items())]  # type: ignore[misc]

    def _control(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, document = "200 OK", {}
        with self._lock:
            layers = list(self._layers.values())
        if (method, path) == ("GET", CONTROL_PREFIX + "counters"):
            document = {
                "counters": dataclasses.asdict(self.counters()),
                "timeline": self.timeline(),
                "faults": dataclasses.asdict(self._faults),
            }
        elif (method, path) == ("PUT", CONTROL_PREFIX + "faults"):
            try:
                self._faults = Faults(**json.loads(body))
            except (TypeError, ValueError) as exc:
                status, document = "400 Bad Request", {"error": str(exc)}
            else:
                for layer in layers:
                    layer.faults = self._faults
                document = dataclasses.asdict(self._faults)
        elif (method, path) == ("POST", CONTROL_PREFIX + "reset"):
            for layer in layers:
                layer.reset(self._faults)
        else:
            status, document = "404 Not Found", {"error": f"no control endpoint {method} {path}"}
        payload = json.dumps(document).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    def close(self) -> None:
        for layer in self._layers.values():
            layer.close()


def build_organization(accounts: int) -> tuple[list[str], tuple[str, str]]:
    """An organization of ``accounts`` accounts (the management one first); and its keys."""
    from moto.iam.models import iam_backends  # noqa: PLC0415 - moto is slow to import
    from moto.organizations.models import organizations_backends  # noqa: PLC0415

    iam = iam_backends[MANAGEMENT]["aws"]
    iam.create_user(region_name="us-east-1", user_name="auditor")
    key = iam.create_access_key("auditor")
    backend = organizations_backends[MANAGEMENT]["aws"]
    backend.create_organization(region="us-east-1", FeatureSet="ALL")
    ids = [MANAGEMENT]
    for number in range(2, accounts + 1):
        name = profile_name(number)
        status = backend.create_account(AccountName=name, Email=f"{name}@example.com")
        ids.append(str(status["CreateAccountStatus"]["AccountId"]))
    return ids, (key.access_key_id, key.secret_access_key)


def write_config(path: Path, ids: list[str], keys: tuple[str, str], region: str) -> None:
    """A profile per account: the management one's keys, a role for each other one."""
    lines = [
        f"[profile {profile_name(1)}]",
        f"aws_access_key_id = {keys[0]}",
        f"aws_secret_access_key = {keys[1]}",
        f"region = {region}",
        "",
    ]
    for number, account in enumerate(ids[1:], start=2):
        lines += [
            f"[profile {profile_name(number)}]",
            f"role_arn = arn:aws:iam::{account}:role/{MEMBER_ROLE}",
            f"source_profile = {profile_name(1)}",
            f"region = {region}",
            "",
        ]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._organization")
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--regions", default="us-east-1,eu-west-1,ap-southeast-2")
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--versions", type=int, default=25)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--burst", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    regions = [region for region in args.regions.split(",") if region]

    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - moto is slow to import
        DomainDispatcherApplication,
        create_backend_app,
    )

    from sagefetch.testing._moto import install_batch_describe, seed_moto  # noqa: PLC0415

    install_batch_describe()
    ids, keys = build_organization(args.accounts)
    faults = Faults(
        rate=args.rate,
        burst=args.burst,
        latency=args.latency,
        jitter=args.jitter,
        seed=args.seed,
    )
    dispatcher = DomainDispatcherApplication(create_backend_app)
    for service in ("sagemaker", "sts", "organizations"):
        dispatcher.app_instances[service] = dispatcher.create_app(service)
    layers = ShardLayers(dispatcher, faults)
    for account in ids:
        for region in regions:
            seed_moto(Catalogue(account, region, args.groups, args.versions))
            layers.add(account, region)
    write_config(args.config, ids, keys, regions[0])
    server = WSGIServer("127.0.0.1", 0, layers)
    host, port = server.server_address[:2]
    endpoint = f"http://{host!s}:{port}"
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> Any:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    packages = len(ids) * len(regions) * args.groups * args.versions
    print(
        f"Organization of {len(ids)} accounts x {len(regions)} regions, "
        f"{packages} packages, on {endpoint}",
        f"export AWS_ENDPOINT_URL={endpoint}",
        f"export AWS_ENDPOINT_URL_SAGEMAKER={endpoint}",
        f"export AWS_DEFAULT_REGION={regions[0]}",
        f"export AWS_ACCESS_KEY_ID={keys[0]}",
        f"export AWS_SECRET_ACCESS_KEY={keys[1]}",
        f"export AWS_CONFIG_FILE={args.config}",
        f"export SAGEFETCH_BENCH_ACCOUNTS={','.join(ids)}",
        "Press Ctrl-C to stop",
        sep="\n",
        flush=True,
    )
    stop.wait()
    layers.close()
    server.close()
    thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
