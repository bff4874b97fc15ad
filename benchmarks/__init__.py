"""The benchmark harness of issue 5: sagefetch against the clients users write without it.

Run ``.venv/bin/python -m benchmarks.run --help`` from the repository root.
"""
