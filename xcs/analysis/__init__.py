"""Analysis: read a code object's bytecode and say which `for` loops may run in parallel.

`analyze(code, env)` returns `FunctionFacts`: the normalized instructions and, for each
loop, `LoopFacts` with the map/commit split or the reasons it stays sequential. It never
mutates or executes the code it reads.
"""
from __future__ import annotations

from xcs.analysis.effects import Environment
from xcs.analysis.facts import FunctionFacts, Hoist, LoopFacts, Statement
from xcs.analysis.flow import FlowError, build_flow
from xcs.analysis.loops import find_loops
from xcs.analysis.normalize import normalize
from xcs.analysis.refusal import Refusal
from xcs.analysis.split import LoopAnalysis

__all__ = ["analyze", "Environment", "FunctionFacts", "LoopFacts", "Statement", "Hoist", "Refusal"]

SUSPENDABLE = 0x20 | 0x80 | 0x100 | 0x200  # CO_GENERATOR, CO_COROUTINE, CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR


def analyze(code, env: Environment | None = None) -> FunctionFacts:
    """Facts about every `for` loop of `code` (a function's or a comprehension's code object)."""
    env = env or Environment()
    if code.co_flags & SUSPENDABLE:
        line = code.co_firstlineno
        return FunctionFacts(code=code, refusal=Refusal("generator", line, code.co_name))
    items = list(normalize(code))
    try:
        flow = build_flow(items)
    except FlowError as error:
        return FunctionFacts(code=code, items=tuple(items),
                             refusal=Refusal("control-flow", code.co_firstlineno, str(error)))
    loops = []
    shapes = find_loops(flow)
    for shape in shapes:
        try:
            facts = LoopAnalysis(flow, shape, env, code).facts()
        except Exception as error:  # noqa: BLE001 - refusing is always safe
            line = getattr(items[shape.for_iter], "lineno", None)
            facts = LoopFacts(line=line, for_iter=shape.for_iter, head=shape.head, exit=shape.exit,
                              iter_insert=shape.iter_insert, base_depth=0, parallel=False,
                              reasons=(Refusal("internal", line, f"{type(error).__name__}: {error}"),))
        enclosing = [o.for_iter for o in shapes if o.for_iter < shape.for_iter < o.exit]
        if enclosing:
            facts = _replace(facts, nested_in=max(enclosing))
        loops.append(facts)
    return FunctionFacts(code=code, items=tuple(items), loops=tuple(loops))


def _replace(facts, **changes):
    from dataclasses import replace

    return replace(facts, **changes)
