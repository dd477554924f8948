"""Shared checks for the hazard tests: a jitted function must be observably the plain one.

`same(fn, make_args)` runs `fn` plainly, then through `xcs.jit` (twice: the first call
decides, the second runs the decided code), and compares everything a caller can observe:
the outcome (return value, or exception type and message), what reached `sys.stdout` and
`sys.stderr`, the log records (logger, level, message, thread name) and warnings, and the
arguments after the call. `make_args()` builds fresh arguments for each run, so every run
starts from the same state.

Hazards that only show when iterations really overlap are written so they do: `slow(x)`
blocks for a time that shrinks with x, so later items finish first unless XCS keeps order.
`gauge` (from the corpus probe) measures peak concurrency for the rows that must stay
parallel.
"""
from __future__ import annotations

import contextlib
import io as text_io
import logging
import re
import sys
import threading
import time
import warnings

import xcs
from tests.corpus.probe import _state as gauge_state
from tests.corpus.probe import io, measuring

__all__ = ["observe", "same", "slow", "io", "measuring", "gauge_state", "peak_of"]


@xcs.io
def slow(x, base=0.004):
    """Block for a time that shrinks as x grows (later items finish first), return x.
    Marked `xcs.io`: a known blocking call with no effects, like an HTTP GET."""
    try:
        k = int(x) % 8
    except (TypeError, ValueError):
        k = 0
    time.sleep(base * (8 - k) / 4)
    return x


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seen = []

    def emit(self, record):
        self.seen.append((record.name, record.levelname, record.getMessage(), record.threadName))


def observe(fn, make_args=tuple, *, kwargs=None) -> dict:
    """Everything a caller sees of one call of `fn(*make_args(), **kwargs)`."""
    args = make_args()
    out, err = text_io.StringIO(), text_io.StringIO()
    records = _Records()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                result = fn(*args, **(kwargs or {}))
                outcome = ("returned", _snapshot(result))
            except Exception as error:  # noqa: BLE001 - the outcome is what we compare
                outcome = ("raised", type(error).__name__, str(error))
    finally:
        root.removeHandler(records)
        root.setLevel(old_level)
    return {"outcome": outcome, "stdout": out.getvalue(), "stderr": err.getvalue(), "log": records.seen,
            "warnings": [(w.category.__name__, str(w.message)) for w in caught], "args": _snapshot(args)}


def _snapshot(value, depth=0):
    """A plain-data picture of `value` that compares by content: containers element-wise,
    objects by type and attributes, text buffers by their text, the rest by repr without
    addresses (two runs build different objects; only what they hold matters)."""
    if depth > 8:
        return "..."
    if isinstance(value, (str, bytes, int, float, complex, bool, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_snapshot(v, depth + 1) for v in value])
    if isinstance(value, dict):
        return ("dict", [(_snapshot(k, depth + 1), _snapshot(v, depth + 1)) for k, v in value.items()])
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted(repr(_snapshot(v, depth + 1)) for v in value))
    if isinstance(value, (text_io.StringIO, text_io.BytesIO)):
        return (type(value).__name__, value.getvalue())
    if type(value).__module__ == "unittest.mock" or isinstance(value, type) or callable(value):
        return _address_free(repr(value))
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value).__qualname__, _snapshot(dict(vars(value)), depth + 1))
    return _address_free(repr(value))


def _address_free(text: str) -> str:
    return re.sub(r" at 0x[0-9a-fA-F]+| id='[0-9]+'", "", text)


def same(fn, make_args=tuple, *, parallel=True, max_workers=None, kwargs=None, runs=2, setup=None):
    """Assert `xcs.jit(fn)` is observably `fn`; returns the jitted function.

    `setup()`, if given, runs before every call (to reset module state the loop touches)."""
    if setup:
        setup()
    expected = observe(fn, make_args, kwargs=kwargs)
    jitted = xcs.jit(fn, parallel=parallel, max_workers=max_workers)
    for n in range(runs):
        if setup:
            setup()
        got = observe(jitted, make_args, kwargs=kwargs)
        for key in expected:
            assert got[key] == expected[key], (
                f"run {n + 1}: {key} differs\nplain: {expected[key]!r}\njit:   {got[key]!r}\n"
                + "\n".join(map(str, xcs.explain(jitted))))
    return jitted


def peak_of(fn, *args, overlap=None, timeout=5.0):
    """(result, peak concurrency of `io` calls) for one call; with `overlap=n`, io calls
    wait on a barrier of n parties (a loop that runs them one at a time cannot pass)."""
    with measuring(overlap, timeout=timeout) as state:
        result = fn(*args)
        return result, state["peak"]


def current_thread_name():
    return threading.current_thread().name


def is_main_thread():
    return threading.current_thread() is threading.main_thread()


def stdout():
    return sys.stdout
