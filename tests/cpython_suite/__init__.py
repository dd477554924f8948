"""CPython's regression tests run with and without `xcs.enable()` (see `run.py`).

Not collected by pytest (no `test_*.py` files here): it is a separate CI step,
`python -m tests.cpython_suite`.
"""
