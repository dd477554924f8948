"""What the work of a speculative loop calls, followed into the Python functions it calls.

A loop that may `break` or `return` runs later iterations' work before it knows they are
needed (docs/speculation.md). That work changes nothing other iterations see — the split
proved it — but a trusted library client (`requests.post`, an `@xcs.io` function) may change
things on a server, which no analysis sees. `external_calls` lists, for one call of the
work, every call of a trusted client it reaches (with its argument count and keywords, so a
`urlopen(url, data)` can be told from a GET) and every callee it cannot name; the evidence
layer judges them. Each is an `ExternalCall`: the callee as the code spells it, where, the
object (None when it could not be named) and why it is listed (`Listed`). Nothing is run or
imported.
"""
from __future__ import annotations

import enum
import functools
import inspect
import types
from dataclasses import dataclass

from xcs.analysis import effects
from xcs.sourcepaths import is_library_file

OWN = object()          # a value the iteration made itself (a call's result, a literal)
UNKNOWN = effects.UNKNOWN
DEPTH = effects.SCAN_DEPTH


class Listed(enum.StrEnum):
    """Why a call of speculative work is listed for the evidence layer to judge."""

    CLIENT = "client"            # a trusted client (a registered library call, `@xcs.io`): `obj` is it
    UNRESOLVED = "unresolved"    # a callee the analysis cannot name (`obj` is None)
    TOO_DEEP = "too-deep"        # Python code deeper than XCS follows (`obj` is None)
    UNREADABLE = "unreadable"    # a function whose code could not be read (`obj` is None)


@dataclass(frozen=True)
class ExternalCall:
    """One call speculative work makes that the evidence layer judges (reads only, or not).

    `callee` as the code spells it (`requests.post`, `item.save`; the function itself when
    its code could not be read); `line` the line of the call, in `within` (the qualified
    name of the Python function the call is in, "" for the loop body); `obj` the callable,
    or None when it is not named; `positional` and `keywords` the arguments it is passed
    (`urlopen(url, data)` is not a GET); `why` why it is listed."""

    callee: str
    line: int | None
    obj: object
    positional: int
    keywords: tuple
    why: Listed = Listed.CLIENT
    within: str = ""

    @property
    def method(self) -> str:
        """The last name of the callee (`append` of `out.append`), "" for a bare name."""
        return self.callee.rsplit(".", 1)[-1] if "." in self.callee else ""


def external_calls(obj, described: str, line, args: tuple, keywords: tuple, env, env_for, resolve,
                   receiver=None, depth: int = DEPTH, seen: set | None = None, within: str = "") -> list:
    """The `ExternalCall`s of the call `obj(*args, **keywords)`, spelled `described`, made at
    `line` (in the function named `within`): itself if `obj` is trusted (a client the
    registry knows, or `@xcs.io`), else what the Python code it runs reaches, `depth`
    levels deep. `resolve(value)` names an argument value: an object, `OWN` or `UNKNOWN`."""
    seen = set() if seen is None else seen
    positional = len(args) - len(keywords)
    if isinstance(obj, functools.partial):
        # `partial(urlopen, data=body)(url)`: the partial's own arguments count too.
        if env.is_trusted(obj.func):
            return [ExternalCall(described, line, obj.func, positional + len(obj.args),
                                 tuple(obj.keywords) + tuple(keywords), within=within)]
        return external_calls(obj.func, described, line, (), (), env, env_for, resolve, None, depth, seen, within)
    if env.is_trusted(obj):
        return [ExternalCall(described, line, obj, positional, tuple(keywords), within=within)]
    func = _python_code_of(obj)
    if func is None:
        return []   # a C callable the split admitted (known pure): nothing external
    code = func.__code__
    if code in seen:
        return []
    library = is_library_file(code.co_filename)
    if depth <= 0:
        return [] if library else [ExternalCall(described, line, None, positional, tuple(keywords), Listed.TOO_DEEP,
                                                within)]
    seen.add(code)
    if isinstance(obj, types.MethodType):
        receiver = obj.__self__
    bound = _bind(func, args, keywords, resolve, receiver)
    return _calls_in(func, bound, env_for, depth - 1, seen, library)


def receiver_of(root, chain: tuple):
    """The object a method `root.chain...` is called on, when it is not a module or a class
    (whose functions take no receiver), else None."""
    if not chain:
        return None
    try:
        parent = effects.follow_chain(root, chain[:-1])
    except Exception:  # noqa: BLE001
        return None
    return None if isinstance(parent, (types.ModuleType, type)) else parent


def _python_code_of(obj):
    """The Python function calling `obj` runs first, or None."""
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, types.FunctionType):
        return obj
    if isinstance(obj, type):
        init = inspect.getattr_static(obj, "__init__", None)
        return init if isinstance(init, types.FunctionType) else None
    if callable(obj):
        call = inspect.getattr_static(type(obj), "__call__", None)
        return call if isinstance(call, types.FunctionType) else None
    return None


def _bind(func, args, keywords, resolve, receiver) -> dict:
    """Parameter name -> what it receives (object, OWN or UNKNOWN); absent means UNKNOWN."""
    code = func.__code__
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    positional = list(args[:len(args) - len(keywords)]) if keywords else list(args)
    named = dict(zip(keywords, args[len(args) - len(keywords):])) if keywords else {}
    bound = {}
    offset = 0
    if receiver is not None and code.co_argcount:
        bound[names[0]] = receiver
        offset = 1
    for param, value in list(zip(names[offset:code.co_argcount], positional)) + \
            [(k, v) for k, v in named.items() if k in names]:
        bound[param] = resolve(value)
    # Parameters left to their defaults receive the defaults: objects the function holds.
    defaults = func.__defaults__ or ()
    for param, value in zip(names[code.co_argcount - len(defaults):code.co_argcount], defaults):
        bound.setdefault(param, value)
    for param, value in (func.__kwdefaults__ or {}).items():
        bound.setdefault(param, value)
    return bound


def _calls_in(func, bound: dict, env_for, depth, seen, library) -> list:
    from xcs.analysis.normalize import normalize
    from xcs.analysis.stack import simulate

    code = func.__code__
    try:
        items = list(normalize(code))
        events = simulate(items, 0, len(items), 0, effects.handler_depths(items))
    except Exception:  # noqa: BLE001 - not understood: nothing is known of it
        return [] if library else [ExternalCall(code.co_qualname, code.co_firstlineno, None, 0, (), Listed.UNREADABLE)]
    env = env_for(func)
    params = set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount +
                                  bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)])
    found: list = []

    def resolve(value):
        if value.kind in ("const", "fresh", "call", "value"):
            return OWN
        if value.kind == "local":
            if value.name not in params:
                return OWN
            got = bound.get(value.name, UNKNOWN)
            if got is OWN or got is UNKNOWN:
                return got
            try:
                return effects.follow_chain(got, value.chain)
            except Exception:  # noqa: BLE001
                return UNKNOWN
        try:
            return env.lookup(value.kind, value.name, value.chain)
        except Exception:  # noqa: BLE001
            return UNKNOWN

    for e in events:
        if e.op != "call":
            continue
        target = e.target
        line = getattr(items[e.index], "lineno", None)
        keywords = effects.call_keywords(items, e.index)
        positional = len(e.args) - len(keywords)
        here = code.co_qualname
        if target is None or target.kind in ("call", "fresh", "const", "value", "self", "null"):
            continue   # a method of the iteration's own object, or what the split already judged
        if target.kind == "local":
            got = bound.get(target.name, UNKNOWN) if target.name in params else OWN
            if got is OWN:
                continue
            if got is UNKNOWN:
                if not library:
                    found.append(ExternalCall(target.describe(), line, None, positional, keywords, Listed.UNRESOLVED,
                                              here))
                continue
            root = got
            try:
                obj = effects.follow_chain(got, target.chain)
            except Exception:  # noqa: BLE001
                if not library:
                    found.append(ExternalCall(target.describe(), line, None, positional, keywords, Listed.UNRESOLVED,
                                              here))
                continue
        else:
            try:
                root = env.lookup(target.kind, target.name)
                obj = env.lookup(target.kind, target.name, target.chain)
            except Exception:  # noqa: BLE001
                if not library:
                    found.append(ExternalCall(target.describe(), line, None, positional, keywords, Listed.UNRESOLVED,
                                              here))
                continue
        found += external_calls(obj, target.describe(), line, e.args, keywords, env, env_for, resolve,
                                receiver_of(root, target.chain), depth, seen, here)
    return found
