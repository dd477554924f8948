"""Static evidence: what a loop body's code refers to, looked up in the registry.

`scan_body(body, args)` reads the bytecode of a loop body function without running it. It
resolves each name the code loads — globals and builtins, closure cells, and the body's
inputs (their values are known when the loop starts) — then follows attribute chains
(`client.chat.completions.create`) with `inspect.getattr_static`, so no property, descriptor
or `__getattr__` of the user's runs. Each resolved object is classified by the registry;
Python functions it reaches are scanned in turn, a few levels deep. Where a chain cannot be
followed statically, the rest of it is named after the last class reached
(`openai._client.OpenAI.chat.completions.create`), which is what library entries match.
"""
from __future__ import annotations

import dis
import functools
import inspect
import types
from dataclasses import dataclass

from xcs import pyversion
from xcs.analysis import budget
from xcs.evidence import registry
from xcs.evidence.names import qualified_name, type_name

MAX_DEPTH = 3           # the body is level 0; functions it calls are scanned down to this level
MAX_CODE_OBJECTS = 200  # bounds the work on large libraries that are not in the registry

_ROOT_LOADS = {"LOAD_GLOBAL": "global", **dict.fromkeys(pyversion.DEREF_LOADS, "deref"),
               **dict.fromkeys(pyversion.LOCAL_LOADS, "local")}
_ATTR_LOADS = pyversion.ATTR_LOADS
_MISSING = object()


@dataclass(frozen=True)
class Finding:
    """One classified reference: its class, the name it answers to, the function it was found
    in (when that is not the loop body itself) and the line."""

    kind: str
    name: str
    via: str | None
    line: int | None

    def words(self) -> str:
        via = f" (via `{self.via}`)" if self.via else ""
        return f"`{self.name}`{via}"


@dataclass(frozen=True)
class StaticEvidence:
    """Everything classified in a loop body, grouped by class, in the order found."""

    blocking: tuple[Finding, ...] = ()
    thread_affine: tuple[Finding, ...] = ()
    ordered: tuple[Finding, ...] = ()


def scan_body(body, args=()) -> StaticEvidence:
    """Classify what the loop body function `body(item, *args)` refers to; `args` are the
    values its inputs will have. Never runs user code; an unreadable function is skipped."""
    code = body.__code__
    known = dict(zip(code.co_varnames[1:code.co_argcount], args))
    scanner = _Scanner()
    scanner.scan(code, body.__globals__, _cells(body), known, depth=0, via=None)
    return scanner.evidence()


def scan_function(fn) -> StaticEvidence:
    """Classify what the Python function `fn` (and what it calls, a few levels) refers to."""
    scanner = _Scanner()
    scanner.follow(fn, depth=0, via=None)
    return scanner.evidence()


def _cells(fn) -> dict:
    return dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))


class _Scanner:
    def __init__(self):
        self.found = {kind: [] for kind in registry.KINDS}
        self.seen: set = set()
        self.names_seen: set = set()

    def evidence(self) -> StaticEvidence:
        return StaticEvidence(tuple(self.found[registry.BLOCKING]), tuple(self.found[registry.THREAD_AFFINE]),
                              tuple(self.found[registry.ORDERED]))

    def record(self, kind, name, via, line) -> None:
        if (kind, name) not in self.names_seen:
            self.names_seen.add((kind, name))
            self.found[kind].append(Finding(kind, name, via, line))

    def scan(self, code, globals_, cells, known, depth, via) -> None:
        if code in self.seen or len(self.seen) >= MAX_CODE_OBJECTS:
            return
        if depth > 0 and budget.instruction_count(code) > budget.MAX_INSTRUCTIONS:
            return   # the analysis budget: a callee this long is not read for evidence either
        self.seen.add(code)
        builtins_ = globals_.get("__builtins__", {})
        builtins_ = vars(builtins_) if isinstance(builtins_, types.ModuleType) else builtins_
        instrs = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
        line = code.co_firstlineno
        for n, ins in enumerate(instrs):
            line = _line(ins) or line
            if ins.opname == "LOAD_CONST" and isinstance(ins.argval, types.CodeType):
                self.scan(ins.argval, globals_, cells, known, depth, via)
                continue
            root = self.root(ins, globals_, builtins_, cells, known)
            if root is _MISSING:
                continue
            chain = []
            for j in range(n + 1, len(instrs)):   # not instrs[n + 1:]: a copy per load is quadratic
                if instrs[j].opname not in _ATTR_LOADS:
                    break
                chain.append(instrs[j].argval)
            self.examine(root, chain, depth, via, line)

    @staticmethod
    def root(ins, globals_, builtins_, cells, known):
        kind = _ROOT_LOADS.get(ins.opname)
        name = ins.argval
        if kind is None and pyversion.SUPERINSTRUCTIONS.get(ins.opname, ("", ""))[1] == "LOAD_FAST":
            kind, name = "local", ins.argval[1]   # 3.13 fused loads: the second one is pushed last
        if kind == "global":
            if name in globals_:
                return globals_[name]
            return builtins_.get(name, _MISSING)
        if kind == "deref":
            cell = cells.get(name)
            if cell is not None:
                try:
                    return cell.cell_contents
                except ValueError:  # empty cell
                    return _MISSING
            return known.get(name, _MISSING)   # an argument that is also a cell variable
        if kind == "local":
            return known.get(name, _MISSING)
        return _MISSING

    def examine(self, obj, chain, depth, via, line) -> None:
        """Classify `obj.chain...` and, failing that, follow it into Python code."""
        for k, attr in enumerate(chain):
            nxt = _static_attr(obj, attr)
            if nxt is _MISSING:
                name = ".".join([_owner_name(obj), *chain[k:]])
                kind = registry.classify_name(name)
                if kind is not None:
                    self.record(kind, name, via, line)
                return
            obj = nxt
        kind = registry.classify(obj)
        if kind is not None:
            self.record(kind, qualified_name(obj), via, line)
            return
        self.follow(obj, depth + 1, via, line)

    def follow(self, obj, depth, via, line=None) -> None:
        """Scan the Python code calling `obj` would run, if it is within reach."""
        if depth > MAX_DEPTH:
            return
        known = {}
        if isinstance(obj, functools.partial):
            obj = obj.func
        if isinstance(obj, types.MethodType) and isinstance(obj.__func__, types.FunctionType):
            first = obj.__func__.__code__.co_varnames[:1]
            known = dict(zip(first, (obj.__self__,)))
            obj = obj.__func__
        elif isinstance(obj, type):
            init = vars(obj).get("__init__")
            if not isinstance(init, types.FunctionType):
                return
            obj = init
        elif not isinstance(obj, types.FunctionType):
            call = _static_attr(type(obj), "__call__") if not isinstance(obj, types.ModuleType) else _MISSING
            if not isinstance(call, types.FunctionType):
                return
            known = dict(zip(call.__code__.co_varnames[:1], (obj,)))
            obj = call
        try:
            code = obj.__code__
            self.scan(code, obj.__globals__, _cells(obj), known, depth, via or qualified_name(obj))
        except Exception:  # noqa: BLE001 - a function we cannot read is simply not evidence
            return


def _line(ins):
    positions = getattr(ins, "positions", None)
    return getattr(positions, "lineno", None)


def _static_attr(obj, attr):
    """`obj.attr` when it can be read without running code, else `_MISSING`."""
    try:
        if isinstance(obj, types.ModuleType):
            return vars(obj).get(attr, _MISSING)
        value = inspect.getattr_static(obj, attr)
    except Exception:  # noqa: BLE001 - AttributeError, or an object whose __dict__ misbehaves
        return _MISSING
    if isinstance(value, (staticmethod, classmethod)):
        return value.__func__
    if isinstance(value, types.MemberDescriptorType) and not isinstance(obj, type):
        try:
            return value.__get__(obj, type(obj))   # a __slots__ value: read by C, no user code
        except AttributeError:
            return _MISSING
    if isinstance(value, types.FunctionType) and not isinstance(obj, type):
        return types.MethodType(value, obj)
    if isinstance(value, (property, functools.cached_property)) or (
            hasattr(type(value), "__get__") and not callable(value) and not isinstance(value, type)):
        return _MISSING   # computing it would run the user's code
    return value


def _owner_name(obj) -> str:
    if isinstance(obj, (types.ModuleType, type)):
        return qualified_name(obj)
    return type_name(type(obj))
