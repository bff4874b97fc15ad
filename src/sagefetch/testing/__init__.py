"""A local SageMaker for tests, demos and benchmarks (needs ``sagefetch[testing]``).

``LocalSageMaker`` serves ``BatchDescribeModelPackage`` over real HTTP on
loopback, from moto's SageMaker or from a fast synthetic catalogue, behind a
fault layer (throttling, latency, errors, dropped connections, omitted ARNs,
stalls). ``sagefetch.testing.pytest_plugin`` turns it into pytest fixtures.
"""

from __future__ import annotations

from sagefetch._retry import set_testing as set_testing

from ._catalogue import Catalogue as Catalogue
from ._faults import FaultCounters as FaultCounters
from ._faults import Faults as Faults
from ._faults import ServerControl as ServerControl
from ._server import Backend as Backend
from ._server import Credentials as Credentials
from ._server import LocalSageMaker as LocalSageMaker

__all__ = [
    "Backend",
    "Catalogue",
    "Credentials",
    "FaultCounters",
    "Faults",
    "LocalSageMaker",
    "ServerControl",
    "set_testing",
]
