"""Analysis: read a code object's bytecode and say which `for` loops may run in parallel.

`analyze(code, env)` returns `FunctionFacts`: the normalized instructions and, for each
loop, `LoopFacts` with the map/commit split or the reasons it stays sequential. It never
mutates or executes the code it reads.

May import only the foundation modules (`xcs.pyversion`, `xcs.sourcepaths`, `xcs.config`)
and `bytecode`; no other layer.
"""
from __future__ import annotations

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
    items = list(normalize(code))
    try:
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
        loops.append(facts)
    loops += _async_for_loops(items)
    return FunctionFacts(code=code, items=tuple(items), loops=tuple(loops))


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
    """A sequential `LoopFacts` per `async for` (GET_AITER ... END_ASYNC_FOR), so that
    `explain` names it: its items come from awaits and are never pulled ahead."""
    out = []
    for i, item in enumerate(items):
        if getattr(item, "name", None) == "GET_AITER":
            line = item.lineno
            out.append(LoopFacts(line=line, for_iter=i, head=i, exit=i, iter_insert=i, base_depth=0, parallel=False,
                                 reasons=(Refusal("async-for", line, "async for"),)))
    return out


def _replace(facts, **changes):
    from dataclasses import replace

    return replace(facts, **changes)
