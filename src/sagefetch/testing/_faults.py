"""Fault injection in front of the local SageMaker: throttling, latency, errors, drops.

:class:`FaultLayer` is a WSGI middleware that both backends sit behind, so a
benchmark against the synthetic backend sees exactly the faults a test against
moto sees.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import random
import socket
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

from ._http import SOCKET_KEY, call_wsgi
from ._wire import BATCH_DESCRIBE_TARGET, JSON_CONTENT_TYPE, error_body

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["CONTROL_PREFIX", "FaultCounters", "FaultLayer", "Faults", "ServerControl"]

_SAGEMAKER_TARGET_PREFIX: Final = "SageMaker."
_STATUSES: Final = frozenset(status.value for status in HTTPStatus)
#: Path prefix of the control API (see ``FaultLayer._control``).
CONTROL_PREFIX: Final = "/_sagefetch/"


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """What the local SageMaker does wrong, per call.

    Probabilities are drawn independently for each SageMaker call. Replace the
    whole value (``server.faults = Faults(...)``) to change it while the server runs.

    Args:
        rate: Calls per second the server's token bucket refills; ``None`` for no limit.
            A call that finds the bucket empty answers HTTP 400 ``ThrottlingException``.
        burst: Capacity of the token bucket, in calls.
        latency: Seconds added to every answer.
        jitter: Up to this many more seconds, drawn uniformly, added to every answer.
        internal_error: Probability of HTTP 500 ``InternalFailure``.
        unavailable: Probability of HTTP 503 ``ServiceUnavailable``.
        drop: Probability of closing the connection without any response.
        omit: Probability that a successful ``BatchDescribeModelPackage`` answer leaves
            some requested ARNs out of both maps.
        stall: Probability of waiting ``stall_seconds`` before answering.
        stall_seconds: How long a stalled call waits.
        reject_with: Answer every call with this error code, as the service does
            for bad credentials (``UnrecognizedClientException``,
            ``ExpiredTokenException``: HTTP 400) or missing permissions
            (``AccessDeniedException``: HTTP 403).
        operations: Operations (``"ListModelPackages"``, ...) the errors, drops,
            stalls, omissions and rejections apply to; ``None`` for every
            SageMaker one. Throttling and latency apply to every SageMaker call
            regardless. Naming an STS action (``"AssumeRole"``) makes
            ``reject_with`` deny it too (STS calls see no other fault).
        answer_body: Serve this body instead of the backend's answer (for the
            operations in ``operations``), as a misbehaving service or a proxy
            in front of it would. ``$REQUEST_HEADERS`` in it is replaced with the
            call's request headers as ``Name: value`` lines (escaped for a JSON
            string when the content type is JSON), as a server that echoes its
            request would.
        answer_status: HTTP status of ``answer_body``.
        answer_content_type: ``Content-Type`` of ``answer_body``.
        answer_headers: More headers of ``answer_body`` (``x-amz-retry-after``, ...).
        answer: Probability that a call gets ``answer_body``.
        seed: Seed for the random draws, for reproducible runs.
    """

    rate: float | None = None
    burst: int = 1
    latency: float = 0.0
    jitter: float = 0.0
    internal_error: float = 0.0
    unavailable: float = 0.0
    drop: float = 0.0
    omit: float = 0.0
    stall: float = 0.0
    stall_seconds: float = 30.0
    reject_with: str | None = None
    operations: tuple[str, ...] | None = None
    answer_body: str | None = None
    answer_status: int = 200
    answer_content_type: str = JSON_CONTENT_TYPE
    answer_headers: tuple[tuple[str, str], ...] = ()
    answer: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        # Lists when they come through the control API's JSON.
        if self.operations is not None:
            object.__setattr__(self, "operations", tuple(self.operations))
        object.__setattr__(
            self, "answer_headers", tuple((str(k), str(v)) for k, v in self.answer_headers)
        )
        if not 100 <= self.answer_status <= 599:
            raise ValueError(f"answer_status must be an HTTP status, got {self.answer_status!r}")
        if self.rate is not None and not self.rate > 0:
            raise ValueError(f"rate must be positive or None, got {self.rate!r}")
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {self.burst!r}")
        for name in ("latency", "jitter", "stall_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)!r}")
        for name in ("internal_error", "unavailable", "drop", "omit", "stall", "answer"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a probability in [0, 1], got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class FaultCounters:
    """What the fault layer saw and did since the last reset."""

    calls: int = 0
    """SageMaker calls received (every operation)."""
    arns: int = 0
    """ARNs requested in ``BatchDescribeModelPackage`` calls."""
    throttled: int = 0
    rejected: int = 0
    internal_errors: int = 0
    unavailable: int = 0
    dropped: int = 0
    stalled: int = 0
    answered: int = 0
    """Calls answered with ``Faults.answer_body``."""
    omitted_calls: int = 0
    """Successful answers that left ARNs out."""
    omitted_arns: int = 0
    forwarded: int = 0
    """Calls passed on to the backend."""
    delay_seconds: float = 0.0
    """Latency and jitter added, summed over all calls (stalls not included)."""
    in_flight: int = 0
    max_in_flight: int = 0


class _TokenBucket:
    """Classic token bucket: ``rate`` tokens a second, at most ``burst`` held."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = now

    def retune(self, rate: float, burst: int, now: float) -> None:
        self._refill(now)
        self.rate, self.burst = rate, burst
        self._tokens = min(self._tokens, float(burst))

    def take(self, now: float) -> bool:
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _refill(self, now: float) -> None:
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now


@dataclass(frozen=True, slots=True)
class _Plan:
    """The faults drawn for one call."""

    throttle: bool
    delay: float
    drop: bool
    status: int | None
    stall: bool
    omit: bool
    reject: str | None
    """The error code every call is answered with (``Faults.reject_with``)."""
    answer: bool
    """Answer with ``Faults.answer_body``."""
    generation: int
    """Counter generation the call belongs to; a reset starts a new one."""


_Response = tuple[str, list[tuple[str, str]], bytes]


class FaultLayer:
    """WSGI middleware that applies :class:`Faults` to SageMaker calls and counts them."""

    def __init__(
        self, app: WSGIApplication, faults: Faults, *, account_id: str | None = None
    ) -> None:
        self._app = app
        self._account_id = account_id
        self._lock = threading.Lock()
        self._woken = threading.Event()
        self._faults = faults
        self._random = random.Random(faults.seed)
        self._bucket: _TokenBucket | None = None
        self._counts: dict[str, float] = {}
        self._generation = 0
        self._started = time.monotonic()
        self._timeline: dict[int, list[int]] = {}
        self.reset(faults)

    @property
    def faults(self) -> Faults:
        """The faults in force; assign to change them while the server runs."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        with self._lock:
            if faults.seed != self._faults.seed:
                self._random = random.Random(faults.seed)
            self._faults = faults
            self._retune_bucket(time.monotonic())

    @property
    def counters(self) -> FaultCounters:
        """A snapshot of the counters."""
        with self._lock:
            return FaultCounters(**self._counts)  # type: ignore[arg-type]

    def reset(self, faults: Faults) -> None:
        """Put ``faults`` in force, zero the counters and the token bucket.

        Calls still sleeping in latency or a stall are cut off (their connection
        is closed), so nothing from before the reset reaches the new counters.
        """
        with self._lock:
            self._faults = faults
            self._random = random.Random(faults.seed)
            self._bucket = None
            self._retune_bucket(time.monotonic())
            self._counts = dict.fromkeys(
                (field.name for field in dataclasses.fields(FaultCounters)), 0
            )
            self._generation += 1
            self._started = time.monotonic()
            self._timeline = {}
            woken, self._woken = self._woken, threading.Event()
        woken.set()

    @property
    def timeline(self) -> list[tuple[int, int, int]]:
        """``(second, calls, throttled)`` for each second since the last reset with calls."""
        with self._lock:
            return [(second, *counts) for second, counts in sorted(self._timeline.items())]  # type: ignore[misc]

    def close(self) -> None:
        """Cut off every call sleeping in latency or a stall, so the server can stop."""
        self._woken.set()

    def _retune_bucket(self, now: float) -> None:
        faults = self._faults
        if faults.rate is None:
            self._bucket = None
        elif self._bucket is None:
            self._bucket = _TokenBucket(faults.rate, faults.burst, now)
        else:
            self._bucket.retune(faults.rate, faults.burst, now)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self._account_id is not None:
            # moto keeps one registry per account; this header picks ours.
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = self._account_id
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return self._control(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(_SAGEMAKER_TARGET_PREFIX):
            return self._other_service(environ, start_response)

        body = _read_body(environ)
        arns = _requested_arns(body) if target == BATCH_DESCRIBE_TARGET else []
        operations = self._faults.operations
        faulty = operations is None or target.removeprefix(_SAGEMAKER_TARGET_PREFIX) in operations
        plan = self._begin(len(arns), faulty=faulty)
        try:
            answer = self._answer(environ, plan, arns)
        finally:
            self._count(plan, "in_flight", -1)
        status, headers, payload = answer or ("500 Internal Server Error", [], b"")
        if answer is None or plan.drop:
            # Shut the socket: the server's write then fails and it drops the connection.
            sock = environ.get(SOCKET_KEY)
            if isinstance(sock, socket.socket):
                sock.shutdown(socket.SHUT_RDWR)
        start_response(status, headers)
        return [payload]

    def _other_service(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Pass other services' calls (STS) to moto, unless ``reject_with`` names their action.

        Only an action listed in ``Faults.operations`` (``"AssumeRole"``) is
        rejected, with the query protocol's XML error, as STS answers a denied
        ``AssumeRole``.
        """
        faults = self._faults
        if faults.reject_with is None or not faults.operations:
            return self._app(environ, start_response)
        action = parse_qs(_read_body(environ).decode(errors="replace")).get("Action", [""])[0]
        if action not in faults.operations:
            return self._app(environ, start_response)
        with self._lock:
            self._counts["rejected"] += 1
        code = faults.reject_with
        payload = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>Request rejected: {code}.</Message>"
            "</Error><RequestId>sagefetch-local</RequestId></ErrorResponse>"
        ).encode()
        start_response(
            "403 Forbidden" if code.startswith("AccessDenied") else "400 Bad Request",
            [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _begin(self, arn_count: int, *, faulty: bool) -> _Plan:
        with self._lock:
            faults, draw, counts = self._faults, self._random.random, self._counts
            if not faulty:
                faults = Faults(rate=faults.rate, latency=faults.latency, jitter=faults.jitter)
            counts["calls"] += 1
            counts["arns"] += arn_count
            counts["in_flight"] += 1
            counts["max_in_flight"] = max(counts["max_in_flight"], counts["in_flight"])
            now = time.monotonic()
            throttle = self._bucket is not None and not self._bucket.take(now)
            second = self._timeline.setdefault(int(now - self._started), [0, 0])
            second[0] += 1
            second[1] += throttle
            delay = faults.latency + faults.jitter * draw()
            counts["delay_seconds"] += delay
            drop = draw() < faults.drop
            status = 500 if draw() < faults.internal_error else None
            if status is None and draw() < faults.unavailable:
                status = 503
            plan = _Plan(
                generation=self._generation,
                throttle=throttle,
                delay=delay,
                drop=not throttle and drop,
                status=None if throttle or drop else status,
                stall=draw() < faults.stall,
                omit=draw() < faults.omit,
                reject=faults.reject_with,
                answer=faults.answer_body is not None and draw() < faults.answer,
            )
            for flag, counter in (
                (plan.throttle, "throttled"),
                (plan.drop, "dropped"),
                (plan.status == 500, "internal_errors"),
                (plan.status == 503, "unavailable"),
            ):
                counts[counter] += flag
            return plan

    def _control(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        """The control API, for a server in another process (benchmarks).

        ``GET /_sagefetch/counters`` -> counters and timeline; ``PUT /_sagefetch/faults``
        with a JSON object of :class:`Faults` fields; ``POST /_sagefetch/reset``
        zeroes the counters and the timeline.
        """
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        status, document = "200 OK", {}
        if (method, path) == ("GET", CONTROL_PREFIX + "counters"):
            document = {
                "counters": dataclasses.asdict(self.counters),
                "timeline": self.timeline,
                "faults": dataclasses.asdict(self.faults),
            }
        elif (method, path) == ("PUT", CONTROL_PREFIX + "faults"):
            try:
                self.faults = Faults(**json.loads(_read_body(environ)))
                document = dataclasses.asdict(self.faults)
            except (TypeError, ValueError) as exc:
                status, document = "400 Bad Request", {"error": str(exc)}
        elif (method, path) == ("POST", CONTROL_PREFIX + "reset"):
            self.reset(self.faults)
        else:
            status, document = "404 Not Found", {"error": f"no control endpoint {method} {path}"}
        payload = json.dumps(document).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    def _answer(  # noqa: PLR0911 - one return per fault reads best
        self, environ: WSGIEnvironment, plan: _Plan, arns: list[str]
    ) -> _Response | None:
        """The response for this call, or ``None`` to close the connection without one."""
        if self._woken.wait(plan.delay):
            return None
        rejection = plan.reject
        if rejection is not None:
            self._count(plan, "rejected", 1)
            http_status = 403 if rejection.startswith("AccessDenied") else 400
            return _error(http_status, rejection, f"Request rejected: {rejection}.")
        if plan.throttle:
            return _error(400, "ThrottlingException", "Rate exceeded")
        if plan.drop:
            return "500 Internal Server Error", [], b""
        if plan.status == 500:
            return _error(500, "InternalFailure", "We encountered an internal error.")
        if plan.status == 503:
            return _error(503, "ServiceUnavailable", "Service is unavailable. Try again later.")
        if plan.answer:
            self._count(plan, "answered", 1)
            return self._served_answer(environ)
        if plan.stall:
            self._count(plan, "stalled", 1)
            if self._woken.wait(self._faults.stall_seconds):
                return None
        self._count(plan, "forwarded", 1)
        status, headers, payload = call_wsgi(self._app, environ)
        if plan.omit and arns and status.startswith("200"):
            payload = self._omit(plan, payload, arns)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(payload))))
        return status, headers, payload

    def _served_answer(self, environ: WSGIEnvironment) -> _Response:
        faults = self._faults
        body = faults.answer_body or ""
        if "$REQUEST_HEADERS" in body:
            request_headers = "\n".join(
                f"{key[5:].replace('_', '-').title()}: {value}"
                for key, value in environ.items()
                if key.startswith("HTTP_")
            )
            if "json" in faults.answer_content_type:
                # Inside a JSON string, as a service would encode it.
                request_headers = json.dumps(request_headers)[1:-1]
            body = body.replace("$REQUEST_HEADERS", request_headers)
        payload = body.encode()
        status = faults.answer_status
        reason = HTTPStatus(status).phrase if status in _STATUSES else "Unknown"
        headers = [
            ("Content-Type", faults.answer_content_type),
            ("Content-Length", str(len(payload))),
            *faults.answer_headers,
        ]
        return f"{status} {reason}", headers, payload

    def _omit(self, plan: _Plan, payload: bytes, arns: list[str]) -> bytes:
        document = json.loads(payload)
        with self._lock:
            count = self._random.randint(1, max(1, math.ceil(len(arns) / 10)))
            left_out = set(self._random.sample(sorted(set(arns)), min(count, len(set(arns)))))
        for key in ("ModelPackageSummaries", "BatchDescribeModelPackageErrorMap"):
            entries = document.get(key) or {}
            document[key] = {arn: v for arn, v in entries.items() if arn not in left_out}
        self._count(plan, "omitted_calls", 1)
        self._count(plan, "omitted_arns", len(left_out))
        return json.dumps(document).encode()

    def _count(self, plan: _Plan, counter: str, amount: int) -> None:
        with self._lock:
            if plan.generation == self._generation:
                self._counts[counter] += amount


def _read_body(environ: WSGIEnvironment) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _requested_arns(body: bytes) -> list[str]:
    try:
        arns = json.loads(body).get("ModelPackageArnList")
    except (ValueError, AttributeError):
        return []
    return [arn for arn in arns if isinstance(arn, str)] if isinstance(arns, list) else []


def _error(status: int, code: str, message: str) -> _Response:
    reason = {
        400: "Bad Request",
        403: "Forbidden",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    payload = error_body(code, message)
    headers = [("Content-Type", JSON_CONTENT_TYPE), ("Content-Length", str(len(payload)))]
    return f"{status} {reason[status]}", headers, payload


class ServerControl:
    """Read the counters of, and change the faults of, a local SageMaker in another process.

    Args:
        endpoint_url: The server's ``http://127.0.0.1:PORT``.
    """

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")

    def _call(self, method: str, name: str, document: object = None) -> Any:
        import urllib.request  # noqa: PLC0415 - only for out-of-process servers

        data = None if document is None else json.dumps(document).encode()
        request = urllib.request.Request(  # noqa: S310 - a URL the caller gave, on loopback
            f"{self.endpoint_url}{CONTROL_PREFIX}{name}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def counters(self) -> FaultCounters:
        """The server's counters."""
        return FaultCounters(**self._call("GET", "counters")["counters"])

    def timeline(self) -> list[tuple[int, int, int]]:
        """``(second, calls, throttled)`` per second since the last reset."""
        return [tuple(row) for row in self._call("GET", "counters")["timeline"]]

    def set_faults(self, faults: Faults) -> None:
        """Put ``faults`` in force on the server."""
        # Only what differs from the defaults: the same settings, and a server
        # from an older sagefetch (without newer fields) still understands them.
        defaults = Faults()
        changed = {
            field.name: getattr(faults, field.name)
            for field in dataclasses.fields(faults)
            if getattr(faults, field.name) != getattr(defaults, field.name)
        }
        self._call("PUT", "faults", changed)

    def reset(self) -> None:
        """Zero the server's counters and timeline (the registry stays)."""
        self._call("POST", "reset", {})
