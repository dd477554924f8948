"""Which calls and stores must run in iteration order, and which may run on a worker.

Static facts about callables and method names; the caller's resolved environment decides
what a name refers to. Reading a global or an attribute of a module here only *looks*:
nothing the user wrote is called.
"""
from __future__ import annotations

import builtins
import functools
import inspect
import sys
import types
from dataclasses import dataclass, field

from xcs import pyversion
from xcs.analysis import knowledge, names
from xcs.analysis.receiver import follow_chain  # noqa: F401 - re-exported for the evidence layer
from xcs.analysis.refusal import Cause
from xcs.sourcepaths import is_library_file

# Methods that change the object they are called on, or consume from it in order.
MUTATORS = frozenset({
    "append", "extend", "insert", "remove", "pop", "clear", "update", "add", "discard", "setdefault",
    "sort", "reverse", "popitem", "appendleft", "extendleft", "popleft", "rotate", "put_nowait",
    "get_nowait", "write", "writelines", "flush", "send", "sendall", "sendto", "truncate", "seek",
    "read", "readline", "readlines", "recv", "recv_into", "__setitem__", "__delitem__", "__next__",
    "debug", "info", "warning", "warn", "error", "exception", "critical", "log", "fatal",
    "set", "reset",
})

# Methods that put their arguments into a container without changing them.
STORES_ARGUMENT = frozenset({"append", "add", "extend", "insert", "appendleft", "extendleft", "put",
                             "put_nowait", "setdefault", "update", "push"})

# Logger methods: they format their arguments, never change them.
LOGGING_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log",
                             "fatal"})

# Methods whose effect is ordered output whatever object they are called on: a file opened
# in append mode each iteration still writes to one file, a logger is shared by name.
ORDERED_METHODS = frozenset({"write", "writelines", "debug", "info", "warning", "warn", "error",
                             "exception", "critical", "log", "fatal"})

# Calls that wait for or signal other threads: their order is the program's meaning, and
# work after them in an iteration must not run before them.
SYNCHRONIZING = frozenset({
    "threading.Barrier.wait", "threading.Barrier.reset", "threading.Barrier.abort",
    "threading.Event.wait", "threading.Event.set", "threading.Event.clear",
    "threading.Condition.wait", "threading.Condition.wait_for", "threading.Condition.notify",
    "threading.Condition.notify_all", "threading.Semaphore.acquire", "threading.Semaphore.release",
    "threading.BoundedSemaphore.release", "queue.Queue.get", "queue.Queue.put", "queue.Queue.join",
    "_queue.SimpleQueue.get", "_queue.SimpleQueue.put",
    "_thread.start_new_thread", "_thread.start_joinable_thread", "threading.Thread.start",
    "threading.Thread.join",
})

# C functions that change the objects passed to them (Python functions are scanned instead).
ARGUMENT_CHANGING = frozenset({
    "_heapq.heappush", "_heapq.heappop", "_heapq.heapify", "_heapq.heapreplace", "_heapq.heappushpop",
    "_heapq._heappop_max", "_heapq._heapify_max", "_heapq._heapreplace_max",
    "_bisect.insort_left", "_bisect.insort_right", "_bisect.insort",
})

# Calls that change the file system: creating `a/` before `a/b/`, writing a file before reading
# it back — their order is visible, and work after them may depend on them.
_OS_CHANGES = ("mkdir", "makedirs", "rmdir", "removedirs", "remove", "unlink", "rename", "renames", "replace",
               "symlink", "link", "chmod", "chown", "truncate", "utime", "mkfifo")
_SHUTIL_CHANGES = ("rmtree", "copy", "copy2", "copyfile", "copytree", "move", "chown", "copymode", "copystat")
_PATH_CHANGES = ("mkdir", "rmdir", "unlink", "rename", "replace", "touch", "write_text", "write_bytes",
                 "symlink_to", "hardlink_to", "chmod")
FILESYSTEM_CHANGING = frozenset(
    [f"{module}.{name}" for module in ("os", "posix", "nt") for name in _OS_CHANGES]
    + [f"shutil.{name}" for name in _SHUTIL_CHANGES]
    + [f"{cls}.{name}" for cls in ("pathlib.Path", "pathlib._local.Path") for name in _PATH_CHANGES])

# Methods of `pathlib.Path` that change or read the file system, by name alone: the receiver is
# often a path computed in the loop (`path = DOWNLOADS / name`), whose type the analysis does
# not know. Names other common types also use are left out (`str.replace`, `dict.open`-likes).
PATH_CHANGING_METHODS = frozenset({"write_text", "write_bytes", "touch", "unlink", "mkdir", "rmdir", "rename",
                                   "symlink_to", "hardlink_to", "chmod", "lchmod"})
PATH_READING_METHODS = frozenset({"exists", "is_file", "is_dir", "is_symlink", "stat", "lstat", "read_text",
                                  "read_bytes", "iterdir", "glob", "rglob", "samefile"})

# Module-level functions whose effects are ordered or that read shared ordered state.
ORDERED_QUALNAMES = frozenset({
    "builtins.print", "builtins.input", "builtins.next", "builtins.breakpoint",
    "random.random", "random.randint", "random.choice", "random.choices", "random.shuffle",
    "random.sample", "random.uniform", "random.gauss", "random.randrange", "random.getrandbits",
    "random.normalvariate", "random.seed", "random.triangular", "random.betavariate",
    # A generator's state advances with every draw: methods of random.Random instances.
    "_random.Random.random", "_random.Random.getrandbits", "_random.Random.seed", "_random.Random.setstate",
    "random.Random.seed", "random.Random.setstate", "random.Random.randbytes",
    "logging.debug", "logging.info", "logging.warning", "logging.error", "logging.exception",
    "logging.critical", "logging.log",
    "os.write", "os.chdir", "os.putenv", "os.unsetenv",
    # Synchronisation and queues: who waits for, takes or hands over what depends on order.
    *SYNCHRONIZING,
    *FILESYSTEM_CHANGING,
    "queue.Queue.get_nowait", "queue.Queue.put_nowait", "queue.Queue.task_done",
    "_queue.SimpleQueue.get_nowait", "_queue.SimpleQueue.put_nowait",
})
ORDERED_OBJECTS = (sys.stdout, sys.stderr)

FRAME_INTROSPECTION = {builtins.locals: "locals", builtins.vars: "vars", builtins.exec: "exec",
                       builtins.eval: "eval", sys._getframe: "sys._getframe", builtins.dir: "dir",
                       inspect.currentframe: "inspect.currentframe", inspect.stack: "inspect.stack",
                       builtins.super: "super"}


@dataclass
class Environment:
    """What names in the function refer to: its globals, builtins and closure cells.

    `extra_ordered(obj) -> bool` lets a higher layer mark more callables as ordered output;
    `trusted(obj) -> bool` marks callables the user vouched for (`xcs.io`): the analysis does
    not look inside them.
    """

    globals: dict = field(default_factory=dict)
    builtins: dict = field(default_factory=lambda: vars(builtins))
    closure: dict = field(default_factory=dict)   # name -> cell
    extra_ordered: object = None
    trusted: object = None
    arguments: dict = field(default_factory=dict)   # the first call's arguments by parameter name

    def is_trusted(self, obj) -> bool:
        """True when `obj` was vouched for and is not scanned."""
        try:
            return self.trusted is not None and bool(self.trusted(obj))
        except Exception:  # noqa: BLE001 - an exotic object: not trusted
            return False

    def lookup(self, kind: str, name: str, chain: tuple = ()):
        """The object `name.chain...` refers to, or raise LookupError."""
        if kind == "global":
            if name in self.globals:
                obj = self.globals[name]
            elif name in self.builtins:
                obj = self.builtins[name]
            else:
                raise LookupError(name)
        elif kind == "local":
            if name not in self.arguments:
                raise LookupError(name)
            obj = self.arguments[name]
        elif kind == "deref":
            cell = self.closure.get(name)
            if cell is None:
                raise LookupError(name)
            try:
                obj = cell.cell_contents
            except ValueError:
                raise LookupError(name) from None
        else:
            raise LookupError(name)
        return follow_chain(obj, chain)


def qualified_name(obj) -> str:
    """`module.qualname` of a callable (`names.qualified_name`, the package's one normaliser:
    a bound C method is named after its defining class, `_queue.SimpleQueue.put`)."""
    return names.qualified_name(obj)


def qualified_name_or_empty(obj) -> str:
    """`qualified_name(obj)`, or '' for objects whose names cannot be read."""
    try:
        return qualified_name(obj)
    except Exception:  # noqa: BLE001
        return ""


def is_ordered_callable(obj, env: Environment) -> bool:
    """True for callables whose effects (or results) depend on the order they are called in,
    including `unittest.mock` mocks, which record the order of their calls."""
    if env.extra_ordered is not None and env.extra_ordered(obj):
        return True
    if getattr(type(obj), "__module__", None) == "unittest.mock":
        return True
    try:
        return qualified_name(obj) in ORDERED_QUALNAMES
    except Exception:  # noqa: BLE001 - exotic objects with broken __qualname__
        return False


# C callables that change the objects handed to them (or write into a file handed to them).
ARGUMENT_WRITERS = frozenset({
    "builtins.setattr", "builtins.delattr", "operator.setitem", "operator.delitem", "operator.iadd",
    "operator.isub", "operator.imul", "operator.iconcat", "operator.ior", "operator.iand", "operator.ixor",
    "json.dump", "pickle.dump", "_pickle.dump", "marshal.dump", "shutil.copyfileobj", "copyreg.pickle",
})

# Objects whose every method draws from (or reseeds) one shared random stream.
_RANDOM_STATE = ("random.Random.", "_random.Random.", "random.SystemRandom.")


class Found(str):
    """A description of what a scan found (the sentence callers nest in longer ones: `fetch
    (line 3): ...`), with its structure for a refusal. From `opaque_call`/`class_construction`:
    `cause` (a `refusal.Cause`), `callee` (the name found, as CPython qualifies it) and `detail`
    (the effect found inside a constructor, or the unreadable `__init__` it runs). `within` is
    the cause of the unknown call at the bottom of a nested description (`nest`), which is
    what a hint addresses."""

    cause: Cause | None
    callee: str
    detail: str
    within: Cause | None

    def __new__(cls, sentence: str, cause: Cause | None = None, callee: str = "", detail: str = "",
                within: Cause | None = None):
        self = super().__new__(cls, sentence)
        self.cause, self.callee, self.detail, self.within = cause, callee, str(detail), within
        return self

    def __reduce__(self):
        return Found, (str(self), self.cause, self.callee, self.detail, self.within)


def bottom_cause(found) -> Cause | None:
    """The cause of the unknown call a description `found` ends in, or None."""
    return getattr(found, "within", None) or getattr(found, "cause", None)


def nest(sentence: str, found) -> str:
    """`sentence`, a longer description embedding `found`, keeping the cause at its bottom."""
    within = bottom_cause(found)
    return Found(sentence, within=within) if within is not None else sentence


def opaque_call(obj, env: Environment, args_shared: bool, library: bool = False) -> Found | None:
    """Why calling `obj` — which the analysis cannot read — may have an effect whose order is
    visible, or None when it is known not to: trusted (a blocking library client, `xcs.io`),
    in the curated pure table, or a Python function (the caller scans those instead).

    `args_shared` says some argument may be an object other iterations see. Library code
    (`library=True`) is held only to the thread-bound and random-stream rules: its calls of its
    own C helpers are its own business (see the README's assumptions)."""
    found = opaque_fact(obj, env, args_shared, library)
    return found[1] if found else None


def opaque_fact(obj, env: Environment, args_shared: bool, library: bool = False, depth: int | None = None,
                seen: set | None = None) -> tuple | None:
    """`opaque_call`'s answer with its kind: (kind, words) — "ordered", "write" (it changes an
    object handed to it), "thread" (it answers for the calling thread) or "unknown" (C code
    the table does not know) — or None. `depth` and `seen` are the walk's budget and cycle
    set, for the `__init__` a class runs."""
    if obj is None:
        return None
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        name = qualified_name_or_empty(obj)
        if isinstance(getattr(obj, "__self__", None), _random_types()) or \
                any(name.startswith(p) for p in _RANDOM_STATE):
            return "ordered", Found(f"`{name}()` draws from a random stream shared by every iteration",
                                    Cause.RANDOM_STREAM, name)
        return None
    if env.is_trusted(obj):
        return None
    name = qualified_name_or_empty(obj) or type(obj).__name__
    bound = knowledge.thread_bound(obj)
    if bound is not None:
        return "thread", Found(f"`{bound}()` answers for the thread that calls it", Cause.THREAD_BOUND, bound)
    if not isinstance(obj, type) and any(name.startswith(p) for p in _RANDOM_STATE):
        return "ordered", Found(f"`{name}()` draws from a random stream shared by every iteration",
                                Cause.RANDOM_STREAM, name)
    if name in ARGUMENT_WRITERS or knowledge._lookup(ARGUMENT_WRITERS, name):
        return ("write", Found(f"`{name}()` changes an object handed to it", Cause.CHANGES_ARGUMENT, name)) \
            if args_shared else None
    if type(obj).__name__ == "_lru_cache_wrapper":
        wrapped = getattr(obj, "__wrapped__", None)
        code = getattr(wrapped, "__code__", None)
        if code is not None and is_library_file(code.co_filename):
            return None   # a library's own cache (`urllib.parse.urlsplit`): its state, its business
        return "ordered", Found(f"`{name}()` is cached: its cache is shared by every iteration (plain code runs it "
                                f"once per key)", Cause.CACHED, name)
    if getattr(type(obj), "__module__", None) == "unittest.mock" or name.startswith("unittest.mock."):
        return "ordered", Found(f"`{name}` is a mock: it records the order of its calls", Cause.MOCK, name)
    if library or knowledge.is_pure(obj):
        return None
    if isinstance(obj, type):
        found = class_construction(obj, env, depth, seen)
        return ("ordered", found) if found else None
    if isinstance(obj, functools.partial):
        return opaque_fact(obj.func, env, True, library, depth, seen)
    if isinstance(obj, (types.BuiltinFunctionType, types.MethodWrapperType)) or \
            type(obj).__name__ in ("method_descriptor", "wrapper_descriptor", "builtin_function_or_method"):
        return "unknown", Found(f"`{name}()` is not known to XCS (it cannot read C code)", Cause.C_CODE, name)
    if callable(obj):
        call = inspect.getattr_static(type(obj), "__call__", None)
        if isinstance(call, types.FunctionType):
            return None   # a callable object: the caller scans its __call__
        return "unknown", Found(f"`{name}` is a callable object XCS cannot read", Cause.CALLABLE_OBJECT, name)
    return None


def _random_types():
    import random

    return (random.Random,)


def class_construction(cls, env: Environment, depth: int | None = None, seen: set | None = None) -> Found | None:
    """Why building an instance of `cls` may be visible to other iterations, or None: its
    Python `__init__`/`__new__` are scanned with the new object as the iteration's own; a C
    base the table does not know is unknown."""
    if knowledge.is_pure(cls) or env.is_trusted(cls):
        return None
    for hook in ("__new__", "__init__"):
        for klass in getattr(cls, "__mro__", (cls,)):
            method = vars(klass).get(hook)
            if method is None:
                continue
            if isinstance(method, staticmethod):
                method = method.__func__
            if isinstance(method, types.FunctionType):
                def env_for(f, _env=env):
                    closure = dict(zip(f.__code__.co_freevars, f.__closure__ or ()))
                    return Environment(globals=f.__globals__, closure=closure, extra_ordered=_env.extra_ordered,
                                       trusted=_env.trusted)
                params = method.__code__.co_varnames[1:method.__code__.co_argcount]
                found = ordered_effects_in(method, env_for, SCAN_DEPTH if depth is None else depth - 1, seen,
                                           shared_params=frozenset(params))
                if found:
                    return Found(f"`{cls.__qualname__}()`: {found}", Cause.CONSTRUCTION, cls.__qualname__, found,
                                 bottom_cause(found))
            elif klass is not object and not knowledge.is_pure(klass):
                return Found(f"`{cls.__qualname__}()` runs `{klass.__qualname__}.{hook}`, which XCS cannot read",
                             Cause.UNREADABLE_INIT, cls.__qualname__, f"{klass.__qualname__}.{hook}")
            break
    return None


def frame_introspection(obj) -> str | None:
    """The name of a frame-inspecting builtin, or None."""
    try:
        return FRAME_INTROSPECTION.get(obj)
    except TypeError:  # unhashable
        return None


SCAN_DEPTH = 6


def ordered_effects_in(func, env_for, depth: int = SCAN_DEPTH, seen: set | None = None,
                       shared_params: frozenset | None = None, outputs: list | None = None,
                       changes: list | None = None) -> str | None:
    """Scan a Python function's bytecode (and the functions it calls, `depth` levels) for
    effects whose order is visible: print/logging calls, writes, global stores, mutating
    method calls on globals or on parameters that receive shared objects
    (`def add(acc, x): acc.append(x)` called as `add(results, x)`).

    `shared_params` names the parameters that may receive objects other iterations see;
    None means all of them. Objects a function builds or gets back from calls are its own
    (the same assumption the loop body's analysis makes for its locals).
    Library code (standard library, installed packages) is held to the visible effects only:
    its stores into its own module state (caches, registries) and into its objects'
    attributes are not the caller's to see.
    Functions the user vouched for (`Environment.trusted`) are not scanned.

    With `outputs` (a list), output that XCS captures on a worker and replays in order —
    `print` to the standard streams, `sys.stdout.write`, logging records — is not an effect:
    a description of each is appended to `outputs` instead (the caller keeps such a call
    after any in-order output of the iteration).

    With `changes` (a list), each call seen that changes the file system or synchronises
    with other threads (`os.mkdir`, `open(p, "w")`, `ZipFile(f, "w")`, `path.write_text`,
    `event.set()`) — library code's too — is described there, whether or not it is an
    effect: the caller keeps the work after such a statement after it.

    Returns a description of the first one found, or None.
    """
    from xcs.analysis.walker import first_effect

    return first_effect(func, env_for, depth, seen, shared_params, outputs, changes)


def _resolved_or_none(env, target):
    if target is None or target.kind not in ("global", "deref") and \
            not (target.kind == "local" and target.name in env.arguments):
        return None
    try:
        return env.lookup(target.kind, target.name, target.chain)
    except Exception:  # noqa: BLE001
        return None


def is_write_mode(text) -> bool:
    """True for a file mode that creates or changes a file: "w", "ab", "x", "r+", "w:gz"."""
    if not isinstance(text, str) or not text:
        return False
    mode = text.split(":", 1)[0]
    return 0 < len(mode) <= 4 and set(mode) <= set("rwxabt+") and bool(set(mode) & set("wax+"))


def filesystem_change(e, items, obj) -> str | None:
    """A description when the call event `e` (of `obj`, if resolved) changes the file system
    or synchronises with other threads, else None: a known function (`os.mkdir`,
    `shutil.copy`, `event.set`), a pathlib writing method by name (`path.write_text`), or an
    opener — `open`, a `.open` method, a class — given a constant write mode
    (`ZipFile(f, "w")`, `tarfile.open(p, mode="w:gz")`)."""
    target = e.target
    method = target.chain[-1] if target is not None and target.chain else None
    name = qualified_name_or_empty(obj) if obj is not None else ""
    if name in FILESYSTEM_CHANGING or name in SYNCHRONIZING or method in PATH_CHANGING_METHODS:
        return f"`{target.describe()}()` changes the file system or synchronises"
    named_open = method == "open" or name in ("builtins.open", "io.open", "_io.open") or \
        (target is not None and not target.chain and target.name == "open")
    for a in e.args if named_open or isinstance(obj, type) else ():
        mode = constant_name(items, a)
        # A class handed a bare "a" or "x" is more often given a name than a mode.
        if is_write_mode(mode) and (named_open or mode[0] == "w" or set(mode) & set("b+:")):
            return f"`{target.describe()}()` opens a file for writing"
    return None


def attribute_effects(obj, attr: str, env_for, depth: int = SCAN_DEPTH, seen: set | None = None) -> str | None:
    """What reading `obj.attr` does that other iterations would see, or None: a property's
    getter or a `__getattr__` that changes state (both scanned with `self` bound to `obj`), a
    `threading.local` that answers for the reading thread."""
    if isinstance(obj, (types.ModuleType, type)) or obj is None:
        return None
    try:
        found = inspect.getattr_static(obj, attr)
    except AttributeError:
        found = _MISSING
    except Exception:  # noqa: BLE001
        return None
    if found is not _MISSING and knowledge.is_thread_local(found):
        return f"`{attr}` is a threading.local: each thread sees its own"
    getter = None
    if isinstance(found, property):
        getter = found.fget
    elif found is _MISSING:
        getter = inspect.getattr_static(type(obj), "__getattr__", None)
    if isinstance(getter, types.FunctionType) and not is_library_file(getter.__code__.co_filename):
        names = getter.__code__.co_varnames
        env_with_self = binding(env_for, getter, {names[0]: obj} if names else {})
        return ordered_effects_in(getter, env_with_self, depth - 1, seen, frozenset(names[:1]))
    return None


_MISSING = object()


def constant_name(items, value) -> str | None:
    """The `str` a simulated value is when it is a constant (`getattr(h, "x")`), else None."""
    item = items[value.start] if value is not None and value.kind == "const" and value.start >= 0 else None
    arg = getattr(item, "arg", None) if getattr(item, "name", None) == "LOAD_CONST" else None
    return arg if isinstance(arg, str) else None


_CHANGING_CONTAINERS = (list, dict, set, bytearray)


def getattr_effects(obj, name: str | None, env_for, depth: int = SCAN_DEPTH, seen: set | None = None) -> str | None:
    """What `getattr(obj, name)` — and a call of what it returns — may do that other
    iterations would see, for an `obj` they see too; `name` is None when it is computed
    (`getattr(h, "on_" + kind)(value)`), `obj` is UNKNOWN when the analysis cannot name it.

    A constant name is an attribute read (`attribute_effects`). A computed name may reach any
    method, property or `__getattr__` of the object's class: each is scanned, with every
    parameter taken as shared; a method with an effect makes the call ordered. Dunder methods
    other than `__getattr__`/`__getattribute__` are not counted (a computed name naming
    `__init__` is not a dispatch). Library classes keep their own state (the README's
    assumptions), but a built-in container's methods change it."""
    if obj is None or isinstance(obj, (types.ModuleType, type)):
        return None
    if name is not None:
        return attribute_effects(obj, name, env_for, depth, seen) if obj is not UNKNOWN else None
    if obj is UNKNOWN:
        return "`getattr()` with a computed name, on an object XCS cannot see, may reach any of its methods"
    cls = type(obj)
    if isinstance(obj, _CHANGING_CONTAINERS):
        return f"`getattr()` with a computed name on a `{cls.__name__}` may reach a method that changes it"
    for klass in getattr(cls, "__mro__", (cls,)):
        if klass is object:
            continue
        for attr, value in list(vars(klass).items()):
            if attr.startswith("__") and attr.endswith("__") and attr not in ("__getattr__", "__getattribute__"):
                continue
            fn = value.fget if isinstance(value, property) else \
                value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if not isinstance(fn, types.FunctionType) or is_library_file(fn.__code__.co_filename):
                continue
            names = fn.__code__.co_varnames
            bound_self = {names[0]: obj} if names and fn.__code__.co_argcount and \
                not isinstance(value, (staticmethod, classmethod)) else {}
            found = ordered_effects_in(fn, binding(env_for, fn, bound_self), depth - 1, seen)
            if found:
                return nest(f"`getattr()` with a computed name may reach `{cls.__qualname__}.{attr}`: {found}",
                            found)
    return None


def _attribute_reads(items, env, env_for, depth, seen) -> str | None:
    """Property getters and `__getattr__`s run by attribute reads on known objects (arguments
    bound at the call, globals and closure variables that are not modules)."""
    for i, item in enumerate(items[:-1]):
        name = getattr(item, "name", None)
        nxt = items[i + 1]
        if getattr(nxt, "name", None) != "LOAD_ATTR" or pyversion.is_method_load(nxt):
            continue
        if name in pyversion.LOCAL_READS and item.arg in env.arguments:
            kind, var = "local", item.arg
        elif name == "LOAD_GLOBAL":
            kind, var = "global", pyversion.global_name(item)
        elif name == "LOAD_DEREF":
            kind, var = "deref", pyversion.deref_name(item.arg)
        else:
            continue
        try:
            obj = env.lookup(kind, var)
        except Exception:  # noqa: BLE001
            continue
        found = attribute_effects(obj, pyversion.attr_name(nxt), env_for, depth, seen)
        if found:
            return nest(f"reading `{var}.{pyversion.attr_name(nxt)}`: {found}", found)
    return None


# Calls that answer with the exception being handled: inside the calling function's own
# `except` block that is the worker's own exception, as in plain code.
HANDLED_EXCEPTION = frozenset({"sys.exc_info", "sys.exception", "traceback.print_exc", "traceback.format_exc"})


def in_handler(items) -> frozenset:
    """Indices of the items that run inside an `except` block of the same function
    (between `PUSH_EXC_INFO` and its `POP_EXCEPT`, 3.11+), in instruction order."""
    inside, depth = set(), 0
    for i, item in enumerate(items):
        name = getattr(item, "name", None)
        if name == "PUSH_EXC_INFO":
            depth += 1
        elif name == "POP_EXCEPT":
            depth = max(0, depth - 1)
        if depth:
            inside.add(i)
    return frozenset(inside)


def reads_own_exception(obj, index: int, handlers: frozenset) -> bool:
    """True when the call of `obj` at `index` asks for the exception its own `except` handles."""
    return index in handlers and knowledge.thread_bound(obj) in HANDLED_EXCEPTION


def captured_output(target, e, items, env, shared=None) -> bool:
    """True when the call event `e` only writes output the runtime captures per iteration and
    replays in order: `print` to the standard streams, `sys.stdout/stderr.write`, a logging
    call on a logger (the record goes through `Logger.handle`, which the runtime captures)."""
    method = target.chain[-1] if target.chain else None
    if target.kind == "global" and not target.chain and target.name == "print":
        try:
            if env.lookup("global", "print") is not builtins.print:
                return False
        except Exception:  # noqa: BLE001
            return False
        keywords = call_keywords(items, e.index)
        if "file" not in keywords:
            return True
        value = e.args[len(e.args) - len(keywords) + keywords.index("file")]
        return _is_standard_stream(value)
    if method in ("write", "writelines", "flush") and _is_standard_stream(receiver_of(target)):
        return True
    if method in LOGGING_METHODS:
        if target.kind == "global" and target.name == "logging" and len(target.chain) == 1:
            return True
        if target.kind in ("global", "deref") or (target.kind == "local" and target.name in env.arguments):
            try:
                receiver = env.lookup(target.kind, target.name, target.chain[:-1])
            except Exception:  # noqa: BLE001
                return False
            import logging

            return isinstance(receiver, (logging.Logger, logging.LoggerAdapter))
        # A logger the function made itself (`log = logging.getLogger(...)`), not one it was handed.
        return target.kind in ("local", "call") and not (shared is not None and target.kind == "local" and
                                                         shared.local(target.name))
    return False


def _is_standard_stream(value) -> bool:
    """`sys.stdout` / `sys.stderr` as the code spells it."""
    return value is not None and value.kind == "global" and value.name == "sys" and \
        value.chain in (("stdout",), ("stderr",))


def _is_warnings_call(target) -> bool:
    """`warnings.warn(...)` / `warn(...)` as library code spells it."""
    # `import warnings` inside the function (3.11's `shlex.split`) binds a local of that name.
    return (target.kind in ("global", "local") and target.name in ("warnings", "_warnings") and target.chain[-1:] in
            (("warn",), ("warn_explicit",))) or (target.kind == "global" and not target.chain and target.name == "warn")


def _trusted_prefix(env, target) -> bool:
    """True when the longest resolvable prefix of `target`'s chain is trusted (a library client:
    `client.chat.completions.create` where `chat` is a cached property of an `openai.OpenAI`)."""
    for end in range(len(target.chain) - 1, -1, -1):
        try:
            obj = env.lookup(target.kind, target.name, target.chain[:end])
        except Exception:  # noqa: BLE001
            continue
        if env.is_trusted(obj) or env.is_trusted(type(obj)):
            return True
    return False


def _thread_bound_reads(code, items, env, library) -> str | None:
    """A description when the function reads a `threading.local` global or closure variable:
    on a worker it would see the worker's attributes, not the caller's."""
    handlers = in_handler(items)
    for i_, item in enumerate(items):
        name = getattr(item, "name", None)
        if name == "LOAD_GLOBAL":
            kind, var = "global", pyversion.global_name(item)
        elif name == "LOAD_DEREF":
            kind, var = "deref", pyversion.deref_name(item.arg)
        elif name == "RAISE_VARARGS" and item.arg == 0 and not library and i_ not in handlers:
            return f"{code.co_name} (line {item.lineno}) re-raises the exception its caller is handling"
        else:
            continue
        try:
            value = env.lookup(kind, var)
        except Exception:  # noqa: BLE001
            continue
        if knowledge.is_thread_local(value):
            return f"{code.co_name} (line {item.lineno}) reads `{var}`, a threading.local: each thread sees its own"
    return None


def binding(env_for, func, arguments: dict):
    """`env_for`, with `arguments` known when the environment is `func`'s."""
    def bound_env_for(f):
        env = env_for(f)
        if f is func:
            env.arguments = {**env.arguments, **arguments}
        return env
    return bound_env_for


def context_manager_effects(manager_obj, made_by_obj, env_for, depth: int | None = None,
                            seen: set | None = None) -> str | None:
    """What entering and leaving a `with` block does that other iterations would see
    (`redirect_stdout`, `captured_output`, `mock.patch` swap process-wide state), or None.

    `made_by_obj` is the callable that built the manager (a `contextlib.contextmanager`
    function, or a class), `manager_obj` the manager itself when it is known instead. `depth`
    and `seen` are the budget and cycle set of the walk that met the `with` (None: a new walk)."""
    depth = SCAN_DEPTH if depth is None else depth - 1
    if made_by_obj is not None:
        wrapped = getattr(made_by_obj, "__wrapped__", None)
        if isinstance(wrapped, types.FunctionType):          # @contextmanager: its generator's code
            return ordered_effects_in(wrapped, env_for, depth, seen)
        if isinstance(made_by_obj, types.FunctionType):      # a factory: what it builds, it calls
            return ordered_effects_in(made_by_obj, env_for, depth, seen)
        cls = made_by_obj if isinstance(made_by_obj, type) else None
    else:
        cls = type(manager_obj) if manager_obj is not None else None
    if cls is None:
        return None
    if getattr(cls, "__module__", None) == "unittest.mock":
        return f"`{cls.__qualname__}` patches objects everyone sees"
    for name in ("__enter__", "__exit__"):
        method = inspect.getattr_static(cls, name, None)
        if isinstance(method, types.FunctionType):
            found = ordered_effects_in(method, env_for, depth, seen)
            if found:
                return found
    return None


def _into_other_module(target, env, func) -> bool:
    """True for a store into another module's state (`sys.stdout = buf`, `os.environ[k] = v`):
    visible to everyone, even when library code does it."""
    if target.kind != "global":
        return False
    try:
        root = env.lookup("global", target.name)
    except Exception:  # noqa: BLE001
        return False
    return isinstance(root, types.ModuleType) and root.__name__ != getattr(func, "__module__", None)


def _enter_effects(e, env, env_for, depth: int | None = None, seen: set | None = None) -> str | None:
    made_by = e.args[0] if e.args else None
    made_by_obj = manager_obj = None
    try:
        if made_by is not None and made_by.kind in ("global", "deref"):
            made_by_obj = env.lookup(made_by.kind, made_by.name, made_by.chain)
        elif made_by is None and e.target.kind in ("global", "deref"):
            manager_obj = env.lookup(e.target.kind, e.target.name, e.target.chain)
    except Exception:  # noqa: BLE001
        return None
    return context_manager_effects(manager_obj, made_by_obj, env_for, depth, seen)


def _library_owned(value, env) -> bool:
    """True when the global or closure variable a value is read from holds a function, class
    or module of library code: its attributes (`wrapped_f.statistics`, the dict tenacity keeps
    on the function it returns) are the library's own state, as its module state is. A cell
    holding anything else (a list the user handed a decorator factory) stays the user's."""
    if value.kind not in ("global", "deref"):
        return False
    try:
        obj = env.lookup(value.kind, value.name)
    except Exception:  # noqa: BLE001
        return False
    if isinstance(obj, types.ModuleType):
        return True
    if isinstance(obj, types.FunctionType):
        return is_library_file(obj.__code__.co_filename)
    if isinstance(obj, type):
        module = sys.modules.get(getattr(obj, "__module__", "") or "")
        filename = getattr(module, "__file__", None)
        return bool(filename) and is_library_file(filename)
    return False


class _SharedValues:
    """Which values in one function may be objects other iterations also see: shared
    parameters, globals, free variables, and locals assigned from any of them — in library
    code, not what it reads from its own functions and classes (`library_owned`)."""

    def __init__(self, code, shared_params, events, library_owned=None):
        self.library_owned = library_owned
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount
                                 + bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)]
        self.params = set(names) if shared_params is None else set(shared_params) & set(names)
        self.locals = set()
        stores = [(e.args[0], e.target) for e in events if e.op == "store-local" and e.args]
        changed = True
        while changed:
            changed = False
            for name, value in stores:
                if name not in self.locals and self.value(value):
                    self.locals.add(name)
                    changed = True

    def local(self, name: str) -> bool:
        """True when the local `name` may hold a shared object."""
        return name in self.params or name in self.locals

    def value(self, value) -> bool:
        """True when a simulated stack value may be a shared object."""
        if value.kind in ("const", "fresh", "call"):
            return False
        if value.kind == "local":
            return self.local(value.name)
        if self.library_owned is not None and self.library_owned(value):
            return False
        return True


def _has_mutable_defaults(func) -> bool:
    defaults = tuple(getattr(func, "__defaults__", None) or ()) + tuple((getattr(func, "__kwdefaults__", None) or {}).values())
    return any(not isinstance(d, (int, float, complex, str, bytes, bool, type(None), tuple, frozenset)) for d in defaults)


def handler_depths(items) -> dict:
    """Each exception handler's label -> the stack depth it is entered with."""
    from bytecode import TryBegin

    return {item.target: item.stack_depth + (1 if item.push_lasti else 0) + 1
            for item in items if isinstance(item, TryBegin)}


# Calls that read the file system: what an earlier iteration's in-order part created or
# removed changes their answer.
FILESYSTEM_READING = frozenset({
    "genericpath.exists", "genericpath.isfile", "genericpath.isdir", "genericpath.getsize",
    "genericpath.getmtime", "posixpath.exists", "posixpath.lexists", "posixpath.isfile", "posixpath.isdir",
    "posixpath.islink", "posixpath.getsize", "posixpath.getmtime", "os.stat", "os.lstat", "os.listdir",
    "os.scandir", "os.access", "os.walk", "glob.glob", "glob.iglob", "posix.stat", "posix.lstat",
    "posix.listdir", "posix.scandir", "posix.access",
    *(f"{cls}.{m}" for cls in ("pathlib.Path", "pathlib._local.Path", "pathlib.PurePath")
      for m in ("exists", "is_file", "is_dir", "stat", "lstat", "read_text", "read_bytes", "iterdir", "glob",
                "rglob", "open")),
    "builtins.open", "io.open", "_io.open",
})


@dataclass(frozen=True)
class Read:
    """Shared state a function reads. kind: "global" (`key` = (id of its globals dict, name)),
    "param" (`key` = parameter index, `attr` the attribute read from it or None for the whole
    object), "cell" (a closure variable: `key` = its name in the reading function), "fs" (the
    file system), "any" (not seen to the bottom: assume it reads anything)."""

    kind: str
    key: object = None
    attr: str | None = None


def shared_reads(func, env_for, depth: int = SCAN_DEPTH, seen: set | None = None) -> frozenset:
    """The shared state `func` reads, following the user functions it calls (library code
    keeps its own state, as the README says; what it reads of the file system counts).

    Parameters are reported by index so the caller can map them onto its own arguments."""
    from xcs.analysis.walker import reads_of

    return reads_of(func, env_for, depth, seen)


def receiver_of(target):
    """The receiver of a method call `a.b.m(...)`: the value `a.b`."""
    from xcs.analysis.stack import Value

    return Value(target.kind, target.start, target.name, target.chain[:-1])


def call_keywords(items, index: int) -> tuple:
    """The keyword names of the call at items[index] (3.11/3.12 `KW_NAMES`, 3.13 `CALL_KW`'s tuple)."""
    call = items[index]
    for back in (1, 2):
        prev = items[index - back] if index - back >= 0 else None
        name = getattr(prev, "name", None)
        if name in pyversion.KEYWORD_NAMES and isinstance(prev.arg, tuple):
            return prev.arg
        if getattr(call, "name", None) in pyversion.KEYWORD_CALLS and name == "LOAD_CONST" and isinstance(prev.arg, tuple):
            return prev.arg
        if name not in pyversion.PRECALLS:
            break
    return ()


def bind_call(func, args: tuple, keywords: tuple, resolve, receiver=None) -> tuple[dict, frozenset]:
    """What the parameters of `func` receive at one call: ({parameter: object} for arguments
    `resolve(value)` can name, the parameters given a value `resolve` calls shared).

    `args` are the call's simulated argument values (keyword values last, named by
    `keywords`); `receiver` is the bound object of a method call, if known (`...` when the
    call is bound but the receiver is not known). `resolve(value)` returns
    (shared: bool, object or `_UNKNOWN`)."""
    code = func.__code__
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    positional = list(args[:len(args) - len(keywords)]) if keywords else list(args)
    named = dict(zip(keywords, args[len(args) - len(keywords):])) if keywords else {}
    bound, shared = {}, set()
    offset = 0
    if receiver is not None and code.co_argcount:
        offset = 1
        shared.add(names[0])
        if receiver is not ...:
            bound[names[0]] = receiver
    pairs = list(zip(names[offset:code.co_argcount], positional)) + \
        [(k, v) for k, v in named.items() if k in names]
    if len(positional) > code.co_argcount - offset:
        shared.update(names)   # *args: where the rest goes is not tracked
    for param, value in pairs:
        is_shared, obj = resolve(value)
        if is_shared:
            shared.add(param)
        if obj is not UNKNOWN:
            bound[param] = obj
    if code.co_flags & 0x08:   # **kwargs
        shared.update(names)
    return bound, frozenset(shared)


UNKNOWN = object()
