"""Which callables block, which must stay on their thread, which write ordered output.

Three classes — `BLOCKING`, `THREAD_AFFINE`, `ORDERED` — looked up by dotted name (built-in
data in `xcs.evidence.known`, longest matching prefix wins) or by the object itself (what
users register). Users extend it with `@xcs.io` / `xcs.register_blocking(fn)`,
`xcs.register_thread_affine(obj)` and `register_ordered(obj)`.

`classify(obj)` never calls user code and never raises; it returns a class or None.
"""
from __future__ import annotations

import functools
import threading
import types

from xcs.evidence import known
from xcs.evidence.names import public_name, qualified_name

BLOCKING, THREAD_AFFINE, ORDERED = "blocking", "thread-affine", "ordered"
KINDS = (BLOCKING, THREAD_AFFINE, ORDERED)

_lock = threading.Lock()
_names: dict[str, str] = {}          # dotted prefix -> kind
_objects: dict = {}                  # registered callable (or its code object) -> kind
_version = [0]                       # bumped on every change, so callers' caches can tell


def _add_names(names, kind) -> None:
    for name in names:
        _names[name] = kind


_NAMED_BY_THEMSELVES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType, type,
                        functools.partial)

_add_names(known.BLOCKING, BLOCKING)
_add_names(known.THREAD_AFFINE, THREAD_AFFINE)
_add_names(known.ORDERED, ORDERED)


def version() -> int:
    """A number that changes whenever something is registered."""
    return _version[0]


def classify_name(name: str) -> str | None:
    """The class of the dotted `name` (C module names are mapped to public ones), or None."""
    parts = public_name(name).split(".")
    for end in range(len(parts), 0, -1):
        kind = _names.get(".".join(parts[:end]))
        if kind is not None:
            return kind
    return None


def classify_code(code) -> str | None:
    """The class a user registered for the Python function whose code object is `code`."""
    try:
        return _objects.get(code)
    except TypeError:
        return None


def classify(obj) -> str | None:
    """The class of a callable or value: registered object first, then by name (a value is
    classified by its class: an `sqlite3.Connection` is thread-affine)."""
    try:
        target = obj
        while isinstance(target, (types.MethodType, functools.partial)):
            target = target.__func__ if isinstance(target, types.MethodType) else target.func
        kind = _objects.get(target)
        if kind is None and isinstance(target, types.FunctionType):
            kind = _objects.get(target.__code__)
        if kind is not None:
            return kind
    except TypeError:  # unhashable
        pass
    name = qualified_name(obj)
    kind = classify_name(name) if name else None
    if kind is None and not isinstance(obj, _NAMED_BY_THEMSELVES):
        kind = classify_type(type(obj))
    return kind


def classify_type(cls) -> str | None:
    """The class of `cls`'s instances: the first of its MRO that the registry names (a user's
    subclass of `sqlite3.Connection` is thread-affine too)."""
    from xcs.evidence.names import type_name

    for klass in getattr(cls, "__mro__", (cls,)):
        if klass is object:
            break
        kind = classify_name(type_name(klass))
        if kind is not None:
            return kind
    return None


def is_blocking(obj) -> bool:
    """True when calling `obj` waits with the GIL released (network, disk, sleep, subprocess)."""
    return classify(obj) == BLOCKING


def is_thread_affine(obj) -> bool:
    """True when `obj` must only be used from the thread that created it."""
    return classify(obj) == THREAD_AFFINE


def is_ordered(obj) -> bool:
    """True when calling `obj` writes output whose order is visible (print, file and log writes)."""
    return classify(obj) == ORDERED


def _register(target, kind):
    if isinstance(target, str):
        if not target or target.startswith(".") or target.endswith("."):
            raise ValueError(f"expected a dotted name like 'module.function', got {target!r}")
        with _lock:
            _names[target] = kind
            _version[0] += 1
        return target
    if isinstance(target, type):
        # A class: its instances and every method of it.
        from xcs.evidence.names import type_name

        with _lock:
            _names[type_name(target)] = kind
            _objects[target] = kind
            _version[0] += 1
        return target
    func = target.__func__ if isinstance(target, (types.MethodType, staticmethod, classmethod)) else target
    if not callable(func):
        raise TypeError(f"expected a callable, a class or a dotted name, got {type(target).__name__}")
    with _lock:
        _objects[func] = kind
        code = getattr(func, "__code__", None)
        if code is not None:
            _objects[code] = kind
        _version[0] += 1
    return target


def register_blocking(fn_or_name):
    """Mark a callable (or a dotted name, or a class) as blocking: loops calling it run in
    parallel without a probe. The user vouches that it is safe to call concurrently: the
    analysis does not look inside it for shared state. Returns its argument unchanged."""
    return _register(fn_or_name, BLOCKING)


def io(fn):
    """Decorator: `fn` does blocking I/O (see `register_blocking`). Returns `fn` itself."""
    return register_blocking(fn)


def register_thread_affine(obj_or_name):
    """Mark a callable, a class (its instances and methods) or a dotted name as bound to the
    thread that made it: loops that touch it in their map part stay sequential. Returns its
    argument unchanged."""
    return _register(obj_or_name, THREAD_AFFINE)


def register_ordered(obj_or_name):
    """Mark a callable, class or dotted name as writing ordered output: in a loop's map part it
    keeps the loop sequential (the analysis also moves its calls to the commit part). Returns
    its argument unchanged."""
    return _register(obj_or_name, ORDERED)
