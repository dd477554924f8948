"""Which calls and stores must run in iteration order, and which may run on a worker.

Static facts about callables and method names; the caller's resolved environment decides
what a name refers to. Reading a global or an attribute of a module here only *looks*:
nothing the user wrote is called.
"""
from __future__ import annotations

import builtins
import inspect
import sys
import types
from dataclasses import dataclass, field

from xcs import pyversion
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


def follow_chain(obj, chain: tuple):
    """`obj.a.b...` read without running user code (`inspect.getattr_static`; modules by
    `getattr`), or raise LookupError."""
    for attr in chain:
        try:
            obj = inspect.getattr_static(obj, attr) if not isinstance(obj, types.ModuleType) else getattr(obj, attr)
        except AttributeError:
            raise LookupError(attr) from None
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
    return obj


def qualified_name(obj) -> str:
    """`module.qualname` of a callable, or '' when it has none."""
    module = getattr(obj, "__module__", None) or ""
    if not module and hasattr(obj, "__objclass__"):   # methods of C types: `_queue.SimpleQueue.put`
        module = getattr(obj.__objclass__, "__module__", "") or ""
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", "")
    if module == "builtins" or (not module and isinstance(obj, types.BuiltinFunctionType)):
        module = "builtins"
    return f"{module}.{qual}" if module and qual else qual


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


def frame_introspection(obj) -> str | None:
    """The name of a frame-inspecting builtin, or None."""
    try:
        return FRAME_INTROSPECTION.get(obj)
    except TypeError:  # unhashable
        return None


def ordered_effects_in(func, env_for, depth: int = 3, seen: set | None = None,
                       shared_params: frozenset | None = None) -> str | None:
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

    Returns a description of the first one found, or None.
    """
    from xcs.analysis.normalize import normalize
    from xcs.analysis.stack import simulate

    seen = set() if seen is None else seen
    code = getattr(func, "__code__", None)
    key = (code, shared_params)
    if code is None or key in seen or depth <= 0:
        return None
    seen.add(key)
    env = env_for(func)
    if env.is_trusted(func):
        return None
    from xcs.analysis import budget

    if budget.instruction_count(code) > budget.MAX_INSTRUCTIONS:   # reading it would cost seconds
        return f"{code.co_name} has more instructions than XCS reads (limit {budget.MAX_INSTRUCTIONS:,})"
    library = is_library_file(code.co_filename)
    try:
        items = list(normalize(code))
        events = simulate(items, 0, len(items), 0, handler_depths(items))
    except Exception:  # noqa: BLE001 - an unreadable callee: assume the worst
        return f"{code.co_name} could not be read"
    if _has_mutable_defaults(func):
        shared_params = None
    for item in () if library else items:
        if getattr(item, "name", None) in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            return f"{code.co_name} (line {item.lineno}) assigns global `{item.arg}`"
    shared = _SharedValues(code, shared_params, events)
    for e in events:
        line = getattr(items[e.index], "lineno", "?")
        where = f"{code.co_name} (line {line})"
        target = e.target
        if e.op in ("store-attr", "store-subscr", "delete-attr", "delete-subscr"):
            if _into_other_module(target, env, func):
                attr = f".{pyversion.attr_name(items[e.index])}" if e.op.endswith("attr") else ""
                return f"{where} changes `{target.describe()}{attr}`, which the whole process sees"
            if library and e.op.endswith("attr"):
                continue   # a library object's own attributes: its internal state
            if (target.kind == "global" and not library) or target.kind == "deref" or \
                    (target.kind == "local" and shared.local(target.name)):
                attr = f".{pyversion.attr_name(items[e.index])}" if e.op.endswith("attr") else ""
                return f"{where} stores into `{target.describe()}{attr}`"
            continue
        if e.op == "enter" and target is not None:
            found = _enter_effects(e, env, env_for)
            if found:
                return f"{where}: `with` {found}"
            continue
        if e.op != "call" or target is None:
            continue
        if target.kind == "global" and not target.chain and target.name in ("setattr", "delattr") and e.args and \
                _into_other_module(e.args[0], env, func):
            return f"{where} changes an attribute of `{e.args[0].describe()}`, which the whole process sees"
        method = target.chain[-1] if target.chain else None
        if method in ORDERED_METHODS:
            return f"{where} calls `{target.describe()}()`"
        if target.kind == "local" and method in MUTATORS and shared.local(target.name):
            return f"{where} changes `{target.name}`, which other iterations can see (`{target.describe()}()`)"
        via_argument = target.kind == "local" and target.chain and target.name in env.arguments
        if target.kind not in ("global", "deref") and not via_argument:
            continue
        try:
            root = env.lookup(target.kind, target.name)
            obj = env.lookup(target.kind, target.name, target.chain)
        except Exception:  # noqa: BLE001
            continue
        if env.is_trusted(obj):
            continue
        if target.chain and not isinstance(root, types.ModuleType) and method in MUTATORS and \
                (not library or target.kind == "deref"):
            return f"{where} calls `{target.describe()}()`"   # a library's own module state is exempt, cells are not
        if isinstance(root, types.ModuleType) and target.chain:
            if ".".join((root.__name__,) + target.chain) in ORDERED_QUALNAMES:
                return f"{where} calls `{target.describe()}()`"
        if obj in ORDERED_OBJECTS or is_ordered_callable(obj, env):
            return f"{where} calls `{target.describe()}()`"
        wrapped = getattr(obj, "__wrapped__", None) if isinstance(obj, types.FunctionType) else None
        if isinstance(wrapped, types.FunctionType):
            # A decorated function (`@contextmanager`, `functools.wraps`): the wrapper runs it.
            found = ordered_effects_in(wrapped, env_for, depth - 1, seen)
            if found:
                return found
        if isinstance(obj, types.FunctionType):
            bound_to_shared = bool(target.chain) and not isinstance(root, types.ModuleType)
            passes_shared = bound_to_shared or any(shared.value(a) for a in e.args)
            callee_env_for = env_for
            if via_argument and len(target.chain) == 1 and obj.__code__.co_argcount:
                # `self.error(...)` on a known instance: the callee's `self` is that instance.
                bound = {obj.__code__.co_varnames[0]: root}
                callee_env_for = binding(env_for, obj, bound)
            found = ordered_effects_in(obj, callee_env_for, depth - 1, seen, None if passes_shared else frozenset())
            if found:
                return found
    return None


def binding(env_for, func, arguments: dict):
    """`env_for`, with `arguments` known when the environment is `func`'s."""
    def bound_env_for(f):
        env = env_for(f)
        if f is func:
            env.arguments = {**env.arguments, **arguments}
        return env
    return bound_env_for


def context_manager_effects(manager_obj, made_by_obj, env_for) -> str | None:
    """What entering and leaving a `with` block does that other iterations would see
    (`redirect_stdout`, `captured_output`, `mock.patch` swap process-wide state), or None.

    `made_by_obj` is the callable that built the manager (a `contextlib.contextmanager`
    function, or a class), `manager_obj` the manager itself when it is known instead."""
    if made_by_obj is not None:
        wrapped = getattr(made_by_obj, "__wrapped__", None)
        if isinstance(wrapped, types.FunctionType):          # @contextmanager: its generator's code
            return ordered_effects_in(wrapped, env_for)
        if isinstance(made_by_obj, types.FunctionType):      # a factory: what it builds, it calls
            return ordered_effects_in(made_by_obj, env_for)
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
            found = ordered_effects_in(method, env_for)
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


def _enter_effects(e, env, env_for) -> str | None:
    made_by = e.args[0] if e.args else None
    made_by_obj = manager_obj = None
    try:
        if made_by is not None and made_by.kind in ("global", "deref"):
            made_by_obj = env.lookup(made_by.kind, made_by.name, made_by.chain)
        elif made_by is None and e.target.kind in ("global", "deref"):
            manager_obj = env.lookup(e.target.kind, e.target.name, e.target.chain)
    except Exception:  # noqa: BLE001
        return None
    return context_manager_effects(manager_obj, made_by_obj, env_for)


class _SharedValues:
    """Which values in one function may be objects other iterations also see: shared
    parameters, globals, free variables, and locals assigned from any of them."""

    def __init__(self, code, shared_params, events):
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
        return True


def _has_mutable_defaults(func) -> bool:
    defaults = tuple(getattr(func, "__defaults__", None) or ()) + tuple((getattr(func, "__kwdefaults__", None) or {}).values())
    return any(not isinstance(d, (int, float, complex, str, bytes, bool, type(None), tuple, frozenset)) for d in defaults)


def handler_depths(items) -> dict:
    """Each exception handler's label -> the stack depth it is entered with."""
    from bytecode import TryBegin

    return {item.target: item.stack_depth + (1 if item.push_lasti else 0) + 1
            for item in items if isinstance(item, TryBegin)}
