"""The analysis budget: how large a function XCS reads, and what it says about a larger one.

Analysing and transforming cost time linear in a function's instruction count (tens of
microseconds per instruction, most of it the `bytecode` library's), paid on the function's
first call. A function longer than `MAX_INSTRUCTIONS` is not read at all: each of its loops
is reported sequential with the refusal "too-large". The count comes from the raw bytes of
the code object, so deciding costs microseconds even for a body of 100,000 statements
(CPython's `test_sys_settrace.test_jump_extended_args_for_iter`).
"""
from __future__ import annotations

import bisect
import dis

from xcs import pyversion
from xcs.analysis.facts import FunctionFacts, LoopFacts
from xcs.analysis.refusal import Refusal

# Measured (3.11/3.12, 2 cores): normalizing and analysing 10,000 instructions takes
# 0.1-0.25 s, building the parallel variant 0.2-0.5 s more.
MAX_INSTRUCTIONS = 10_000

_CACHE = dis.opmap["CACHE"]
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
_FOR_ITER = dis.opmap["FOR_ITER"]
_FUSED = [dis.opmap[name] for name in pyversion.SUPERINSTRUCTIONS if name in dis.opmap]


def instruction_count(code) -> int:
    """How many instructions `normalize(code)` lists: code units that are neither inline
    caches nor EXTENDED_ARG, 3.13 superinstructions counted as their two halves."""
    ops = code.co_code[::2]   # co_code has its inline caches zeroed (CACHE is opcode 0)
    count = len(ops) - ops.count(_CACHE) - ops.count(_EXTENDED_ARG)
    return count + sum(ops.count(op) for op in _FUSED)


def too_large(code) -> FunctionFacts | None:
    """Facts for a function over the budget (every loop sequential, "too-large"), or None."""
    count = instruction_count(code)
    if count <= MAX_INSTRUCTIONS:
        return None
    name = f"{count:,} instructions (limit {MAX_INSTRUCTIONS:,})"
    loops = []
    for index, line in _for_iters(code):
        why = Refusal("too-large", line, name)
        loops.append(LoopFacts(line=line, for_iter=index, head=index, exit=index, iter_insert=index,
                               base_depth=0, parallel=False, reasons=(why,)))
    return FunctionFacts(code=code, loops=tuple(loops),
                         refusal=Refusal("too-large", code.co_firstlineno, name))


def _for_iters(code):
    """(instruction index, line) of each FOR_ITER of `code`, read from its raw bytes."""
    ops = code.co_code[::2]
    starts, lines = [], []
    for start, _end, line in code.co_lines():
        starts.append(start // 2)
        lines.append(line)
    index = done = 0   # instructions in ops[:done]
    unit = ops.find(_FOR_ITER)
    while unit != -1:
        k = bisect.bisect_right(starts, unit) - 1
        chunk = ops[done:unit]
        index += len(chunk) - chunk.count(_CACHE) - chunk.count(_EXTENDED_ARG) + sum(chunk.count(op) for op in _FUSED)
        done = unit
        yield index, (lines[k] if k >= 0 else None)
        unit = ops.find(_FOR_ITER, unit + 1)
