"""Facts computed once per function and shared by the analyses of all its loops.

The driver hands each loop's analysis the function's `shared` dict (`LoopDescription.shared`);
`per_function` fills it. It lives below the split package so that modules the split imports
(`aio_blocks`, `handoffs`) can use it with a plain import.
"""
from __future__ import annotations


def per_function(shared: dict, key, compute):
    """compute(), once per function (`shared`)."""
    if key not in shared:
        shared[key] = compute()
    return shared[key]
