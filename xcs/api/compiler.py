"""Turn a function into its parallel variant, once per code object and options.

This is where the layers meet: analysis proves which loops may run in parallel, the
evidence layer's `LoopRunner` decides at run time whether they should, the transform builds
the variant code. Any failure leaves the function's original code in place.
"""
from __future__ import annotations

import dis
import functools
import logging
import threading
import types
import weakref
from dataclasses import dataclass, field

from xcs import pyversion
from xcs.evidence import guards, speculation
from xcs.analysis import analyze
from xcs.evidence.environment import environment
from xcs.api.predict import static_prediction
from xcs.runtime.turns import take_turn
from xcs.api.report import LoopReport
from xcs.api.words import speculation_words, turn_words, words

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


FOR_ITER = bytes([dis.opmap["FOR_ITER"]])
GET_ANEXT = bytes([dis.opmap["GET_ANEXT"]])   # the pull of an `async for`


def has_loop(code: types.CodeType) -> bool:
    """True when `code` or a comprehension in it has a `for` (or `async for`) loop: the only
    code worth compiling (a quick scan of the opcodes, so auto-mode keeps nothing for other code)."""
    ops = code.co_code[::2]
    if FOR_ITER in ops or GET_ANEXT in ops:
        return True
    return any(isinstance(c, types.CodeType) and c.co_name in COMPREHENSIONS and has_loop(c) for c in code.co_consts)


_lock = threading.RLock()


class _ByIdentity:
    """{code object: value}, held weakly and keyed by identity. Code objects compare equal
    when only their file differs (the same text at the same line in two modules): a
    `WeakKeyDictionary` would hand one function the variant and the reports compiled for
    the other."""

    def __init__(self):
        self._entries: dict = {}   # id(code) -> (weakref to code, value)

    def setdefault(self, code, default):
        entry = self._entries.get(id(code))
        if entry is not None and entry[0]() is code:
            return entry[1]
        key = id(code)
        self._entries[key] = (weakref.ref(code, lambda _ref, key=key: self._forget(key, _ref)), default)
        return default

    def _forget(self, key, ref) -> None:
        with _lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is ref:
                del self._entries[key]

    def items(self):
        out = []
        for ref, value in list(self._entries.values()):
            code = ref()
            if code is not None:
                out.append((code, value))
        return out


_cache = _ByIdentity()


def compile_function(func, policy="auto", max_workers=None, arguments: dict | None = None,
                     executor=None, speculate: bool = False) -> Compiled:
    """The cached `Compiled` for `func` with these options (built on first request, with
    the arguments of the call that asked, if given: see `environment`). `executor` (None:
    the process-wide setting at each loop start) is where the loops' map parts run.
    `speculate` lets loops that may `break`/`return` run any call speculatively
    (docs/speculation.md)."""
    code = func.__code__
    key = (policy, max_workers)
    if executor is not None:
        key += (executor,)
    if speculate:
        key += ("speculate",)
    with _lock:
        per_code = _cache.setdefault(code, {})
        if key in per_code:
            return per_code[key]
    try:
        compiled = _build(func, code, policy, max_workers, arguments, speculate)
    except Exception as error:  # noqa: BLE001 - XCS must never break the user's function
        log.debug("xcs: %s left as written: %r", code.co_qualname, error)
        compiled = Compiled(None, [LoopReport(code.co_qualname, code.co_filename, code.co_firstlineno,
                                              "sequential", [f"XCS could not transform this function ({error!r})"])])
    for runner in compiled.runners:
        runner.executor = executor
    with _lock:
        return _cache.setdefault(code, {}).setdefault(key, compiled)


def all_reports() -> dict:
    """{code object: [LoopReport, ...]} for everything compiled so far."""
    with _lock:
        out = {}
        for code, per_code in _cache.items():
            for compiled in per_code.values():
                out.setdefault(code, []).extend(compiled.reports)
        return out


def _build(func, code, policy, max_workers, arguments=None, speculate=False) -> Compiled:
    from xcs.transform.variant import build_variant

    env = environment(func, arguments)
    reports: list = []
    runners: list = []
    constants = {}
    compiled = Compiled(None, reports, runners)
    facts = speculation.apply(analyze(code, env), speculate)
    # Over the budget: the variant would have to be built from the whole function.
    too_large = facts.refusal is not None and facts.refusal.kind == "too-large"
    for const in () if too_large else code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name in COMPREHENSIONS:
            inner = _build_code(const, env, policy, max_workers, compiled)
            if inner is not None:
                constants[const] = inner
    variant_runners = _runners(facts, code, policy, max_workers, compiled, speculate)
    if facts.refusal is not None:
        if not facts.loops:   # the loops' reports carry the refusal when there are any
            reports.append(LoopReport(code.co_qualname, code.co_filename, facts.refusal.line, "sequential",
                                      [words(facts.refusal)], refusals=[facts.refusal]))
        return compiled
    if variant_runners or constants:
        compiled.variant = build_variant(facts, variant_runners, constants, take_turn)
        for report in reports:
            if report.runner is not None:
                # Weakly: the function holds its code, the key of the cache that holds this report.
                report.predictor = functools.partial(_predict, weakref.ref(func), weakref.ref(compiled), report.runner)
    return compiled


def _predict(func_ref, compiled_ref, runner):
    func, compiled = func_ref(), compiled_ref()
    if func is None or compiled is None or compiled.variant is None:
        return None
    return static_prediction(func, compiled.variant, runner)


def _build_code(code, env, policy, max_workers, compiled):
    from xcs.transform.variant import build_variant

    facts = analyze(code, env)
    runners = _runners(facts, code, policy, max_workers, compiled)
    return build_variant(facts, runners, take_turn=take_turn) if runners else None


def _runners(facts, code, policy, max_workers, compiled, speculate=False) -> dict:
    from xcs.evidence.aio import AsyncLoopRunner
    from xcs.evidence.runner import LoopRunner
    from xcs.evidence.site import LoopSite
    from xcs.transform.variant import chosen_loops

    chosen = {lp.for_iter for lp in chosen_loops(facts)} if policy is not False else set()
    runners = {}
    by_index = {o.for_iter: o for o in facts.loops}
    for lp in facts.loops:
        in_order = _in_order(lp)
        if lp.for_iter in chosen:
            site = LoopSite(code.co_qualname, code.co_filename, lp.line or code.co_firstlineno, lp.for_iter)
            make = AsyncLoopRunner if code.co_flags & pyversion.CO_COROUTINE else LoopRunner
            runner = make(site, policy=policy, max_workers=max_workers,
                                on_decided=lambda _r, c=weakref.ref(compiled): _decided(c()),
                                precheck=guards.precheck(lp),
                                item_check=guards.item_check(lp),
                                iterable_check=guards.iterable_check(lp),
                                exit_check=speculation.iterable_check(lp) if lp.exits else None)
            runners[lp.for_iter] = runner
            compiled.runners.append(runner)
            compiled.reports.append(LoopReport(code.co_qualname, code.co_filename, lp.line,
                                               "parallel" if policy is True else "undecided",
                                               [words(r) for r in lp.reasons], in_order, runner,
                                               list(lp.reasons), speculation=speculation_words(lp, speculate)))
        else:
            reasons, refusals = [words(r) for r in lp.reasons], list(lp.reasons)
            if policy is False:
                reasons, refusals = ["parallel=False was requested"], []
            elif lp.nested_in in chosen:
                reasons = [f"inside the parallel loop at line {_outer_line(by_index, lp)}; runs within each of its iterations"]
                refusals = []
            compiled.reports.append(LoopReport(code.co_qualname, code.co_filename, lp.line, "sequential", reasons,
                                               refusals=refusals))
    return runners


def _outer_line(by_index, lp):
    outer = by_index.get(lp.nested_in)
    return outer.line if outer is not None else "?"


def _in_order(lp) -> list:
    return [f"line {st.line}" for st in lp.statements if st.kind == "commit"] + \
        [turn_words(call) for call in lp.turned_calls] + \
        [f"line {st.line} from its first ordered effect on (it takes its turn there)" for st in lp.statements
         if st.kind == "map" and any(st.start <= p < st.stop or any(lo <= p < hi for lo, hi in st.handlers)
                                     for p in lp.turn_points)]


def _decided(compiled: Compiled | None) -> None:
    # Runners hold their Compiled weakly: the variant code holds its runners in its constants,
    # and code objects are not tracked by the cycle collector, so a strong reference back
    # would keep the variant, its analysis and its runners alive forever.
    if compiled is not None and compiled.all_sequential():
        for listener in list(compiled.listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001
                log.debug("xcs: listener failed", exc_info=True)
