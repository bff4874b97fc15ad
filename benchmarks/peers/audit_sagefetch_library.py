"""Audit peer: the sagefetch library, fetcher.discover() fed into fetcher.stream()."""

from __future__ import annotations

import argparse
from pathlib import Path

import anyio

from benchmarks.peers.sagefetch_library import quiet_structlog, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_file", type=Path)
    out_file = parser.parse_args().out_file
    quiet_structlog()
    anyio.run(run, out_file, lambda fetcher: fetcher.discover())


if __name__ == "__main__":
    main()
