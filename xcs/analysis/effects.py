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

# Methods that change the object they are called on, or consume from it in order.
MUTATORS = frozenset({
    "append", "extend", "insert", "remove", "pop", "clear", "update", "add", "discard", "setdefault",
    "sort", "reverse", "popitem", "appendleft", "extendleft", "popleft", "rotate", "put_nowait",
    "get_nowait", "write", "writelines", "flush", "send", "sendall", "sendto", "truncate", "seek",
    "read", "readline", "readlines", "recv", "recv_into", "__setitem__", "__delitem__", "__next__",
    "debug", "info", "warning", "warn", "error", "exception", "critical", "log", "fatal",
    "set", "reset",
})

# Module-level functions whose effects are ordered or that read shared ordered state.
ORDERED_QUALNAMES = frozenset({
    "builtins.print", "builtins.input", "builtins.next", "builtins.breakpoint",
    "random.random", "random.randint", "random.choice", "random.choices", "random.shuffle",
    "random.sample", "random.uniform", "random.gauss", "random.randrange", "random.getrandbits",
    "random.normalvariate", "random.seed", "random.triangular", "random.betavariate",
    "logging.debug", "logging.info", "logging.warning", "logging.error", "logging.exception",
    "logging.critical", "logging.log",
    "os.write", "os.chdir", "os.putenv", "os.unsetenv",
})
ORDERED_OBJECTS = (sys.stdout, sys.stderr)

FRAME_INTROSPECTION = {builtins.locals: "locals", builtins.vars: "vars", builtins.exec: "exec",
                       builtins.eval: "eval", sys._getframe: "sys._getframe", builtins.dir: "dir",
                       inspect.currentframe: "inspect.currentframe", inspect.stack: "inspect.stack",
                       builtins.super: "super"}


@dataclass
class Environment:
    """What names in the function refer to: its globals, builtins and closure cells.

    `extra_ordered(obj) -> bool` lets a higher layer mark more callables as ordered output.
    """

    globals: dict = field(default_factory=dict)
    builtins: dict = field(default_factory=lambda: vars(builtins))
    closure: dict = field(default_factory=dict)   # name -> cell
    extra_ordered: object = None

    def lookup(self, kind: str, name: str, chain: tuple = ()):
        """The object `name.chain...` refers to, or raise LookupError."""
        if kind == "global":
            if name in self.globals:
                obj = self.globals[name]
            elif name in self.builtins:
                obj = self.builtins[name]
            else:
                raise LookupError(name)
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
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", "")
    if module == "builtins" or (not module and isinstance(obj, types.BuiltinFunctionType)):
        module = "builtins"
    return f"{module}.{qual}" if module and qual else qual


def is_ordered_callable(obj, env: Environment) -> bool:
    """True for callables whose effects (or results) depend on the order they are called in."""
    if env.extra_ordered is not None and env.extra_ordered(obj):
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


def ordered_effects_in(func, env_for, depth: int = 3, seen: set | None = None) -> str | None:
    """Scan a Python function's bytecode (and the functions it calls, `depth` levels) for
    ordered output: print/logging calls, global stores, mutating method calls on globals.

    Returns a description of the first one found, or None.
    """
    import dis

    seen = set() if seen is None else seen
    code = getattr(func, "__code__", None)
    if code is None or code in seen or depth <= 0:
        return None
    seen.add(code)
    env = env_for(func)
    instructions = list(dis.get_instructions(code))
    for k, ins in enumerate(instructions):
        where = f"{code.co_name} (line {ins.positions.lineno if ins.positions else '?'})"
        if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            return f"{where} assigns global `{ins.argval}`"
        if ins.opname != "LOAD_GLOBAL":
            continue
        try:
            obj = env.lookup("global", ins.argval)
        except LookupError:
            continue
        following = instructions[k + 1] if k + 1 < len(instructions) else None
        if following is not None and following.opname in ("LOAD_ATTR", "LOAD_METHOD") and not isinstance(obj, types.ModuleType):
            if following.argval in MUTATORS:
                return f"{where} calls `{ins.argval}.{following.argval}()`"
            continue
        if following is not None and following.opname in ("LOAD_ATTR", "LOAD_METHOD"):
            try:
                obj = getattr(obj, following.argval)
            except AttributeError:
                continue
        if obj in ORDERED_OBJECTS:
            return f"{where} writes to `{ins.argval}`"
        if is_ordered_callable(obj, env):
            return f"{where} calls `{qualified_name(obj)}`"
        if isinstance(obj, types.FunctionType):
            found = ordered_effects_in(obj, env_for, depth - 1, seen)
            if found:
                return found
    return None
