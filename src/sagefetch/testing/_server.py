"""``LocalSageMaker``: a SageMaker endpoint on loopback, in a thread, behind the fault layer."""

from __future__ import annotations

import dataclasses
import importlib.util
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, Self

import anyio.to_thread

from ._catalogue import Catalogue
from ._faults import FaultCounters, FaultLayer, Faults
from ._http import WSGIServer
from ._synthetic import SyntheticSageMaker

if TYPE_CHECKING:
    from types import TracebackType

    from _typeshed.wsgi import WSGIApplication

__all__ = ["Backend", "Credentials", "LocalSageMaker"]

Backend = Literal["moto", "synthetic"]

DEFAULT_REGION: Final = "us-east-1"
DEFAULT_ACCOUNT_ID: Final = "123456789012"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Fake AWS credentials the local SageMaker accepts (it checks no signature)."""

    access_key_id: str = "AKIALOCALSAGEMAKER00"
    secret_access_key: str = "local-sagemaker-secret-key-not-real"  # noqa: S105 - a fake


class LocalSageMaker:
    """A local SageMaker that speaks ``BatchDescribeModelPackage`` over real HTTP.

    Usable as a context manager, sync (``with``) or async (``async with``)::

        with LocalSageMaker() as sagemaker:
            arns = sagemaker.seed(groups=10, versions=30)
            session.create_client("sagemaker", **sagemaker.client_kwargs())

    Args:
        backend: ``"moto"`` (moto's SageMaker with the operation added; every other
            moto SageMaker operation works too) or ``"synthetic"`` (a generated
            catalogue, much faster, only ``BatchDescribeModelPackage``).
        region: Region the registry lives in; clients must sign for it.
        account_id: Account the registry belongs to; several servers with
            different accounts keep separate registries.
        faults: Faults in force from the start, and again after :meth:`reset`.
        host: Address to listen on; loopback by default.
        port: Port to listen on; ``0`` picks a free one.
    """

    def __init__(
        self,
        *,
        backend: Backend = "moto",
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if backend not in ("moto", "synthetic"):
            raise ValueError(f"backend must be 'moto' or 'synthetic', got {backend!r}")
        if backend == "moto" and not _has_moto_server():
            raise ImportError(MISSING_TESTING_EXTRA)
        self.backend: Backend = backend
        self.region = region
        self.account_id = account_id
        self.credentials = Credentials()
        self._initial_faults = faults or Faults()
        self._host = host
        self._port = port
        self._catalogue = Catalogue(account_id, region)
        self._synthetic: SyntheticSageMaker | None = None
        self._layer: FaultLayer | None = None
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> Self:
        """Start serving in a background thread; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("LocalSageMaker is already running")
        app = self._make_app()
        self._layer = FaultLayer(app, self._initial_faults, account_id=self.account_id)
        self._server = WSGIServer(self._host, self._port, self._layer)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sagefetch-local-sagemaker", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake calls that are sleeping in a fault. Idempotent."""
        server, layer, thread = self._server, self._layer, self._thread
        self._server = self._thread = None
        if layer is not None:
            layer.close()
        if server is not None:
            server.close()
        if thread is not None:
            thread.join()

    def _make_app(self) -> WSGIApplication:
        if self.backend == "synthetic":
            self._synthetic = SyntheticSageMaker(self._catalogue)
            return self._synthetic
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - moto is slow to import
            DomainDispatcherApplication,
            create_backend_app,
        )

        from ._moto import install_batch_describe  # noqa: PLC0415

        install_batch_describe()
        dispatcher = DomainDispatcherApplication(create_backend_app)
        # Build the SageMaker app now rather than on the first request.
        dispatcher.app_instances["sagemaker"] = dispatcher.create_app("sagemaker")
        return dispatcher

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)

    # -- what clients need -------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        host, port = self._running_server().server_address[:2]
        return f"http://{host!s}:{port}"

    def client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``session.create_client("sagemaker", **kwargs)``."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": self.credentials.access_key_id,
            "aws_secret_access_key": self.credentials.secret_access_key,
        }

    def environment(self) -> dict[str, str]:
        """Environment variables that point the AWS SDKs and sagefetch at this server."""
        return {
            "AWS_ENDPOINT_URL_SAGEMAKER": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
        }

    # -- registry ----------------------------------------------------------

    def seed(self, *, groups: int, versions: int) -> list[str]:
        """Create ``groups`` model package groups of ``versions`` versions each.

        Packages have varied inference specifications and approval statuses
        (see ``sagefetch.testing.Catalogue``). Seeding again with larger numbers
        adds packages. Returns the ARNs of the packages of this call.
        """
        if groups < 0 or versions < 0:
            raise ValueError("groups and versions must not be negative")
        catalogue = Catalogue(self.account_id, self.region, groups, versions)
        self._catalogue = dataclasses.replace(
            catalogue,
            groups=max(groups, self._catalogue.groups),
            versions=max(versions, self._catalogue.versions),
        )
        if self.backend == "moto":
            from ._moto import seed_moto  # noqa: PLC0415

            seed_moto(catalogue)
        elif self._synthetic is not None:
            self._synthetic.catalogue = self._catalogue
        return catalogue.arns()

    @property
    def catalogue(self) -> Catalogue:
        """The packages seeded so far (groups and versions, as a generator of ARNs)."""
        return self._catalogue

    # -- faults --------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """The faults in force; assign a new :class:`Faults` to change them while running."""
        return self._running_layer().faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._running_layer().faults = faults

    def update_faults(self, **changes: Any) -> Faults:
        """Change some fault settings, keeping the rest; returns the new settings."""
        layer = self._running_layer()
        layer.faults = dataclasses.replace(layer.faults, **changes)
        return layer.faults

    @property
    def counters(self) -> FaultCounters:
        """What the server saw and did since the last reset."""
        return self._running_layer().counters

    @property
    def timeline(self) -> list[tuple[int, int, int]]:
        """``(second, calls, throttled)`` for each second since the last reset with calls."""
        return self._running_layer().timeline

    def reset(self) -> None:
        """Empty the registry, restore the initial faults and zero the counters."""
        self._catalogue = Catalogue(self.account_id, self.region)
        if self.backend == "moto":
            from ._moto import reset_account  # noqa: PLC0415

            reset_account(self.account_id)
        elif self._synthetic is not None:
            self._synthetic.catalogue = self._catalogue
        self._running_layer().reset(self._initial_faults)

    def _running_server(self) -> WSGIServer:
        if self._server is None:
            raise RuntimeError("LocalSageMaker is not running: call start() or use it in 'with'")
        return self._server

    def _running_layer(self) -> FaultLayer:
        self._running_server()
        assert self._layer is not None
        return self._layer


#: What ``LocalSageMaker(backend="moto")`` says when ``sagefetch[testing]`` is not installed.
MISSING_TESTING_EXTRA: Final = (
    "the local SageMaker needs moto's server: pip install 'sagefetch[testing]'"
)


def _has_moto_server() -> bool:
    """Whether moto and the server parts of ``moto[server]`` (flask) can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("moto", "flask"))
