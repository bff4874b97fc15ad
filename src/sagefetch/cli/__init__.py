"""The ``sagefetch`` command-line application, built on the library.

One module per command (``_describe``, ``_audit``, ``_demo``) and the parts
they share (``_input``, ``_records``, ``_progress``, ``_reports``, ``_run``).
The arrows point one way: this package imports the library, never the
other way round. ``main`` loads only what the chosen command needs.
"""

from __future__ import annotations

from ._main import main as main

__all__ = ["main"]
