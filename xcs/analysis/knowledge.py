"""What XCS knows about callables it cannot read: the curated table of C functions, types
and methods that only read their arguments and return new values, and of calls that are
bound to the thread that makes them.

The analysis follows Python functions to the bottom. A callable it cannot read (a C function,
a C method, an object of a C type) is *unknown*, and an unknown call is ordered — unless it is
named here as pure, or the evidence registry names it as a blocking library client (`requests`,
`socket`, `time.sleep`, `xcs.io`), which the environment reports as trusted. Widening what is
known is adding a line here.

Names are public dotted names (`xcs.analysis.names.public_name`: `posix.stat` -> `os.stat`); an
entry names a callable, a class (all of its methods) or a module (everything in it), and the
longest entry that prefixes a name decides, with `NOT_PURE` entries taking precedence.
"""
from __future__ import annotations

import builtins

from xcs.analysis.names import public_name, qualified_name

# Builtins that only read their arguments (a lazy iterator they return is the caller's own).
_PURE_BUILTINS = (
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr", "complex", "dict",
    "divmod", "enumerate", "filter", "float", "format", "frozenset", "getattr", "hasattr", "hash", "hex", "id",
    "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "memoryview", "min", "object",
    "oct", "ord", "pow", "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple",
    "type", "zip", "property", "staticmethod", "classmethod",
)

# Methods of the built-in mutable containers that only read.
_READING_METHODS = {
    "dict": ("get", "keys", "values", "items", "copy", "__getitem__", "__contains__", "__len__", "__iter__",
             "fromkeys", "__or__"),
    "list": ("index", "count", "copy", "__getitem__", "__contains__", "__len__", "__iter__", "__add__",
             "__mul__"),
    "set": ("copy", "union", "intersection", "difference", "symmetric_difference", "issubset", "issuperset",
            "isdisjoint", "__contains__", "__len__", "__iter__", "__or__", "__and__", "__sub__", "__xor__"),
    "bytearray": ("decode", "hex", "find", "count", "index", "startswith", "endswith", "__getitem__",
                  "__len__", "__contains__", "copy"),
}

# Constructors of mutable built-in types: the name itself is pure, its methods are not.
_EXACT_ONLY = frozenset([f"builtins.{name}" for name in ("dict", "list", "set", "bytearray", "object", "type",
                                                         "memoryview", "property", "staticmethod", "classmethod")]
                        # Building a partial only holds its arguments; calling one runs its function.
                        + ["functools.partial", "_functools.partial"])

PURE = frozenset(
    [f"builtins.{name}" for name in _PURE_BUILTINS]
    # Immutable built-in types: every method reads.
    + [f"builtins.{cls}" for cls in ("str", "bytes", "int", "float", "complex", "bool", "tuple", "frozenset",
                                     "range", "slice", "NoneType")]
    + [f"builtins.{cls}.{m}" for cls, methods in _READING_METHODS.items() for m in methods]
    + [
        # Whole modules of functions that compute from their arguments.
        "math", "cmath", "operator", "json", "_json", "re", "base64", "binascii", "hashlib", "_hashlib",
        "_sha1", "_sha2", "_sha256", "_sha512", "_md5", "_sha3", "_blake2", "hmac", "zlib", "struct", "_struct",
        "string", "unicodedata", "itertools", "_operator", "functools.cmp_to_key", "_functools.cmp_to_key",
        "functools.reduce", "_functools.reduce", "functools.partial", "_functools.partial", "bisect.bisect",
        "bisect.bisect_left", "bisect.bisect_right", "_bisect.bisect", "_bisect.bisect_left",
        "_bisect.bisect_right", "heapq.nlargest", "heapq.nsmallest", "_heapq.nlargest", "_heapq.nsmallest",
        "copy", "datetime", "_datetime", "_strptime", "collections.deque", "collections.OrderedDict",
        "collections.defaultdict", "_collections.deque", "_collections.OrderedDict", "_collections.defaultdict",
        "_collections._count_elements", "_collections._tuplegetter", "array.array",
        "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter",
        "time.perf_counter_ns", "time.process_time", "time.gmtime", "time.localtime", "time.strftime",
        "time.mktime", "time.asctime", "time.ctime", "time.strptime", "time.sleep",
        "os.fspath", "os.getpid", "os.cpu_count", "os.urandom", "os.stat", "os.lstat", "os.listdir",
        "os.scandir", "os.access", "os.get_terminal_size", "os.getcwd", "os.strerror",
        "sys.getsizeof", "sys.intern", "sys.getrecursionlimit", "sys.getdefaultencoding",
        "_codecs", "codecs.lookup", "codecs.encode", "codecs.decode", "_locale.localeconv",
        "_contextvars.ContextVar.get", "contextvars.ContextVar.get", "types", "weakref.ref", "weakref.ReferenceType", "weakref.proxy", "_abc", "abc", "_string", "_sre",
    ]
    # Exceptions built by the body (`raise ValueError(...)`): construction reads its arguments.
    + [f"builtins.{name}" for name, value in vars(builtins).items()
       if isinstance(value, type) and issubclass(value, BaseException)]
)

# Entries under a pure prefix that are not pure: they change an argument, or process state.
NOT_PURE = frozenset({
    "operator.setitem", "operator.delitem", "operator.iadd", "operator.isub", "operator.imul",
    "operator.imatmul", "operator.itruediv", "operator.ifloordiv", "operator.imod", "operator.ipow",
    "operator.ilshift", "operator.irshift", "operator.iand", "operator.ixor", "operator.ior",
    "operator.iconcat", "operator.methodcaller", "operator.call",
    "json.dump", "json.load", "re.purge",
    "itertools.count.__next__", "itertools.cycle.__next__", "itertools.tee",
    "copy.copy", "copy.deepcopy",   # run __copy__/__deepcopy__/__reduce_ex__ of the user's classes
    "types.FunctionType", "types.CodeType", "types.ModuleType",
})

# Calls whose result or effect belongs to the thread that makes them: on a worker they
# answer for the worker (or raise, for signals outside the main thread).
THREAD_BOUND = frozenset({
    "threading.current_thread", "threading.currentThread", "threading.get_ident", "threading.get_native_id",
    "threading.main_thread", "threading.local", "threading._local",
    "signal.signal", "signal.alarm", "signal.setitimer", "signal.getitimer", "signal.pause",
    "signal.pthread_sigmask", "signal.siginterrupt", "signal.set_wakeup_fd", "signal.getsignal",
    "sys.exc_info", "sys.exception", "traceback.print_exc", "traceback.format_exc",
    "traceback.print_exception", "traceback.format_exception", "traceback.print_stack",
    "traceback.extract_stack", "traceback.format_stack",
    # A frame answers for the thread it runs on: on a worker, a callee's `f_back` chain is
    # the pool's, not the loop function's (`inspect.currentframe()`, `inspect.stack()` call it).
    "sys._getframe", "sys._getframemodulename",
    "decimal.getcontext", "decimal.setcontext", "decimal.localcontext", "_decimal.getcontext",
    "_decimal.setcontext", "_decimal.localcontext",
    # A set is seen by the rest of the caller's context in the plain loop; a worker thread or
    # an iteration's task has a copy of that context, so later iterations would not see it.
    "contextvars.ContextVar.set", "contextvars.ContextVar.reset", "_contextvars.ContextVar.set",
    "_contextvars.ContextVar.reset",
})


def _lookup(table: frozenset, name: str) -> str | None:
    """The longest entry of `table` that is `name` or prefixes it (by public or raw name)."""
    for spelled in (public_name(name), name):
        parts = spelled.split(".")
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in table and (end == len(parts) or prefix not in _EXACT_ONLY):
                return prefix
    return None


def _names(obj) -> list[str]:
    """The names `obj` answers to: its qualified name, and for a C function the public
    module it was found through (`re.compile` is `_sre`'s, `json.dumps` Python's)."""
    name = qualified_name(obj)
    names = [name] if name else []
    module = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if isinstance(module, str) and isinstance(qual, str) and f"{module}.{qual}" not in names:
        names.append(f"{module}.{qual}")
    return names


def is_pure(obj) -> bool:
    """True when `obj` is a callable (or a class) the table knows only reads its arguments."""
    try:
        names = _names(obj)
    except Exception:  # noqa: BLE001 - exotic objects: not known
        return False
    if not names:
        return False
    for name in names:
        bad = _lookup(NOT_PURE, name)
        good = _lookup(PURE, name)
        if good is not None and (bad is None or len(good) > len(bad)):
            return True
    return False


def thread_bound(obj) -> str | None:
    """The name of `obj` when it is a call (or class) bound to the calling thread, else None."""
    try:
        for name in _names(obj):
            found = _lookup(THREAD_BOUND, name)
            if found is not None:
                return found
    except Exception:  # noqa: BLE001
        return None
    return None


def is_thread_local(value) -> bool:
    """True for a `threading.local` object (or a subclass's instance): each thread sees its own."""
    try:
        import _thread

        return isinstance(value, _thread._local)
    except Exception:  # noqa: BLE001
        return False
