"""Audit peer: the sagefetch library, fetcher.discover() fed into fetcher.stream()."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import anyio
import structlog

from benchmarks.peers.sagefetch_library import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_file", type=Path)
    out_file = parser.parse_args().out_file
    # sagefetch never configures logging; an application keeps structlog to warnings.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    anyio.run(run, out_file, lambda fetcher: fetcher.discover())


if __name__ == "__main__":
    main()
