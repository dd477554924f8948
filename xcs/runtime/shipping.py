"""Shipping a loop's map part to another process by value, and running it there.

Caller side: `Shipment.prepare(body, args)` serialises the loop body function and its inputs
once, with cloudpickle (as Dask does), the user's own modules by value — so the worker sees
the values their globals have when the loop starts, as a thread would, not those of a fresh
import — and the standard library, installed packages and XCS by reference. It raises
`Unshippable` naming what does not serialise. `shipment.pack(item)` serialises one item the
same way (`Unshippable` again if it cannot). `unpack(data)` turns what a worker sent back
into `(result, error, buffer)`.

Worker side: `run_shipped(token, payload, item, caller)` is the function submitted to the
executor. It deserialises the body and inputs (once per process and loop: they are cached by
`token`), runs `body(item, *inputs)` while capturing what it prints and logs (the capture of
`xcs.runtime.capture`, in the worker process), and returns bytes holding the outcome and that
buffer; the caller replays the buffer in iteration order. Log records are formatted in the
worker (their arguments may not serialise) and carry the calling thread's and process's
identity, as in the plain loop. An effect the caller would have had to order — a file opened
for writing, `os.remove`, `os.environ` changed, `sys.stdout` reassigned: a turn point of
`xcs.runtime.turns` — cannot be put in order from another process: it raises
`ProcessBoundEffect` there, which fails that iteration.
"""
from __future__ import annotations

import collections
import itertools
import logging
import os
import sys
import threading
import types

from xcs.runtime import capture
from xcs.runtime.tracebacks import hide
from xcs.runtime.turns import TURN_EVENTS, Abandoned, _internal, _Iteration, _Loop, _state, _writes
from xcs.sourcepaths import is_library_file, is_xcs_file


class Unshippable(Exception):
    """The map part, its inputs or an item cannot be serialised for another process.

    `what` names the part ("the loop's inputs", "item 3"), `error` the serialiser's exception."""

    def __init__(self, what: str, error: BaseException):
        super().__init__(f"{what} cannot be serialised: {error}")
        self.what = what
        self.error = error


class ProcessBoundEffect(BaseException):
    """Raised in a worker process when a shipped map part reaches an effect that the calling
    process must order (a turn point: a file opened for writing, `os.remove`, `os.putenv`,
    `sys.stdout` reassigned): it would happen in the wrong process, out of order.

    A BaseException, so the user's `except Exception` does not swallow it; it fails the
    iteration, which the caller delivers in order like any other failure."""


def _cloudpickle():
    import cloudpickle

    return cloudpickle


def available() -> str | None:
    """None when shipping is possible here, else why not (cloudpickle is missing)."""
    try:
        _cloudpickle()
    except ImportError:
        return "cloudpickle is not installed (pip install cloudpickle, or xcs[dask])"
    return None


_register_lock = threading.Lock()
_token = itertools.count()


def _user_modules() -> tuple:
    """Names of the loaded modules that are the user's own code (not the standard library, an
    installed package or XCS): these are shipped by value."""
    names = []
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if not isinstance(module, types.ModuleType) or not filename:
            continue
        if name == "__main__" or is_library_file(filename) or is_xcs_file(filename):
            continue
        names.append(module)
    return tuple(names)


def _dumps(value, by_value: tuple) -> bytes:
    """cloudpickle `value` with the modules `by_value` serialised by value."""
    cloudpickle = _cloudpickle()
    with _register_lock:
        registered = []
        try:
            for module in by_value:
                try:
                    cloudpickle.register_pickle_by_value(module)
                    registered.append(module)
                except ValueError:   # already registered (by the user, or another loop)
                    continue
            return cloudpickle.dumps(value)
        finally:
            for module in registered:
                try:
                    cloudpickle.unregister_pickle_by_value(module)
                except ValueError:
                    pass


class Shipment:
    """A loop's body and inputs, serialised once; `pack(item)` serialises one item."""

    __slots__ = ("token", "payload", "caller", "_by_value")

    def __init__(self, token: str, payload: bytes, caller: tuple, by_value: tuple):
        self.token = token
        self.payload = payload
        self.caller = caller
        self._by_value = by_value

    @classmethod
    def prepare(cls, body, args: tuple) -> "Shipment":
        """Serialise `body` and `args`; raises `Unshippable` if they do not serialise."""
        by_value = _user_modules()
        try:
            payload = _dumps((body, tuple(args)), by_value)
        except Exception as error:  # noqa: BLE001 - any serialiser failure means "not shippable"
            raise Unshippable("the loop's work or its inputs", error) from None
        caller = capture.caller_identity() + (os.getpid(), _process_name())
        return cls(f"{os.getpid()}-{next(_token)}", payload, caller, by_value)

    def pack(self, item, index: int) -> bytes:
        """The item serialised; raises `Unshippable` if it does not serialise."""
        try:
            return _dumps(item, self._by_value)
        except Exception as error:  # noqa: BLE001
            raise Unshippable(f"item {index}", error) from None


def _process_name() -> str:
    import multiprocessing

    return multiprocessing.current_process().name


def unpack(data: bytes):
    """(result, error, buffer) from what `run_shipped` returned; log records get their logger."""
    outcome, buffer = _cloudpickle().loads(data)
    if buffer:
        buffer = [(kind, (logging.getLogger(payload[0]) if payload[0] != "" else logging.getLogger(), payload[1]))
                  if kind == capture._RECORD else (kind, payload) for kind, payload in buffer]
    ok, value = outcome
    return (value, None, buffer) if ok else (None, value, buffer)


# --- the worker side ---------------------------------------------------------------------

_cache: collections.OrderedDict = collections.OrderedDict()   # token -> (body, args)
_CACHED = 8
_worker_lock = threading.Lock()
_worker_ready = False


def _prepare_worker() -> None:
    """Once per worker process: capture the output of shipped iterations from now on."""
    global _worker_ready
    with _worker_lock:
        if _worker_ready:
            return
        capture.acquire()       # never released: the worker keeps capturing shipped work
        _worker_ready = True


_audit_installed = False


def _install_audit() -> None:
    global _audit_installed
    if not _audit_installed:
        with _worker_lock:
            if not _audit_installed:
                sys.addaudithook(_audit)
                _audit_installed = True


def _audit(event, args):
    # One thread-local lookup off a shipped iteration (see xcs.runtime.turns._audit).
    if _state.iteration is None or not _shipped.active:
        return
    if event == "open":
        if _writes(args) and not _internal(args):
            raise ProcessBoundEffect(f"writing the file {args[0]!r} from a worker process: this effect must run on "
                                     "the calling process, in order; run this loop with executor='threads'")
    elif event in TURN_EVENTS and not _internal(args):
        raise ProcessBoundEffect(f"`{event}` from a worker process: this effect must run on the calling process, "
                                 "in order; run this loop with executor='threads'")


class _Shipped(threading.local):
    active = False


_shipped = _Shipped()


def in_shipped_work() -> bool:
    """True on a worker thread running a shipped iteration (a loop inside it stays on threads)."""
    return _shipped.active


def _loaded(token: str, payload: bytes):
    with _worker_lock:
        found = _cache.get(token)
        if found is not None:
            _cache.move_to_end(token)
            return found
    found = _cloudpickle().loads(payload)
    with _worker_lock:
        _cache[token] = found
        while len(_cache) > _CACHED:
            _cache.popitem(last=False)
    return found


def run_shipped(token: str, payload: bytes, item: bytes, caller: tuple) -> bytes:
    """Worker side of one iteration: `body(item, *args)` with its output captured.

    Returns bytes for `unpack`: the outcome (the body's result tuple, or the exception it
    raised) and the captured buffer."""
    here = caller[3] == os.getpid()     # a concurrent.futures.Executor of the calling process
    if here:
        capture.acquire()
    else:
        _prepare_worker()
    try:
        return _run(token, payload, item, caller)
    finally:
        if here:
            capture.release()


def _run(token, payload, item, caller) -> bytes:
    _install_audit()
    body, args = _loaded(token, payload)
    value = _cloudpickle().loads(item)
    loop = _Loop(caller[:3])
    loop.abandoned = True        # no turn ever comes in a worker process: take_turn() raises
    iteration = _Iteration(loop, 0)
    _state.iteration = iteration
    _shipped.active = True
    try:
        outcome = (True, body(value, *args))
    except Abandoned:
        outcome = (False, ProcessBoundEffect("the work took the turn (raw stream access or `sys.stdout` "
                                             "reassigned) in a worker process; run this loop with "
                                             "executor='threads'"))
    except BaseException as error:  # noqa: BLE001 - delivered to the caller in order
        outcome = (False, error)
    finally:
        _state.iteration = None
        _state.owner = None
        _shipped.active = False
    buffer = [_portable(entry, caller) for entry in iteration.buffer or ()]
    cloudpickle = _cloudpickle()
    try:
        return cloudpickle.dumps((outcome, buffer))
    except Exception as error:  # noqa: BLE001 - the result does not serialise: say so, in order
        failure = RuntimeError(f"the iteration's result could not be sent back from the worker process: {error!r}")
        return cloudpickle.dumps(((False, failure), buffer))


def _portable(entry, caller):
    """A buffer entry that serialises: a log record formatted here, with the caller's identity."""
    kind, payload = entry
    if kind != capture._RECORD:
        return entry
    logger, record = payload
    fields = dict(record.__dict__)
    fields["msg"] = record.getMessage()
    fields["args"] = None
    if record.exc_info:
        if not record.exc_text:
            fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
        fields["exc_info"] = None
    fields["process"], fields["processName"] = caller[3], caller[4]
    name = logger.name if not isinstance(logger, logging.RootLogger) else ""
    return kind, (name, logging.makeLogRecord(fields))


hide(run_shipped, _run)
