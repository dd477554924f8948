"""Where code comes from: the user's own files, or the standard library and installed packages.

Two layers need the same answer: the analysis trusts library functions not to carry state
between a loop's iterations in ways the caller can see (their module-level caches are their
own business), and auto-mode skips library code entirely. Decided from `co_filename` and
cached, because the answer for a file never changes while the process runs.
"""
from __future__ import annotations

import functools
import os
import sys
import sysconfig


def _library_roots() -> tuple:
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(os.path.realpath(path))
    for path in sys.path:
        if path and ("site-packages" in path or "dist-packages" in path):
            roots.add(os.path.realpath(path))
    return tuple(sorted(root.rstrip(os.sep) + os.sep for root in roots))


XCS_ROOT = os.path.dirname(os.path.realpath(__file__)) + os.sep


@functools.lru_cache(maxsize=4096)
def is_library_file(filename: str) -> bool:
    """True for files of the standard library, of installed packages, frozen modules and
    code without a file (`<string>` from exec is the user's)."""
    if filename.startswith("<frozen"):
        return True
    if filename.startswith("<"):
        return False
    real = os.path.realpath(filename)
    return any(real.startswith(root) for root in _library_roots_cached())


@functools.lru_cache(maxsize=1)
def _library_roots_cached() -> tuple:
    return _library_roots()


def is_xcs_file(filename: str) -> bool:
    """True for XCS's own modules."""
    return os.path.realpath(filename).startswith(XCS_ROOT)
