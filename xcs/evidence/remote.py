"""Whether a loop's map part may run in another process, read before the first submit.

`process_bound(body, args)` reads the loop body function and the user's Python functions it
reaches (through its globals, closure cells and inputs, `MAX_DEPTH` calls deep) without
running them, and names the first thing that belongs to the calling process, as a `Refusal`
of kind "remote:process-bound" whose `cause` says which of these it is (`xcs.api.words` says
it in words):

- a value that is this process's resource: a lock, condition, event or semaphore, an open
  file or socket, a thread, a `threading.local`, a queue, a subprocess, a thread-affine
  object (an `sqlite3` connection) — among the inputs, closure cells and globals read (and
  the items of a list, tuple, set or dict held there, and the attributes of an object);
- a module global that a reached function writes: `global x; x = ...`, `x[k] = ...`,
  `x.attr = ...`, `x.append(...)` and the other changing methods of the built-in containers.
  A worker process would change its own copy; the caller's would not move;
- an effect the calling process must order (a turn point of `xcs.runtime.turns`) called by
  name: `open(path, "w")` (a constant mode that writes), `os.remove`, `os.rename`,
  `os.putenv`, `shutil.copyfile`, ... What the scan cannot see (`path.write_text(...)`)
  fails the iteration in the worker (`xcs.runtime.shipping.ProcessBoundEffect`).

Library code (the standard library, installed packages) is not read: it is trusted, as for
threads, to keep its own state. `shipping_refusal(remote, body, args)` is the whole check the
runner makes: Dask or cloudpickle unavailable or unsuitable ("remote:executor"), the above,
then serialisation itself ("remote:unshippable"); it returns `(refusal, None)` or
`(None, shipment)`.
"""
from __future__ import annotations

import dis
import functools
import io
import queue
import socket
import subprocess
import threading
import types
from dataclasses import dataclass, replace

from xcs import pyversion
from xcs.analysis.refusal import Cause, Kind, Refusal
from xcs.evidence import registry
from xcs.evidence.names import qualified_name, type_name
from xcs.sourcepaths import is_library_file

MAX_DEPTH = 3
MAX_FUNCTIONS = 100
MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
                      "add", "discard", "difference_update", "intersection_update", "symmetric_difference_update",
                      "appendleft", "extendleft", "sort", "reverse", "__setitem__", "__delitem__", "__iadd__"})
# Functions whose effect the calling process must order (the turn points of
# `xcs.runtime.turns`, by the names code calls them with): from a worker they would change
# the worker's file system or process, out of order.
TURN_FUNCTIONS = {
    "os": frozenset({"remove", "unlink", "rename", "replace", "renames", "mkdir", "makedirs", "rmdir", "removedirs",
                     "chdir", "chmod", "chown", "link", "symlink", "truncate", "utime", "putenv", "unsetenv",
                     "kill", "killpg", "system"}),
    "shutil": frozenset({"rmtree", "copyfile", "copy", "copy2", "copytree", "move", "chown", "copymode",
                         "copystat"}),
}
_WRITE_MODE = frozenset("wax+")
_SIMPLE_LOADS = frozenset({"LOAD_CONST", "LOAD_GLOBAL"}) | pyversion.LOCAL_READS | pyversion.DEREF_LOADS


@functools.lru_cache(maxsize=1)
def _bound_types() -> tuple:
    lock = type(threading.Lock())
    rlock = type(threading.RLock())
    return (lock, rlock, threading.Condition, threading.Semaphore, threading.Event, threading.Barrier,
            threading.Thread, threading.local, io.IOBase, socket.socket, queue.Queue, queue.SimpleQueue,
            subprocess.Popen, types.GeneratorType, types.CoroutineType)


@dataclass(frozen=True)
class _Bound:
    """A value that is this process's own: `cause` RESOURCE (a lock, file, socket...) or
    THREAD_BOUND (a thread-affine object), its type's name, and whether the value named only
    holds it one level down (an element, an attribute)."""

    cause: Cause
    type_name: str
    held: bool = False

    def refusal(self, line, name: str, is_global: bool = False) -> Refusal:
        return Refusal(Kind.REMOTE_PROCESS_BOUND, line, name, detail=self.type_name, cause=self.cause,
                       held=self.held, is_global=is_global)


def _bound_value(value) -> _Bound | None:
    """What makes `value` this process's own, or None."""
    try:
        if isinstance(value, _bound_types()):
            return _Bound(Cause.RESOURCE, type_name(type(value)))
        if registry.classify_type(type(value)) == registry.THREAD_AFFINE:
            return _Bound(Cause.THREAD_BOUND, type_name(type(value)))
    except Exception:  # noqa: BLE001 - an object whose type cannot be asked is left to pickling
        return None
    return None


def _held(value) -> _Bound | None:
    """`_bound_value` of `value` or of what it holds one level down."""
    found = _bound_value(value)
    if found is not None:
        return found
    inner = ()
    if isinstance(value, (list, tuple, set, frozenset)):
        inner = list(value)[:100]
    elif isinstance(value, dict):
        inner = list(value.values())[:100]
    elif not isinstance(value, (type, types.ModuleType, types.FunctionType)):
        attributes = getattr(value, "__dict__", None)
        if isinstance(attributes, dict):
            inner = list(attributes.values())[:100]
    for element in inner:
        found = _bound_value(element)
        if found is not None:
            return replace(found, held=True)
    return None


def process_bound(body, args=()) -> Refusal | None:
    """The first process-bound thing the map part touches (see the module), or None."""
    scan = _Scan()
    code = body.__code__
    for name, value in zip(code.co_varnames[1:code.co_argcount], args):
        found = _held(value)
        if found is not None:
            return found.refusal(None, name)
    return scan.function(body, 0)


class _Scan:
    def __init__(self):
        self.seen: set = set()

    def function(self, fn, depth) -> Refusal | None:
        if isinstance(fn, functools.partial):
            fn = fn.func
        if isinstance(fn, types.MethodType):
            fn = fn.__func__
        if not isinstance(fn, types.FunctionType) or fn.__code__ in self.seen or len(self.seen) >= MAX_FUNCTIONS:
            return None
        if depth > 0 and is_library_file(fn.__code__.co_filename):
            return None
        self.seen.add(fn.__code__)
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        for name, cell in cells.items():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            found = _held(value)
            if found is not None:
                return found.refusal(fn.__code__.co_firstlineno, name)
            if depth < MAX_DEPTH:
                refusal = self.function(value, depth + 1)
                if refusal is not None:
                    return refusal
        return self.code(fn.__code__, fn.__globals__, depth, _where(fn, depth))

    def code(self, code, globals_, depth, where: str) -> Refusal | None:
        """The first process-bound thing `code` touches; `where` is the qualified name of the
        function it belongs to, "" for the loop's work itself."""
        def touched(cause, line, name):
            return Refusal(Kind.REMOTE_PROCESS_BOUND, line, name, callee=where, cause=cause, is_global=True)

        instructions = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
        line = code.co_firstlineno
        for n, ins in enumerate(instructions):
            line = getattr(getattr(ins, "positions", None), "lineno", None) or line
            if ins.opname == "LOAD_CONST" and isinstance(ins.argval, types.CodeType):
                refusal = self.code(ins.argval, globals_, depth, where)
                if refusal is not None:
                    return refusal
                continue
            if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
                return touched(Cause.ASSIGNS_GLOBAL, line, ins.argval)
            if ins.opname != "LOAD_GLOBAL":
                continue
            name = ins.argval
            if name == "open" and name not in globals_ and _writes_files(instructions):
                return touched(Cause.WRITES_FILE, line, "open")
            if name not in globals_:
                continue
            value = globals_[name]
            effect = _turn_effect(instructions, n, value)
            if effect is not None:
                return touched(Cause.PROCESS_CHANGE, line, effect)
            if _writes_global(instructions, n) and not isinstance(value, types.ModuleType):
                return touched(Cause.CHANGES_GLOBAL, line, name)
            found = _held(value)
            if found is not None:
                return found.refusal(line, name, is_global=True)
            if depth < MAX_DEPTH:
                refusal = self.function(value, depth + 1)
                if refusal is None and isinstance(value, type):
                    init = vars(value).get("__init__")
                    refusal = self.function(init, depth + 1) if init is not None else None
                if refusal is not None:
                    return refusal
        return None


def _writes_global(instructions, n) -> bool:
    """Whether the global loaded by instructions[n] is changed right there (see the module)."""
    following = [i.opname for i in instructions[n + 1:n + 5]]
    if not following:
        return False
    if following[0] in ("STORE_ATTR", "DELETE_ATTR"):
        return True
    if following[0] in pyversion.ATTR_LOADS and instructions[n + 1].argval in MUTATORS:
        return True
    if len(following) >= 2 and following[0] in _SIMPLE_LOADS and following[1] in ("STORE_SUBSCR", "DELETE_SUBSCR"):
        return True
    # `x[k] += v`: the container and key are copied for the read, then stored back.
    return len(following) >= 3 and following[0] in _SIMPLE_LOADS and following[1:3] == ["COPY", "COPY"]


def _turn_effect(instructions, n, value) -> str | None:
    """The dotted name of `os.remove` and the like, called through the module loaded by
    instructions[n], or None."""
    if not isinstance(value, types.ModuleType) or value.__name__ not in TURN_FUNCTIONS:
        return None
    following = instructions[n + 1] if n + 1 < len(instructions) else None
    if following is not None and following.opname in pyversion.ATTR_LOADS and \
            following.argval in TURN_FUNCTIONS[value.__name__]:
        return f"{value.__name__}.{following.argval}"
    return None


def _writes_files(instructions) -> bool:
    """Whether code calling the builtin `open` has a constant file mode that writes."""
    return any(i.opname == "LOAD_CONST" and isinstance(i.argval, str) and 0 < len(i.argval) <= 4
               and set(i.argval) <= set("rwxabt+") and not _WRITE_MODE.isdisjoint(i.argval) for i in instructions)


def _where(fn, depth) -> str:
    return "" if depth == 0 else qualified_name(fn)


def shipping_refusal(remote, body, args):
    """`(refusal, None)` when the loop must stay on threads, else `(None, shipment)`."""
    from xcs.runtime.shipping import Shipment, Unshippable, available

    missing = available()
    if missing is not None:
        return Refusal(Kind.REMOTE_EXECUTOR, None, "", detail=missing, cause=Cause.UNAVAILABLE), None
    try:
        reason = remote.refusal()
    except Exception as error:  # noqa: BLE001 - an executor that cannot answer cannot take the loop
        return Refusal(Kind.REMOTE_EXECUTOR, None, remote.name, detail=repr(error), cause=Cause.UNANSWERED), None
    if reason is not None:
        return Refusal(Kind.REMOTE_EXECUTOR, None, remote.name, detail=reason, cause=Cause.SETUP), None
    refusal = process_bound(body, args)
    if refusal is not None:
        return refusal, None
    try:
        return None, Shipment.prepare(body, args)
    except Unshippable as error:
        return Refusal(Kind.REMOTE_UNSHIPPABLE, None, "", detail=str(error), cause=Cause.UNSHIPPABLE), None
