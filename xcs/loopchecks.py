"""Checks a parallel-capable loop runs when it starts and as items arrive.

The analysis proves a loop safe for the objects it could see when the function was first
compiled. These checks cover what it could only see later, cheaply and with cached verdicts:
that resolved names still refer to the same objects (guards), that functions and methods
reached through the loop's inputs or items do nothing order-dependent, and that pulling
items ahead of the iterations is invisible. Each returns a reason in words, or None.
"""
from __future__ import annotations

import builtins
import functools
import inspect
import logging
import threading
import types
import weakref

from xcs.analysis import Environment, effects
from xcs.analysis.effects import follow_chain
from xcs.environment import environment
from xcs.sourcepaths import is_library_file

log = logging.getLogger("xcs")

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
    # What the verdicts on those objects rested on, a few calls deep: the functions' code,
    # the globals, module attributes, class attributes and closure cells their code reads.
    deep = watch([obj for *_, obj in lp.guards])
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
        changed = stale(deep)
        if changed:
            return changed
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
        cached = verdicts.get(key)
    except TypeError:
        key = cached = None
    if cached is not None and stale(cached[1]) is None:
        return cached[0]
    verdict = _verdict(obj, receiver, depth=3)
    if key is not None and (key in verdicts or len(verdicts) < MAX_ITEM_TYPES):
        verdicts[key] = (verdict, watch([obj], receiver))
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
    except Exception as error:  # noqa: BLE001 - cannot tell: keep the loop in order
        return f"XCS could not check a callable of the loop ({error!r})"
    return None


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
            key = tuple(p if isinstance(p, types.FunctionType) else (type(p), _resolved(p, chain))
                        for p, (_, chain) in zip(parts, calls))
            cached = verdicts.get(key)
        except TypeError:
            key, cached = None, None
        if cached is not None and stale(cached[1]) is None:
            return cached[0]
        verdict = _item_verdict(parts, calls)
        if key is not None and (key in verdicts or len(verdicts) < MAX_ITEM_TYPES):
            verdicts[key] = (verdict, _item_watch(parts, calls))
        return verdict

    return check


def _resolved(part, chain):
    """What `part.chain` resolves to (the class's function for a method), or None."""
    try:
        return follow_chain(part, chain)
    except Exception:  # noqa: BLE001 - resolved only when the call runs
        return None


def _item_watch(parts, calls) -> tuple:
    entries = ()
    for part, (_, chain) in zip(parts, calls):
        obj = _resolved(part, chain)
        if obj is not None:
            entries += watch([obj], _resolved(part, chain[:-1]) if chain else None)
    return entries


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


# ----------------------------------------------------------------- guards a few calls deep
#
# A verdict on a function rests on more than the function object: on its code, and on what
# the names its code reads resolve to — globals (a `mock.patch` target), attributes of
# modules and classes (`Model.predict = noisy_predict`), closure cells (a `nonlocal`
# rebinding). `watch` records those as (kind, holder, name, object) entries when the verdict
# is reached, following functions as deep as the effect scan does; `stale` re-reads them
# with dictionary lookups and identity comparisons (TorchDynamo's guards: identity of the
# object, of its `__code__`, of what a name resolves to). Plain data (numbers, strings,
# containers) is not recorded: rebinding it does not change what a call does.

_DICT, _MRO, _CODE, _CELL = range(4)
_MISSING = object()
MAX_WATCHED = 512
_DATA = (int, float, complex, str, bytes, bytearray, bool, type(None), list, dict, set, frozenset, tuple)


def watch(roots, receiver=None, depth: int = 4) -> tuple:
    """The entries a verdict on the callables `roots` (called on `receiver`, if any) rests on."""
    entries: list = []
    seen: set = set()
    keep: list = []   # keeps visited objects alive, so their ids stay theirs while walking
    builtins_ = vars(builtins)

    def add(kind, holder, name, value):
        if len(entries) < MAX_WATCHED:
            entries.append((kind, holder, name, value))

    def walk(obj, depth, receiver=None):
        if depth <= 0 or len(entries) >= MAX_WATCHED or id(obj) in seen:
            return
        seen.add(id(obj))
        keep.append(obj)
        if isinstance(obj, functools.partial):
            walk(obj.func, depth)
        elif isinstance(obj, types.MethodType):
            walk(obj.__func__, depth, obj.__self__)
        elif isinstance(obj, types.FunctionType):
            function(obj, depth, receiver)
        elif isinstance(obj, type):
            for name in ("__init__", "__new__", "__call__"):
                found = _mro_lookup(obj, name)
                if isinstance(found, types.FunctionType):
                    add(_MRO, obj, name, found)
                    walk(found, depth - 1)
        elif callable(obj) and not isinstance(obj, (types.BuiltinFunctionType, types.BuiltinMethodType)):
            call = _mro_lookup(type(obj), "__call__")
            if isinstance(call, types.FunctionType):
                add(_MRO, type(obj), "__call__", call)
                walk(call, depth, obj)

    def function(fn, depth, receiver):
        code = fn.__code__
        add(_CODE, fn, None, code)
        wrapped = fn.__dict__.get("__wrapped__") if isinstance(getattr(fn, "__dict__", None), dict) else None
        if wrapped is not None:
            walk(wrapped, depth - 1)
        if is_library_file(code.co_filename):
            return   # library code: its own names are its business (as in the effect scan)
        names = _names(code)
        globals_ = fn.__globals__
        builtins_of = globals_.get("__builtins__", builtins_)
        builtins_of = vars(builtins_of) if isinstance(builtins_of, types.ModuleType) else builtins_of
        for name in names:
            if name in globals_:
                value = globals_[name]
                if not isinstance(value, _DATA):
                    add(_DICT, globals_, name, value)
                    follow(value, names, depth - 1)
            elif isinstance(builtins_of, dict) and name in builtins_of:
                add(_DICT, globals_, name, _MISSING)   # a module global may come to shadow it
                add(_DICT, builtins_of, name, builtins_of[name])
        for cell in fn.__closure__ or ():
            value = _cell(cell)
            if not isinstance(value, _DATA):
                add(_CELL, cell, None, value)
                follow(value, names, depth - 1)
        if receiver is not None:
            follow(receiver, names, depth - 1)

    def follow(value, names, depth):
        """Record what the attribute names a function reads resolve to on `value`."""
        if depth <= 0:
            return
        if isinstance(value, types.ModuleType):
            space = vars(value)
            for name in names:
                if name in space and not isinstance(space[name], _DATA):
                    add(_DICT, space, name, space[name])
                    walk(space[name], depth)
            return
        if isinstance(value, (types.FunctionType, types.MethodType, functools.partial)):
            walk(value, depth)
            return
        cls = value if isinstance(value, type) else type(value)
        if cls.__module__ == "builtins":
            walk(value, depth)
            return
        for name in names:
            found = _mro_lookup(cls, name)
            if found is not _MISSING:
                add(_MRO, cls, name, found)
                if isinstance(found, (staticmethod, classmethod)):
                    found = found.__func__
                walk(found, depth, None if value is cls else value)
        walk(value, depth)

    for root in roots:
        try:
            walk(root, depth, receiver)
        except Exception:  # noqa: BLE001 - an exotic object: guarded by identity only
            log.debug("xcs: could not record what %r depends on", root, exc_info=True)
    return tuple(entries)


def stale(entries) -> str | None:
    """Words naming the first entry that no longer holds, or None."""
    for kind, holder, name, expected in entries:
        if kind == _DICT:
            now = holder.get(name, _MISSING)
        elif kind == _MRO:
            now = _mro_lookup(holder, name)
        elif kind == _CODE:
            now = holder.__code__
        else:
            now = _cell(holder)
        if now is not expected:
            return _stale_words(kind, holder, name)
    return None


def _stale_words(kind, holder, name) -> str:
    if kind == _CODE:
        return f"the code of `{getattr(holder, '__qualname__', holder)}` was replaced after the analysis"
    if kind == _MRO:
        return f"`{getattr(holder, '__qualname__', holder)}.{name}` is not the attribute the analysis saw"
    if kind == _CELL:
        return "a closure variable of a function the loop calls was rebound after the analysis"
    owner = holder.get("__name__", "?") if isinstance(holder, dict) else "?"
    return f"`{owner}.{name}` is not the object the analysis saw (rebound or patched)"


def _mro_lookup(cls, name):
    try:
        for klass in cls.__mro__:
            space = klass.__dict__
            if name in space:
                return space[name]
    except Exception:  # noqa: BLE001 - an exotic metaclass
        pass
    return _MISSING


def _cell(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _MISSING


def _names(code) -> frozenset:
    """The global and attribute names `code` and the code nested in it read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return frozenset(names)


_hazards: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


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
