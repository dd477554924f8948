"""Callee turns: a call whose Python callee has ordered effects may still run on a worker,
through a copy of the callee that takes the iteration's turn (`xcs.runtime.take_turn`, the
OpenMP `ordered` rule) before each statement holding such an effect.

`callee_turns(func, env_for, shared_params)` reads the callee once with the walker
(`walker.effects_of`, each of its events followed on its own so a helper that two of its
statements call is found at both) and returns `CalleeTurns`: where the turns go (`points`,
indices into the callee's normalized items), what the part after a turn changes
(`writes`, `unknown`, `filesystem`) and what the part that may run before the turn reads
(`reads`). None when a turn cannot make it exact: an effect that answers for the thread
that runs it, one not tied to an instruction (a property read, the function a decorator
wraps), a generator or coroutine callee.

A turn goes before the start of the line run holding the effect (back from the effect's
instruction to the previous line, label or try boundary, never between a call and its
`KW_NAMES`/`PRECALL`): everything from there to the effect runs after the turn, so its
reads are not counted; everything else is counted as if it ran before. An effect in an
`except` block costs a turn only when the block runs. Whether the rest of the loop may
run before the turn (`obligation`) is the split's question (`xcs.analysis.split`).
"""
from __future__ import annotations

import types
from dataclasses import dataclass

from bytecode import Instr

from xcs import pyversion
from xcs.analysis import budget, walker

_GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200   # generator, coroutine, iterable coroutine, async generator


@dataclass(frozen=True)
class CalleeTurns:
    """Where a callee variant takes the turn and what the obligation needs.

    `function` the analysed callee; `points` sorted item indices before which `take_turn()`
    is called; `writes` the `walker.Write`s of its effects; `unknown` an effect not seen to
    the bottom; `filesystem` it may change the file system (output to files, `os.makedirs`,
    any ordered or unknown effect); `reads` the `walker.Read`s of what may run before a turn;
    `words` the effects, as the walker words them."""

    function: types.FunctionType
    points: tuple
    writes: frozenset
    unknown: bool
    filesystem: bool
    reads: frozenset
    words: tuple


def callee_turns(func, env_for, shared_params=None) -> CalleeTurns | None:
    """The `CalleeTurns` of calling the Python function `func`, or None (see the module)."""
    code = getattr(func, "__code__", None)
    if not isinstance(func, types.FunctionType) or code is None or code.co_flags & _GENERATOR_FLAGS or \
            budget.instruction_count(code) > budget.MAX_INSTRUCTIONS:   # not read (nor copied) past the budget
        return None
    from xcs.analysis.normalize import normalize

    changes: list = []
    try:
        items = list(normalize(code))
        facts = list(walker.effects_of(func, env_for, walker.Walk(walker.SCAN_DEPTH, per_event=True, root_code=code),
                                       walker.SCAN_DEPTH, shared_params, [], changes))
    except Exception:  # noqa: BLE001 - not readable to the end: no variant
        return None
    if not facts or any(f.kind == walker.THREAD or f.at is None or f.at >= len(items) for f in facts):
        return None
    points, covered = set(), set()
    for f in facts:
        start = run_start(items, f.at)
        points.add(start)
        covered.update(range(start, f.at + 1))
    try:
        reads = walker.reads_of(func, env_for, skip=frozenset(covered))
    except Exception:  # noqa: BLE001
        return None
    unknown = any(f.kind == walker.UNKNOWN and not f.own_objects for f in facts)
    filesystem = bool(changes) or any(f.kind in (walker.ORDERED, walker.UNKNOWN) for f in facts)
    return CalleeTurns(func, tuple(sorted(points)), frozenset(f.write for f in facts if f.write is not None),
                       unknown, filesystem, reads, tuple(dict.fromkeys(f.words for f in facts)))


def run_start(items, at: int) -> int:
    """The index a turn for the effect at items[at] goes before: the first instruction of
    the straight run of the effect's line that ends at it (no label or try boundary in
    between, so the run is entered only at its start)."""
    line = getattr(items[at], "lineno", None)
    start = at
    j = at - 1
    while j >= 0:
        item = items[j]
        if not isinstance(item, Instr) or item.name == "RESUME":
            break
        if item.lineno is not None and line is not None and item.lineno != line and \
                item.name not in pyversion.CALL_PREFIXES:   # never split a call from its prefix
            break
        start = j
        j -= 1
    return start
