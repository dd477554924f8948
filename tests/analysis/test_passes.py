"""The split is a pipeline of passes over a frozen loop description: each pass returns a
frozen result of its own and changes neither the description nor an earlier pass's result,
so running the passes again on the same inputs gives the same results."""
from __future__ import annotations

import dataclasses
import logging
import time

import pytest

from xcs.analysis import Environment
from xcs.analysis.flow import build_flow, definitely_assigned
from xcs.analysis.loops import find_loops
from xcs.analysis.normalize import normalize
from xcs.analysis.split import LoopAnalysis
from xcs.analysis.split.classify import classify
from xcs.analysis.split.description import describe
from xcs.analysis.split.hoist import hoist
from xcs.analysis.split.propagate import propagate
from xcs.analysis.split.refusals import loop_refusals

log = logging.getLogger("xcs.test.passes")
SEEN: set = set()


def fetch(x):
    time.sleep(0)
    return x


def noisy(x):
    print("fetching", x)
    return x


def body(items, out, totals):
    """Map statements, a hoisted call, a carried value, captured output, a store into an
    outer dict and a read of a global the in-order part changes."""
    for x in items:
        y = fetch(x)
        z = noisy(y) + 1
        out.append(fetch(z))
        pair = [out.append(y), noisy(y)]   # classification stops at the append, hoisting reaches noisy
        totals[x] = totals.get(x, 0) + y
        SEEN.add(x)
        log.info("done %s", x)
    return out


def loop_of(fn):
    code = fn.__code__
    flow = build_flow(list(normalize(code)))
    (shape,) = find_loops(flow)
    env = Environment(globals=fn.__globals__)
    return flow, shape, env, code


def snapshot(result):
    """A deep, comparable copy of a pass result's data (its containers turned to tuples)."""
    def plain(value):
        if isinstance(value, dict) or type(value).__name__ == "mappingproxy":
            return tuple(sorted((repr(k), plain(v)) for k, v in value.items()))
        if isinstance(value, (set, frozenset)):
            return tuple(sorted(map(repr, value)))
        if isinstance(value, (list, tuple)):
            return tuple(plain(v) for v in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return tuple((f.name, plain(getattr(value, f.name))) for f in dataclasses.fields(value))
        return repr(value)
    return plain(result)


def run_passes(flow, shape, env, code):
    desc, refused = describe(flow, shape, env, code, {}, lambda: [])
    assert refused == []
    before = loop_refusals(desc)
    defined = definitely_assigned(flow, flow.next_instr(shape.for_iter + 1), frozenset(),
                                  stop_at={shape.for_iter}, nodes=desc.body_nodes())
    first = classify(desc)
    split = propagate(desc, first, defined)
    hoisting = hoist(desc, split, first)
    return desc, [before, first, split, hoisting]


def test_each_pass_result_is_frozen():
    desc, results = run_passes(*loop_of(body))
    for result in [desc, *results]:
        assert dataclasses.is_dataclass(result) and type(result).__dataclass_params__.frozen, type(result)
        field = dataclasses.fields(result)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, field, None)


def test_no_pass_changes_the_description_or_an_earlier_result():
    desc, results = run_passes(*loop_of(body))
    before, first, split, hoisting = results
    # What the passes saw, as it was when each returned ...
    seen = [snapshot(desc.raw), snapshot(desc.events), snapshot(desc.body_writes), snapshot(desc.aliases)]
    earlier = [snapshot(before), snapshot(first), snapshot(split)]
    # ... is what it still is after the later passes ran, and once more on the same inputs.
    again = hoist(desc, split, first)
    assert [snapshot(desc.raw), snapshot(desc.events), snapshot(desc.body_writes), snapshot(desc.aliases)] == seen
    assert [snapshot(before), snapshot(first), snapshot(split)] == earlier
    assert snapshot(again) == snapshot(hoisting)
    # Hoisting found captured output classification did not reach, in a copy of its own.
    assert first.output and first.output < hoisting.output


def test_the_passes_give_what_the_driver_returns():
    flow, shape, env, code = loop_of(body)
    facts = LoopAnalysis(flow, shape, env, code).facts()
    _, (_, first, split, hoisting) = run_passes(flow, shape, env, code)
    assert facts.parallel
    assert facts.statements == hoisting.statements
    assert [s.kind for s in facts.statements] == list(split.kinds)
    assert [s.kind for s in facts.statements][1:-1] == ["map", "map", "commit", "commit", "commit", "commit", "commit"]
    assert len(facts.statements[3].hoists) == 1   # out.append(fetch(z)): fetch runs in the map part
    assert [g[:2] for g in facts.guards] == sorted({g[:2] for g in facts.guards})
    assert ("global", "fetch") in {g[:2] for g in facts.guards}
