"""Checks a parallel-capable loop runs when it starts and as items arrive.

The analysis proves a loop safe for the objects it could see when the function was first
compiled. These checks cover what it could only see later, cheaply and with cached verdicts:
that resolved names still refer to the same objects (guards), that functions and methods
reached through the loop's inputs or items do nothing order-dependent, and that pulling
items ahead of the iterations is invisible. Each returns a reason in words, or None.
"""
from __future__ import annotations

import functools
import inspect
import threading
import types
import weakref

from xcs.analysis import Environment, effects
from xcs.analysis.effects import follow_chain
from xcs.environment import environment

_lock = threading.Lock()


def precheck(lp):
    """`check(body, args) -> reason | None`, run at each loop start: what the analysis resolved
    still resolves to the same objects (`self.fetch`, a global `fetch`, a closure's
    `client.get`), and no function among the loop's inputs (`parse = parser.parse_args`)
    prints, logs or changes shared state. None when there is nothing to check."""
    index = {name: k for k, name in enumerate(lp.inputs)}
    cells = {name: k for k, name in enumerate(lp.closure)}
    checks = tuple((kind, index.get(name) if kind == "local" else cells.get(name), name, chain, obj)
                   for kind, name, chain, obj in lp.guards)
    verdicts: dict = {}

    def check(body, args) -> str | None:
        for kind, k, name, chain, expected in checks:
            try:
                if kind == "local":
                    root = args[k]
                elif kind == "deref":
                    root = body.__closure__[k].cell_contents
                elif name in body.__globals__:
                    root = body.__globals__[name]
                else:
                    root = body.__builtins__[name]
                same = follow_chain(root, chain) is expected
            except Exception:  # noqa: BLE001 - anything unexpected: not proven for these objects
                same = False
            if not same:
                return f"`{name}` is not the object the analysis saw (rebound, or another class)"
        for value in args:
            if callable(value) and not isinstance(value, type):
                found = call_verdict(value, None, verdicts)
                if found:
                    return found
        for name, chain in lp.input_calls:
            try:
                receiver = follow_chain(args[index[name]], chain[:-1])
                method = follow_chain(receiver, chain[-1:])
            except Exception:  # noqa: BLE001 - found only when the call runs
                continue
            found = call_verdict(method, receiver, verdicts)
            if found:
                return found
        return None

    return check


def call_verdict(obj, receiver, verdicts: dict) -> str | None:
    """Why calling `obj` (found on `receiver`, if any) on a worker could change the result —
    it prints, logs, synchronises, draws random numbers or changes shared state — or None.
    Looks through `functools.partial`, bound methods, `__wrapped__` (`lru_cache`, decorators)
    and callable objects' `__call__`. Verdicts are cached in `verdicts`."""
    try:
        key = (obj, type(receiver))
        if key in verdicts:
            return verdicts[key]
    except TypeError:
        key = None
    verdict = _verdict(obj, receiver, depth=3)
    if key is not None and len(verdicts) < MAX_ITEM_TYPES:
        verdicts[key] = verdict
    return verdict


def _verdict(obj, receiver, depth) -> str | None:
    if depth <= 0:
        return None
    try:
        if obj in effects.ORDERED_OBJECTS or effects.is_ordered_callable(obj, Environment()):
            return f"`{effects.qualified_name(obj)}` is called in order"
        if effects.qualified_name_or_empty(obj) in effects.ARGUMENT_CHANGING:
            return f"`{effects.qualified_name(obj)}` changes its arguments"
        if isinstance(obj, functools.partial):
            return _verdict(obj.func, None, depth - 1)
        if isinstance(obj, types.MethodType):
            return _verdict(obj.__func__, obj.__self__, depth - 1)
        wrapped = getattr(obj, "__wrapped__", None) if not isinstance(obj, types.FunctionType) else None
        if wrapped is not None:
            return _verdict(wrapped, receiver, depth - 1)
        if not isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)) and callable(obj):
            call = inspect.getattr_static(type(obj), "__call__", None)
            if isinstance(call, types.FunctionType):
                return _verdict(call, obj, depth - 1)
        if isinstance(obj, types.FunctionType):
            arguments = {}
            if receiver is not None and obj.__code__.co_argcount:
                arguments = {obj.__code__.co_varnames[0]: receiver}
            found = effects.ordered_effects_in(obj, effects.binding(environment, obj, arguments))
            return f"`{obj.__qualname__}`, called by the loop: {found}" if found else None
        # Unknown means ordered: a C function or method (`append = out.append`) XCS cannot read.
        found = effects.opaque_call(obj, _known_environment(), True)
        if found:
            return found
    except Exception as error:  # noqa: BLE001 - cannot tell: keep the loop in order
        return f"XCS could not check a callable of the loop ({error!r})"
    return None


def _known_environment() -> Environment:
    """An environment that knows what the evidence registry trusts (blocking clients, `xcs.io`)."""
    env = environment(_known_environment)
    env.globals, env.closure = {}, {}
    return env


_UNCHECKED = object()
MAX_ITEM_TYPES = 256


def item_check(lp):
    """`check(item)`: why running the map part for `item` on a worker could change the
    result — a method it calls on the item (`model.predict`) prints, logs or changes shared
    state — or None. Decided once per item type (per function, for items that are functions)."""
    if not lp.item_calls:
        return None
    calls = lp.item_calls
    verdicts: dict = {}

    def check(item):
        try:
            parts = [_part(item, path) for path, _ in calls]
        except Exception:  # noqa: BLE001 - the body's own unpacking will fail the same way
            return None
        try:
            key = tuple(p if isinstance(p, types.FunctionType) else type(p) for p in parts)
            verdict = verdicts.get(key, _UNCHECKED)
        except TypeError:
            key, verdict = None, _UNCHECKED
        if verdict is _UNCHECKED:
            verdict = _item_verdict(parts, calls)
            if key is not None and len(verdicts) < MAX_ITEM_TYPES:
                verdicts[key] = verdict
        return verdict

    return check


def _part(item, path):
    for k in path:
        item = item[k]
    return item


def _item_verdict(parts, calls) -> str | None:
    verdicts: dict = {}
    for part, (_, chain) in zip(parts, calls):
        try:
            receiver = follow_chain(part, chain[:-1]) if chain else None
            obj = follow_chain(part, chain)
        except Exception:  # noqa: BLE001 - resolved only at run time by the call itself
            continue
        found = call_verdict(obj, receiver, verdicts)
        if found:
            return found
    return None


_hazards: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def iterable_check(lp):
    """`check(iterator)` for loop `lp`: `iterable_hazard`, and for a loop that replaces values
    of the dict it iterates (`for k in d: d[k] = fetch(k)`), that the iterator walks the keys
    (or items) of a plain dict — a store at an existing key keeps a dict's size, so the plain loop could
    not fail on it; a dict subclass's `__setitem__`, or a list's `xs[k] = ...` (a later item),
    could change what later items are."""
    if not lp.replaces_iterated_values:
        return iterable_hazard

    def check(iterator) -> str | None:
        if type(iterator) not in _DICT_ITERATORS or type(_iterated_dict(iterator)) is not dict:
            return "the loop stores into the object it iterates, which is not a plain dict"
        return iterable_hazard(iterator)

    return check


_DICT_ITERATORS = (type(iter({})), type(iter({}.keys())), type(iter({}.items())))


def _iterated_dict(iterator):
    """The dict a dict key or item iterator walks (CPython's iterator holds it, and for items
    a reused result tuple), or None."""
    import gc

    found = [o for o in gc.get_referents(iterator) if isinstance(o, dict)]
    return found[0] if len(found) == 1 else None


def iterable_hazard(iterable) -> str | None:
    """Why `iterable` must not be pulled ahead of the loop body, or None.

    XCS pulls items ahead of the iterations running them. That is invisible unless pulling
    has visible effects or invalidates earlier items: `itertools.groupby` groups die at the
    next pull, and a generator (or a `map`/`filter` function) that prints or changes shared
    state would do so earlier than the plain loop. Wrappers (`enumerate`, `zip`, `map`,
    `filter`) are looked through."""
    try:
        return _hazard(iterable, depth=4)
    except Exception as error:  # noqa: BLE001 - cannot tell: keep the loop in order
        return f"XCS could not inspect the iterable ({error!r})"


def _hazard(iterable, depth) -> str | None:
    import itertools

    if depth <= 0:
        return None
    if type(iterable) is itertools.groupby:
        return "the groups of itertools.groupby are valid only until its next item is pulled"
    if isinstance(iterable, types.GeneratorType):
        return _code_hazard(iterable.gi_code, iterable.gi_frame)
    if type(iterable) in (enumerate, zip, map, filter):
        _, parts = iterable.__reduce__()[:2]
        for part in parts:
            if isinstance(part, types.FunctionType):
                found = _function_hazard(part)
            else:
                found = _hazard(part, depth - 1)
            if found:
                return found
    return None


def _function_hazard(func) -> str | None:
    found = effects.ordered_effects_in(func, environment)
    return f"pulling an item runs `{func.__qualname__}`, which {found}" if found else None


class _GeneratorCode:
    """What the analysis needs of a function, for a running generator's code."""

    def __init__(self, code, frame):
        self.__code__ = code
        self.__globals__ = frame.f_globals if frame is not None else {}
        self.__closure__ = None
        self.__qualname__ = code.co_qualname
        self.__module__ = self.__globals__.get("__name__")


def _code_hazard(code, frame) -> str | None:
    if frame is None:
        return None          # finished: pulling runs nothing
    with _lock:
        if code in _hazards:
            return _hazards[code]
    found = _function_hazard(_GeneratorCode(code, frame))
    with _lock:
        _hazards[code] = found
    return found
