"""Loops that must stay sequential, one per basic reason: `break`/`return`, carried variables,
globals and nonlocals, closures, iterable changes, order-dependent calls, frame tricks,
unassigned inputs, CPU-bound work, `parallel=False`.

Rows of the corpus (`tests/corpus/shapes/__init__.py` gathers them; `common.py` says what a row is)."""
from __future__ import annotations

import random

from tests.corpus.probe import io
from tests.corpus.shapes.common import XS, shape

G = 0   # a module global the rows assign (`global G`)




@shape("sequential", "carried", args=(XS,))
def carried_chain(xs):
    prev = 0
    for x in xs:
        prev = io(prev + x)
    return prev


@shape("sequential", "speculation", args=(XS,))
def has_break(xs):
    out = []
    for x in xs:
        if io(x) > 3:
            break
        out.append(x)
    return out


@shape("sequential", "speculation", args=(XS,))
def has_return(xs):
    for x in xs:
        if io(x) > 3:
            return x
    return None


@shape("sequential", "carried", subject="total", args=(XS,))
def accumulator_read_in_body(xs):
    total = 0
    for x in xs:
        y = io(x + total)
        total += y
    return total


@shape("sequential", "commit:global", subject="G", args=(XS,))
def global_store(xs):
    global G
    for x in xs:
        G = io(x)
    return G


def _make_nonlocal():
    last = None

    def inner(xs):
        nonlocal last
        for x in xs:
            last = io(x)
        return last
    return inner


nonlocal_store = shape("sequential", "commit:nonlocal", subject="last", args=(XS,))(_make_nonlocal())


@shape("sequential", "late-binding", args=(XS,))
def late_binding_closure(xs):
    fs = []
    for x in xs:
        fs.append(lambda: io(x))
    return list(map(lambda f: f(), fs))


@shape("sequential", "commit-read", subject="out", args=(XS,))
def aliasing_read_of_committed(xs):
    out = []
    for x in xs:
        n = len(out)
        out.append(io(n + x))
    return out


@shape("sequential", "commit-read", subject="out", args=(XS,))
def reads_last_appended(xs):
    out = [0]
    for x in xs:
        out.append(io(out[-1] + x))
    return out


@shape("sequential", "iterable-mutated", subject="xs", args=([1, 2, 3],))
def iterable_mutated(xs):
    for x in xs:
        if len(xs) < 6:
            xs.append(io(x))
    return xs


@shape("sequential", "generator", args=(XS,))
def generator_function(xs):
    for x in xs:
        yield io(x)


@shape("sequential", "no-parallel-work", args=(XS,))
def cpu_only_loop(xs):
    out = []
    for x in xs:
        out.append(x * x)
    return out


def _spin(n):
    total = 0
    for i in range(n * 2000):
        total += i % 7
    return total


@shape("sequential", "probe:cpu-bound", args=(XS,))
def cpu_bound_call(xs):
    out = []
    for x in xs:
        out.append(_spin(x))
    return out


@shape("sequential", "commit:ordered", subject="next", args=(XS,))
def next_in_body(xs):
    it = iter(range(100))
    out = []
    for x in xs:
        out.append(io(next(it) + x))
    return out


@shape("sequential", "commit:ordered", subject="random", args=(XS,))
def random_in_body(xs):
    random.seed(3)
    out = []
    for x in xs:
        out.append(io(random.random() + x))
    return out


@shape("sequential", "frame-introspection", subject="locals", args=(XS,))
def frame_introspection(xs):
    out = []
    for x in xs:
        y = io(x)
        out.append(sorted(locals()))
    return out


@shape("sequential", "frame-introspection", subject="eval", args=(XS,))
def eval_in_body(xs):
    out = []
    for x in xs:
        out.append(eval("x + 1") + io(x))
    return out


@shape("sequential", "after-skip", args=(XS,))
def continue_in_commit_before_work(xs):
    seen = set()
    out = []
    for x in xs:
        if x % 3 in seen:
            continue
        seen.add(x % 3)
        y = io(x)
        out.append(y)
    return out


@shape("sequential", "commit-read", subject="out", args=(XS,))
def work_reads_commit_written(xs):
    out = []
    for x in xs:
        out.append(x)
        y = io(len(out))
        out.append(y)
    return out


class Holder:
    pass


@shape("sequential", "target", args=(XS,))
def attribute_target(xs):
    h = Holder()
    out = []
    for h.x in xs:
        out.append(io(h.x))
    return out


@shape("sequential", "target", args=(XS,))
def subscript_target(xs):
    d = {}
    out = []
    for d["k"] in xs:
        out.append(io(d["k"]))
    return out


@shape("sequential", "policy:parallel-false", args=(XS,), policy=False)
def parallel_false(xs):
    out = []
    for x in xs:
        out.append(io(x))
    return out


@shape("sequential", "unbound-input", args=(XS, False))
def unbound_input(xs, flag):
    if flag:
        k = 1
    out = []
    for x in xs:
        out.append(io(x + k))
    return out


def _noisy(x):
    print("noisy", x)
    return io(x)


# Its print is captured on the worker and replayed in iteration order (issue 11).
@shape("parallel", args=(XS,))
def calls_function_that_prints(xs):
    out = []
    for x in xs:
        out.append(_noisy(x))
    return out


@shape("sequential", "commit-read", subject="G", args=(XS,))
def reads_global_written_in_body(xs):
    global G
    G = 0
    out = []
    for x in xs:
        out.append(io(G + x))
        G += 1
    return out


@shape("sequential", "commit:unknown-call", subject="stack.pop", args=(list(XS),))
def consumes_outer_stack(stack):
    out = []
    for _ in range(3):
        out.append(io(stack.pop()))
    return out


@shape("sequential", "carried", args=(XS,))
def maybe_assigned_then_read(xs):
    y = 0
    out = []
    for x in xs:
        if x % 2:
            y = x
        out.append(io(y))
    return out


@shape("sequential", "late-binding", subject="x", args=(XS,))
def nonlocal_loop_target(xs):
    fs = []
    for x in xs:
        def f():
            return x
        fs.append(f)
    return list(map(lambda f: io(f()), fs))
