"""Analysis: read a code object's bytecode and say which `for` loops may run in parallel.

`analyze(code, env)` returns `FunctionFacts`: the normalized instructions and, for each
loop, `LoopFacts` with the map/commit split or the reasons it stays sequential. It never
mutates or executes the code it reads.

May import only the foundation modules (`xcs.pyversion`, `xcs.sourcepaths`, `xcs.config`)
and `bytecode`; no other layer.
"""
from __future__ import annotations

from xcs.analysis.asyncfor import as_for_loops
from xcs.analysis.budget import too_large
from xcs.analysis.effects import Environment
from xcs.analysis.facts import FunctionFacts, Hoist, LoopFacts, Statement
from xcs.analysis.flow import FlowError, build_flow
from xcs.analysis.loops import find_loops
from xcs.analysis.normalize import normalize
from xcs.analysis.refusal import Refusal
from xcs.analysis.split import LoopAnalysis
from xcs.analysis.with_blocks import rewrite as rewrite_with_blocks

__all__ = ["analyze", "Environment", "FunctionFacts", "LoopFacts", "Statement", "Hoist", "Refusal"]

SUSPENDABLE = 0x20 | 0x80 | 0x100 | 0x200  # CO_GENERATOR, CO_COROUTINE, CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR
# Coroutines (`async def`) are analysed: their loops' iterations may run as tasks. Generators
# and async generators stay as written (their loops run between the consumer's requests).
GENERATORS = 0x20 | 0x100 | 0x200


def analyze(code, env: Environment | None = None) -> FunctionFacts:
    """Facts about every `for` loop of `code` (a function's or a comprehension's code object).

    A function over the budget (`budget.MAX_INSTRUCTIONS`) is not read: its facts carry the
    refusal "too-large", and so does each of its loops. A `with` over a known response whose
    last statement is in order is first rewritten in the instruction list (`with_blocks`), and
    `FunctionFacts.items` are the rewritten instructions the transform builds from."""
    env = env or Environment()
    if code.co_flags & GENERATORS:
        line = code.co_firstlineno
        return FunctionFacts(code=code, refusal=Refusal("generator", line, code.co_name))
    over_budget = too_large(code)   # before normalizing: that alone is linear in the size
    if over_budget is not None:
        return over_budget
    original = list(normalize(code))
    items, restore = as_for_loops(original)
    try:
        try:
            flow = build_flow(items)
        except FlowError:
            if not restore:
                raise
            items, restore = original, {}   # the `for` shape of an `async for` is not understood
            flow = build_flow(items)
    except FlowError as error:
        return FunctionFacts(code=code, items=tuple(items),
                             refusal=Refusal("control-flow", code.co_firstlineno, str(error)))
    shapes = find_loops(flow)
    moves = _with_moves(flow, shapes, env, code)
    if moves:
        # A `with` over a known response whose last statement is in order: that statement
        # moves after the `with` (`with_blocks`), and the loops are read again.
        items = rewrite_with_blocks(items, moves)
        try:
            flow = build_flow(items)
        except FlowError as error:
            return FunctionFacts(code=code, items=tuple(items),
                                 refusal=Refusal("control-flow", code.co_firstlineno, str(error)))
        shapes = find_loops(flow)
    loops = []
    shared: dict = {}   # facts about the whole function, computed once for all its loops
    open_loops: list = []
    for shape in shapes:
        try:
            facts = LoopAnalysis(flow, shape, env, code, shared).facts()
        except Exception as error:  # noqa: BLE001 - refusing is always safe
            line = getattr(items[shape.for_iter], "lineno", None)
            facts = LoopFacts(line=line, for_iter=shape.for_iter, head=shape.head, exit=shape.exit,
                              iter_insert=shape.iter_insert, base_depth=0, parallel=False,
                              reasons=(Refusal("internal", line, f"{type(error).__name__}: {error}"),))
        # The innermost enclosing loop: the latest one whose body reaches past this loop's
        # head. `shapes` is in instruction order; a loop whose exit is at or before this head
        # encloses no later loop either.
        while open_loops and open_loops[-1].exit <= shape.for_iter:
            open_loops.pop()
        if open_loops:
            facts = _replace(facts, nested_in=open_loops[-1].for_iter)
        open_loops.append(shape)
        if id(items[shape.for_iter]) in restore:
            facts = _replace(facts, pulls_async=True)
        loops.append(facts)
    loops = _around_async_for(loops, items, restore)
    loops += _async_for_loops(items)
    return FunctionFacts(code=code, items=tuple(items), loops=tuple(loops), restore=restore)


def _around_async_for(loops: list, items, restore: dict) -> list:
    """A loop whose body holds an `async for` stays in order: the inner loop's pulls are
    awaits of the iteration, on a source XCS does not see at the outer loop's start."""
    if not restore:
        return loops
    inner = [lp for lp in loops if lp.pulls_async]
    out = []
    for lp in loops:
        held = next((o for o in inner if o is not lp and lp.for_iter < o.for_iter < lp.exit), None)
        if held is not None:
            lp = _replace(lp, parallel=False,
                          reasons=(*lp.reasons, Refusal("async-for", held.line, "the `async for` in the loop body")))
        out.append(lp)
    return out


def _with_moves(flow, shapes, env, code) -> list:
    """The `with_blocks.Move`s of the function's loops (each `with` once)."""
    found: dict = {}
    shared: dict = {}
    for shape in shapes:
        if not any(getattr(flow.items[i], "name", None) == "BEFORE_WITH" for i in shape.body):
            continue
        try:
            for move in LoopAnalysis(flow, shape, env, code, shared).with_moves():
                found.setdefault(move.start, move)
        except Exception:  # noqa: BLE001 - not understood: nothing moves
            continue
    return sorted(found.values(), key=lambda m: m.start)


def _async_for_loops(items) -> list:
    """A sequential `LoopFacts` per `async for` left as written (GET_AITER ... END_ASYNC_FOR:
    one whose body holds another `async for`, an async comprehension), so that `explain`
    names it. `async for` loops of the statement shape are analysed (`asyncfor.as_for_loops`)."""
    out = []
    aiters = [i for i, item in enumerate(items) if getattr(item, "name", None) == "GET_AITER"]
    for n, i in enumerate(aiters):
        line = items[i].lineno
        holds = any(items[j].lineno is not None and items[j].lineno > line for j in aiters[n + 1:])
        name = "an `async for` whose body holds another `async for`" if holds else "this `async for` (an async comprehension)"
        out.append(LoopFacts(line=line, for_iter=i, head=i, exit=i, iter_insert=i, base_depth=0, parallel=False,
                             reasons=(Refusal("async-for", line, name),)))
    return out


def _replace(facts, **changes):
    from dataclasses import replace

    return replace(facts, **changes)
