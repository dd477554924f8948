"""What the map part needs from outside the body, checked by the runner at each loop start:
the locals and closure variables it reads, the locals only the in-order part changes, and
the calls it makes through the item or through inputs the analysis could not resolve."""
from __future__ import annotations

from dataclasses import dataclass

from bytecode import Instr

from xcs import pyversion
from xcs.analysis.refusal import Refusal
from xcs.analysis.split import scope


@dataclass(frozen=True)
class Inputs:
    """`inputs` (locals) and `closure` (cells) the map part reads, `unbound` the refusals for
    inputs not surely bound when the loop starts, `at_loop` the locals that surely are."""

    inputs: tuple
    closure: tuple
    unbound: tuple
    at_loop: frozenset


def inputs(desc, statements) -> Inputs:
    fast, closure = set(), set()
    items = desc.items
    for st in statements:
        ranges = []
        if st.kind == "map":
            ranges.append(range(st.start, st.stop))
            ranges += [range(lo, hi) for lo, hi in st.handlers]
        ranges += [range(h.start, h.stop) for h in st.hoists]
        for span in ranges:
            for i in span:
                ins = items[i]
                if not isinstance(ins, Instr):
                    continue
                if pyversion.is_closure_load(ins) or ins.name in pyversion.DEREF_LOADS:
                    closure.add(pyversion.deref_name(ins.arg))
                elif ins.name in pyversion.LOCAL_READS and ins.arg not in desc.body_writes:
                    fast.add(ins.arg)
    defined = scope.defined_at_entry(desc.shared, desc.flow, desc.code)
    at_loop = defined.get(desc.loop.iter_insert, frozenset())
    unbound = tuple(Refusal("unbound-input", desc.line, name) for name in sorted(fast) if name not in at_loop)
    return Inputs(tuple(sorted(fast)), tuple(sorted(closure)), unbound, frozenset(at_loop))


def watched(desc, found: Inputs, mutated) -> tuple:
    """Locals bound before the loop that only the in-order part changes (`dst[k] = v`): the
    analysis took each for an object of its own, distinct from the inputs the work reads;
    a loop-start check compares their identities (`f(d, d)`)."""
    names = {name for kind, name, _, _ in mutated if kind == "local"}
    return tuple(sorted(n for n in names if n not in found.inputs and n not in desc.body_writes
                        and n not in desc.cellvars and n in found.at_loop))


def item_calls(desc, statements) -> tuple:
    """(path, chain) of each call the map part makes on (part of) the loop's item:
    `model.predict(...)` -> ((), ('predict',)). The analysis cannot see what these run;
    the runner checks them per item type."""
    paths = desc.target_paths
    found = {}
    for callee in _map_callees(desc, statements):
        if callee.kind == "local" and callee.name in paths:
            found[(paths[callee.name], callee.chain)] = None
    return tuple(found)


def input_calls(desc, statements, inputs_, guards, in_order=frozenset()) -> tuple:
    """(input, chain) of each call the map part makes through a loop input the analysis
    could not resolve (`gen.random()` on a `gen` from `pickle.loads`): the runner checks
    what they are at each loop start. `guards`: the resolutions the split relied on;
    `in_order`: item indices that run after a turn (their calls are in order)."""
    found = {}
    for callee in _map_callees(desc, statements, in_order):
        if callee.kind == "local" and callee.name in inputs_ and callee.chain and \
                (callee.kind, callee.name, callee.chain) not in guards and \
                callee.name not in desc.imported:   # `import json` inside: resolved here
            found[(callee.name, callee.chain)] = None
    return tuple(found)


def _map_callees(desc, statements, in_order=frozenset()):
    for k, st in enumerate(statements):
        if k == 0 or not (st.kind == "map" or st.hoists):
            continue
        for e in desc.events[k]:
            if e.op == "call" and e.target is not None and e.index not in in_order:
                yield e.target
