"""The public decorator and introspection: `jit` and `explain`.

`@xcs.jit` makes a function whose proven-safe `for` loops run their iterations on a
thread pool, with exactly the results of sequential execution. `xcs.explain(fn)` lists
every loop with its status and, for sequential ones, the reasons.
"""
from __future__ import annotations

import functools
import inspect
import types

from xcs.api import compiler
from xcs import config
from xcs.transform import trampoline
from xcs.analysis import GENERATORS
from xcs.api.report import Reports

POLICIES = config.POLICIES
_NO_FUNCTION = object()   # `@xcs.jit(...)` with options: the function comes in the next call


def jit(fn=_NO_FUNCTION, *, parallel="auto", max_workers: int | None = None, executor=None,
        speculate: bool = False):
    """Parallelize the I/O-bound loops of `fn`.

    Use as `@xcs.jit` or `@xcs.jit(parallel=..., max_workers=...)`. `parallel="auto"` lets
    evidence decide (known blocking calls, else a probe of the first iteration); `True`
    asserts the loops are worth running in parallel (the safety analysis still applies);
    `False` never parallelizes. `max_workers` bounds the threads of each loop (the
    iterations in flight). `executor` is where the map parts run: "threads", "processes", a
    `dask.distributed.Client` or a `concurrent.futures.Executor` (None: `xcs.configure`'s,
    see docs/executors.md). `speculate=True` lets loops that may `break` or `return` run
    later iterations' calls before the exit is known whatever they call (by default only
    calls known to only read: docs/speculation.md). Returns a
    function with the same name, docstring, signature and behaviour. With `XCS_DISABLE=1`
    it returns `fn` itself. Options are validated here, once (`xcs.config.Options`): a wrong
    one raises TypeError/ValueError at decoration, never inside the decorated function.
    """
    config.jit_options(parallel, max_workers, executor, speculate)   # TypeError/ValueError here, never in the loop
    options = dict(parallel=parallel, max_workers=max_workers, executor=executor, speculate=speculate)
    if fn is _NO_FUNCTION:
        return functools.partial(jit, **options)
    if fn is None:
        raise TypeError("xcs.jit(None): expected a function to decorate; write `@xcs.jit` above a def, "
                        "or `xcs.jit(fn)` / `xcs.jit(parallel=..., max_workers=...)(fn)`")
    if config.is_disabled():
        return fn
    if isinstance(fn, (staticmethod, classmethod)):
        return type(fn)(jit(fn.__func__, **options))
    if isinstance(fn, functools.partial):
        return functools.partial(jit(fn.func, **options),
                                 *fn.args, **fn.keywords)
    if not isinstance(fn, types.FunctionType):
        raise TypeError(f"xcs.jit expects a Python function, got {type(fn).__name__}")
    if fn.__code__.co_flags & GENERATORS:
        # Generators run their loops between suspensions: never parallelized, and a plain
        # trampoline cannot turn into one (3.13 deprecates that code swap). Coroutines get a
        # coroutine trampoline (their loops' iterations may run as tasks: xcs.runtime.aio).
        function = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        function.__kwdefaults__ = fn.__kwdefaults__
    else:
        first_call = functools.partial(_first_call, policy=parallel, max_workers=max_workers, executor=executor,
                                       speculate=speculate)
        function = trampoline.make(fn, first_call)
    functools.update_wrapper(function, fn)
    function.__xcs_original__ = fn
    function.__xcs_options__ = (parallel, max_workers, executor)
    function.__xcs_speculate__ = speculate
    return function


def _first_call(holder, args, kwargs, *, policy, max_workers, executor=None, speculate=False):
    """Compile on the first call (seeing its arguments, so `self.method` calls can be
    analysed); returns the function, now running the chosen code."""
    function, original = holder.function, holder.original
    compiled = compiler.compile_function(original, policy, max_workers, _bound(original, args, kwargs), executor,
                                         speculate=speculate)
    code = compiled.variant or original.__code__
    if compiled.variant is not None:
        compiled.listeners.append(lambda: _restore(function, original))
    function.__code__ = code
    if compiled.variant is not None and compiled.all_sequential():
        function.__code__ = original.__code__
    return function


def _bound(function, args, kwargs) -> dict:
    """The call's arguments by parameter name, or {} if they do not bind."""
    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return {}
    bound.apply_defaults()
    return dict(bound.arguments)


def _restore(function, original) -> None:
    """Evidence says no loop of this function is worth it: run the original code from now on."""
    function.__code__ = original.__code__


def explain(fn) -> list:
    """One `LoopReport` per `for` loop of `fn` (and of its comprehensions): line, status
    ("parallel", "sequential", or "undecided" until evidence is gathered on the first run) and
    reasons, with a hint of what to change for loops the analysis refused. `str(report)` is a
    readable line; the returned list prints one report a line."""
    original = getattr(fn, "__xcs_original__", None)
    options = getattr(fn, "__xcs_options__", ("auto", None, None))
    target = original or getattr(fn, "__func__", fn)
    if isinstance(target, functools.partial):
        target = target.func
    target = getattr(target, "__xcs_original__", target)
    if not isinstance(target, types.FunctionType):
        raise TypeError(f"xcs.explain expects a Python function, got {type(fn).__name__}")
    policy, max_workers, *executor = options
    speculate = getattr(fn, "__xcs_speculate__", False)
    return Reports(compiler.compile_function(target, policy, max_workers,
                                             executor=executor[0] if executor else None,
                                             speculate=speculate).reports)
