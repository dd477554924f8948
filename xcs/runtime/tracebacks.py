"""Trim a failure's traceback so it starts at the user's frame, not at XCS or its worker pool.

The compiled loop re-raises the `(e,)` it receives; what the user then sees should be the
traceback sequential code would have shown from the loop body (or the iterable) down, so
leading frames of the runtime's own functions and of `concurrent.futures` are dropped.
"""
from __future__ import annotations

import concurrent.futures._base

_hidden_codes: set = set()
_hidden_files = frozenset(
    module.__file__ for module in (concurrent.futures._base,)
)


def hide(*functions) -> None:
    """Mark `functions` as runtime frames that `trimmed` drops from the front of a traceback."""
    _hidden_codes.update(function.__code__ for function in functions)


def trimmed(error: BaseException) -> BaseException:
    """`error` itself, its `__traceback__` advanced past leading runtime and `concurrent.futures` frames."""
    tb = error.__traceback__
    while tb is not None and (
        tb.tb_frame.f_code in _hidden_codes or tb.tb_frame.f_code.co_filename in _hidden_files
    ):
        tb = tb.tb_next
    return error.with_traceback(tb)
