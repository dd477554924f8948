"""Captured output: what an iteration without the turn writes, replayed in order.

While at least one `ordered_map` runs in the process (`acquire()`/`release()`, counted
across loops and threads):

- `sys.stdout` and `sys.stderr` are `_Stream` proxies around whatever was there. A write
  from a worker running an iteration without the turn goes to that iteration's buffer;
  any other write goes to the wrapped stream. Everything else is the wrapped stream's.
- `logging.Logger.handle` is wrapped: a record emitted by such an iteration goes to the
  buffer; a record emitted by an iteration that has the turn is handled at once. Either
  way a record made on the worker gets the calling thread's `thread`, `threadName` (and,
  3.12+, `taskName` when the worker had none), as if the plain loop had emitted it.
- the `sys` module's class is swapped for one whose `__setattr__` wraps a stream assigned
  to `sys.stdout`/`sys.stderr` (`contextlib.redirect_stdout` in the loop's in-order part)
  in a proxy too, and makes such an assignment a turn point on an iteration.

When the last loop ends (and the abandoned iterations still running have ended), each of
these is put back only if it is still the one installed.

Not captured, so not reordered: writes through a reference to the stream taken before
the loop started (`out = sys.stdout` at import, `sys.__stdout__`), writes to file
descriptors (`os.write(1, ...)`, child processes inheriting them) and records given to a
handler directly. Asking a captured iteration's stream for `buffer` or `fileno` takes
the turn first, so byte-level writes through them stay in order.
`replay(buffer)` writes a buffer out on the current thread: stdout text, stderr text,
flushes and records in the order they were produced.
"""
from __future__ import annotations

import collections
import io
import logging
import sys
import threading
import types

from xcs.runtime.turns import _state, take_turn

_OUT, _ERR, _FLUSH_OUT, _FLUSH_ERR, _RECORD = range(5)
_KIND = {"stdout": (_OUT, _FLUSH_OUT), "stderr": (_ERR, _FLUSH_ERR)}
# Attributes that lead around the text layer (raw bytes, the file descriptor): an
# iteration asking for one takes the turn first, so what it writes there stays in order.
_RAW_ATTRIBUTES = frozenset({"buffer", "fileno", "detach", "raw"})

_lock = threading.Lock()
_active = 0
_original_handle = logging.Logger.handle
_retired: collections.deque = collections.deque(maxlen=8)   # proxies just taken out (see `release`)


class _Stream:
    """`sys.stdout`/`sys.stderr` while loops run: captures an iteration's writes, else delegates."""

    __slots__ = ("_xcs_stream", "_xcs_kind", "_xcs_flush")

    def __init__(self, stream, name):
        object.__setattr__(self, "_xcs_stream", stream)
        kind, flush = _KIND[name]
        object.__setattr__(self, "_xcs_kind", kind)
        object.__setattr__(self, "_xcs_flush", flush)

    def write(self, text):
        iteration = _state.iteration
        if iteration is None:
            return self._xcs_stream.write(text)
        if not isinstance(text, str) and isinstance(self._xcs_stream, io.TextIOBase):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        buffer = iteration.buffer
        if buffer is None:
            buffer = iteration.buffer = []
        buffer.append((self._xcs_kind, text))
        return len(text) if isinstance(text, str) else None

    def writelines(self, lines):
        if _state.iteration is None:
            return self._xcs_stream.writelines(lines)
        for line in lines:
            self.write(line)
        return None

    def flush(self):
        iteration = _state.iteration
        if iteration is None:
            return self._xcs_stream.flush()
        if iteration.buffer is None:
            iteration.buffer = []
        iteration.buffer.append((self._xcs_flush, None))
        return None

    def __getattr__(self, name):
        if name in _RAW_ATTRIBUTES and _state.iteration is not None:
            take_turn()
        return getattr(self._xcs_stream, name)

    def __setattr__(self, name, value):
        setattr(self._xcs_stream, name, value)

    def __delattr__(self, name):
        delattr(self._xcs_stream, name)

    @property
    def __class__(self):
        # isinstance(sys.stdout, io.TextIOWrapper) answers as for the wrapped stream.
        return type(self._xcs_stream)

    def __repr__(self):
        return repr(self._xcs_stream)

    def __dir__(self):
        return dir(self._xcs_stream)

    def __iter__(self):
        return iter(self._xcs_stream)

    def __next__(self):
        return next(self._xcs_stream)

    def __enter__(self):
        self._xcs_stream.__enter__()
        return self

    def __exit__(self, *exc):
        return self._xcs_stream.__exit__(*exc)


def _wrapped(stream, name):
    if stream is None or type(stream) is _Stream:
        return stream
    return _Stream(stream, name)


def _handle(logger, record):
    """`logging.Logger.handle` while loops run (installed on the class)."""
    iteration = _state.iteration
    if iteration is None:
        loop = _state.owner
        if loop is not None:
            _as_caller(record, loop.caller)
        return _original_handle(logger, record)
    _as_caller(record, iteration.loop.caller)
    buffer = iteration.buffer
    if buffer is None:
        buffer = iteration.buffer = []
    buffer.append((_RECORD, (logger, record)))
    return None


def _as_caller(record, caller) -> None:
    """Give a record made on this worker the calling thread's identity, as the plain loop would."""
    if getattr(record, "thread", None) != threading.get_ident():
        return  # made elsewhere (another thread, unpickled), or logThreads is off
    ident, name, task = caller
    record.thread = ident
    record.threadName = name
    if task is not None and getattr(record, "taskName", task) is None:
        record.taskName = task


def caller_identity() -> tuple:
    """(ident, name, asyncio task name or None) of the current thread, for `_as_caller`."""
    task = None
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            task = asyncio.current_task().get_name()
        except Exception:  # noqa: BLE001 - no running loop or no task: as logging does
            task = None
    return threading.get_ident(), threading.current_thread().name, task


def replay(buffer) -> None:
    """Write `buffer` out on this thread, in order; consecutive texts to one stream joined.

    An exception from a stream or handler propagates (the plain loop would have raised it
    in the body); what follows it in the buffer is not written."""
    n = len(buffer)
    i = 0
    while i < n:
        kind, payload = buffer[i]
        i += 1
        if kind == _OUT or kind == _ERR:
            if isinstance(payload, str):
                parts = [payload]
                while i < n and buffer[i][0] == kind and isinstance(buffer[i][1], str):
                    parts.append(buffer[i][1])
                    i += 1
                payload = "".join(parts)
            stream = sys.stdout if kind == _OUT else sys.stderr
            if stream is not None:
                stream.write(payload)
        elif kind == _FLUSH_OUT or kind == _FLUSH_ERR:
            stream = sys.stdout if kind == _FLUSH_OUT else sys.stderr
            if stream is not None:
                stream.flush()
        else:
            logger, record = payload
            _original_handle(logger, record)


class _Sys(types.ModuleType):
    """The `sys` module's class while loops run: stream assignments stay captured."""

    def __setattr__(self, name, value):
        if name == "stdout" or name == "stderr":
            if _state.iteration is not None:
                take_turn()    # an iteration redirecting output does so in order
            if _active:
                value = _wrapped(value, name)
        # Not super(): the last loop's release() may switch `sys` back to ModuleType on another
        # thread between this call's dispatch and here, and super(_Sys, sys) then raises.
        types.ModuleType.__setattr__(self, name, value)


def acquire() -> None:
    """A loop starts: install the proxies, the logging wrapper and the `sys` class if first."""
    global _active
    with _lock:
        _active += 1
        if _active == 1:
            if type(sys) is types.ModuleType:
                sys.__class__ = _Sys
            if logging.Logger.handle is _original_handle:
                logging.Logger.handle = _handle
        # A stream assigned while no loop ran (or the first loop): wrap what is there now.
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is not None and type(stream) is not _Stream:
                types.ModuleType.__setattr__(sys, name, _Stream(stream, name))


def release() -> None:
    """A loop ended: after the last one, restore what is still ours."""
    global _active
    with _lock:
        _active -= 1
        if _active:
            return
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if type(stream) is _Stream:
                types.ModuleType.__setattr__(sys, name, object.__getattribute__(stream, "_xcs_stream"))
                # Kept alive: `print` holds `sys.stdout` as a borrowed reference across its
                # writes (CPython 3.11-3.13), and the last loop may end in the middle of one:
                # the garbage collector finalizing an abandoned loop, from a write's allocations.
                _retired.append(stream)
        if logging.Logger.handle is _handle:
            logging.Logger.handle = _original_handle
        if type(sys) is _Sys:
            sys.__class__ = types.ModuleType


def unwrap(stream):
    """The stream a capture proxy wraps (through proxies of proxies); any other object itself.

    For code that compares a stream with `sys.stdout` by identity while a loop may run."""
    while type(stream) is _Stream:
        stream = object.__getattribute__(stream, "_xcs_stream")
    return stream


def active() -> int:
    """How many loops hold the capture now."""
    return _active
