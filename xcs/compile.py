"""Turn a function into its parallel variant, once per code object and options.

This is where the layers meet: analysis proves which loops may run in parallel, the
evidence layer's `LoopRunner` decides at run time whether they should, the transform builds
the variant code. Any failure leaves the function's original code in place.
"""
from __future__ import annotations

import functools
import inspect
import logging
import threading
import types
import weakref
from dataclasses import dataclass, field

from xcs import pyversion
from xcs.analysis import Environment, analyze
from xcs.analysis.effects import follow_chain
from xcs.report import LoopReport

log = logging.getLogger("xcs")

COMPREHENSIONS = ("<listcomp>", "<setcomp>", "<dictcomp>")


@dataclass
class Compiled:
    """The outcome for one (code object, options): the variant (or None) and its reports."""

    variant: types.CodeType | None
    reports: list = field(default_factory=list)
    runners: list = field(default_factory=list)
    listeners: list = field(default_factory=list)

    def all_sequential(self) -> bool:
        """True once every parallel-capable loop was decided sequential at run time."""
        decisions = [getattr(r, "decision", None) for r in self.runners]
        return bool(decisions) and all(d is not None and not d.parallel for d in decisions)


_lock = threading.RLock()
_cache: "weakref.WeakKeyDictionary[types.CodeType, dict]" = weakref.WeakKeyDictionary()


def environment(func, arguments: dict | None = None) -> Environment:
    """What the names in `func` refer to, for the analysis; `arguments` are a call's
    arguments by parameter name (methods of `self` resolve through them)."""
    code = func.__code__
    closure = dict(zip(code.co_freevars, func.__closure__ or ()))
    builtins_ = func.__globals__.get("__builtins__")
    env = Environment(globals=func.__globals__, closure=closure, extra_ordered=_registry_check("is_ordered"),
                      trusted=_registry_check("is_blocking"), arguments=dict(arguments or {}))
    if isinstance(builtins_, dict):
        env.builtins = builtins_
    elif isinstance(builtins_, types.ModuleType):
        env.builtins = vars(builtins_)
    return env


def _registry_check(name: str):
    """The evidence registry's `is_ordered` / `is_blocking`: the user's `xcs.io` and
    registrations reach the analysis without it knowing the evidence layer."""
    try:
        from xcs.evidence import registry
    except ImportError:
        return None
    check = getattr(registry, name, None)
    return check if callable(check) else None


def compile_function(func, policy="auto", max_workers=None, arguments: dict | None = None) -> Compiled:
    """The cached `Compiled` for `func` with these options (built on first request, with
    the arguments of the call that asked, if given: see `environment`)."""
    code = func.__code__
    key = (policy, max_workers)
    with _lock:
        per_code = _cache.setdefault(code, {})
        if key in per_code:
            return per_code[key]
    try:
        compiled = _build(func, code, policy, max_workers, arguments)
    except Exception as error:  # noqa: BLE001 - XCS must never break the user's function
        log.debug("xcs: %s left as written: %r", code.co_qualname, error)
        compiled = Compiled(None, [LoopReport(code.co_qualname, code.co_filename, code.co_firstlineno,
                                              "sequential", [f"XCS could not transform this function ({error!r})"])])
    with _lock:
        return _cache.setdefault(code, {}).setdefault(key, compiled)


def variant_code(func, policy="auto", max_workers=None) -> types.CodeType | None:
    """The variant code of `func` (same signature, cells and free variables) whose proven
    loops run in parallel, or None when there is nothing to parallelize or anything failed."""
    if not pyversion.SUPPORTED:
        return None
    return compile_function(func, policy, max_workers).variant


def all_reports() -> dict:
    """{code object: [LoopReport, ...]} for everything compiled so far."""
    with _lock:
        out = {}
        for code, per_code in list(_cache.items()):
            for compiled in per_code.values():
                out.setdefault(code, []).extend(compiled.reports)
        return out


def _build(func, code, policy, max_workers, arguments=None) -> Compiled:
    from xcs.transform.variant import build_variant

    env = environment(func, arguments)
    reports: list = []
    runners: list = []
    constants = {}
    compiled = Compiled(None, reports, runners)
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name in COMPREHENSIONS:
            inner = _build_code(const, env, policy, max_workers, compiled)
            if inner is not None:
                constants[const] = inner
    facts = analyze(code, env)
    variant_runners = _runners(facts, code, policy, max_workers, compiled)
    if facts.refusal is not None:
        reports.append(LoopReport(code.co_qualname, code.co_filename, facts.refusal.line, "sequential",
                                  [facts.refusal.words()]))
        return compiled
    if variant_runners or constants:
        compiled.variant = build_variant(facts, variant_runners, constants)
    return compiled


def _build_code(code, env, policy, max_workers, compiled):
    from xcs.transform.variant import build_variant

    facts = analyze(code, env)
    runners = _runners(facts, code, policy, max_workers, compiled)
    return build_variant(facts, runners) if runners else None


def _runners(facts, code, policy, max_workers, compiled) -> dict:
    from xcs.evidence.runner import LoopRunner
    from xcs.evidence.site import LoopSite
    from xcs.transform.variant import chosen_loops

    chosen = {lp.for_iter for lp in chosen_loops(facts)} if policy is not False else set()
    runners = {}
    for lp in facts.loops:
        in_order = _in_order(lp)
        if lp.for_iter in chosen:
            site = LoopSite(code.co_qualname, code.co_filename, lp.line or code.co_firstlineno, lp.for_iter)
            runner = LoopRunner(site, policy=policy, max_workers=max_workers,
                                on_decided=lambda _r, c=compiled: _decided(c), precheck=_precheck(lp),
                                item_check=_item_check(lp), iterable_check=iterable_hazard)
            runners[lp.for_iter] = runner
            compiled.runners.append(runner)
            compiled.reports.append(LoopReport(code.co_qualname, code.co_filename, lp.line,
                                               "parallel" if policy is True else "undecided",
                                               [r.words() for r in lp.reasons], in_order, runner))
        else:
            reasons = [r.words() for r in lp.reasons]
            if policy is False:
                reasons = ["parallel=False was requested"]
            elif lp.nested_in in chosen:
                reasons = [f"inside the parallel loop at line {_outer_line(facts, lp)}; runs within each of its iterations"]
            compiled.reports.append(LoopReport(code.co_qualname, code.co_filename, lp.line, "sequential", reasons))
    return runners


def _precheck(lp):
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
    from xcs.analysis import effects

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
    from xcs.analysis import effects

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


def _item_check(lp):
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
    from xcs.analysis import effects

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


def _outer_line(facts, lp):
    by_index = {o.for_iter: o for o in facts.loops}
    outer = by_index.get(lp.nested_in)
    return outer.line if outer is not None else "?"


def _in_order(lp) -> list:
    return [f"line {st.line}" for st in lp.statements if st.kind == "commit"]


def _decided(compiled: Compiled) -> None:
    if compiled.all_sequential():
        for listener in list(compiled.listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001
                log.debug("xcs: listener failed", exc_info=True)
