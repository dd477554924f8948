"""The dotted name a callable or value answers to, as the registry spells names.

This is the one name normaliser of the package: the effect tables (`effects`), the table of
pure and thread-bound callables (`knowledge`), the evidence registry and the walker all name
callables with it. `qualified_name(obj)` says what CPython itself calls the object (`_socket.socket.recv`,
`posix.read`, `openai._client.OpenAI`); `public_name(name)` maps the C modules that back a
public module to that module (`socket.socket.recv`, `os.read`) so registry entries can use
the names users know. Nothing here calls user code: attributes are read statically.
"""
from __future__ import annotations

import functools
import types

# C accelerator modules that CPython names instead of the public module that re-exports them.
MODULE_ALIASES = {
    "posix": "os", "nt": "os", "_socket": "socket", "_ssl": "ssl", "_io": "io", "_pyio": "io",
    "_sqlite3": "sqlite3", "_thread": "threading", "_queue": "queue", "_tkinter": "tkinter",
    "_curses": "curses", "_select": "select", "_operator": "operator", "_pickle": "pickle", "_json": "json",
    "_random": "random", "_collections": "collections", "_functools": "functools", "_heapq": "heapq",
    "_bisect": "bisect", "_datetime": "datetime", "_decimal": "decimal", "_struct": "struct",
    "_weakref": "weakref", "_sre": "re", "_csv": "csv", "_signal": "signal", "_warnings": "warnings",
}

DESCRIPTORS = (types.MethodDescriptorType, types.WrapperDescriptorType, types.ClassMethodDescriptorType,
               types.GetSetDescriptorType, types.MemberDescriptorType)


def public_name(name: str) -> str:
    """`name` with its first component replaced by the public module it belongs to."""
    head, dot, rest = name.partition(".")
    alias = MODULE_ALIASES.get(head)
    return f"{alias}{dot}{rest}" if alias else name


def type_name(cls) -> str:
    """`module.Qualname` of a class."""
    module = getattr(cls, "__module__", None) or "builtins"
    return f"{module}.{getattr(cls, '__qualname__', getattr(cls, '__name__', '?'))}"


def defining_class(cls, attr: str):
    """The class in `cls`'s MRO whose own namespace holds `attr` (`cls` itself if none does)."""
    for klass in getattr(cls, "__mro__", (cls,)):
        if attr in vars(klass):
            return klass
    return cls


def qualified_name(obj) -> str:
    """What CPython calls `obj`: a function's `module.qualname`, a method's defining class
    and name, a module's name, a class's `module.Qualname`, or an instance's class name."""
    try:
        return _qualified_name(obj)
    except Exception:  # noqa: BLE001 - objects with broken __qualname__/__module__
        return ""


def _qualified_name(obj) -> str:
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if isinstance(obj, type):
        return type_name(obj)
    if isinstance(obj, types.BuiltinFunctionType):        # also bound methods of C types
        owner = obj.__self__
        if owner is None or isinstance(owner, types.ModuleType):
            module = obj.__module__ or getattr(owner, "__name__", None) or "builtins"
            return f"{module}.{obj.__name__}"
        cls = owner if isinstance(owner, type) else type(owner)
        return f"{type_name(defining_class(cls, obj.__name__))}.{obj.__name__}"
    if isinstance(obj, DESCRIPTORS):
        return f"{type_name(obj.__objclass__)}.{obj.__name__}"
    if isinstance(obj, types.MethodType):
        return qualified_name(obj.__func__)
    if isinstance(obj, functools.partial):
        return qualified_name(obj.func)
    if isinstance(obj, types.FunctionType):
        return f"{obj.__module__ or '?'}.{obj.__qualname__}"
    if isinstance(obj, types.MethodWrapperType):
        return f"{type_name(defining_class(type(obj.__self__), obj.__name__))}.{obj.__name__}"
    own = _own_dict(obj)
    if own is not None and isinstance(own.get("__module__"), str) and isinstance(own.get("__qualname__"), str):
        # A wrapper `functools.update_wrapper` named after what it wraps (`lru_cache`'s).
        return f"{own['__module__']}.{own['__qualname__']}"
    return type_name(type(obj))


def _own_dict(obj) -> dict | None:
    """`obj.__dict__` read without running the object's own code (`__getattr__`), or None."""
    try:
        space = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return None
    return space if isinstance(space, dict) else None
