"""Async, high-throughput batch fetcher for SageMaker ``BatchDescribeModelPackage``."""

from __future__ import annotations

from importlib.metadata import version as _version

__version__: str = _version("smfetch")

__all__ = ["__version__"]
