"""The corpus: one function per loop shape, each registered with the decision XCS must reach.

`@shape("parallel")` rows must run their iterations concurrently (the test proves it with a
barrier in `probe.io`) and give exactly the sequential results; `@shape("sequential", reason)`
rows must stay sequential, and `xcs.explain` must give that reason. Adding a shape is adding
a function here.
"""
from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from dataclasses import dataclass, field

from tests.corpus.probe import calls, fail_on, io


@dataclass
class Shape:
    fn: object
    expect: str                  # "parallel" | "sequential"
    reason: str | None = None    # substring of the explain() text for sequential rows
    args: tuple = ()
    policy: object = "auto"
    overlap: object = True       # prove overlap with a barrier (parallel rows): True = all calls, or n
    name: str = field(default="")
    xfail: str | None = None     # a known gap, with its diagnosis: the row must fail until it is fixed


CORPUS: list[Shape] = []


def shape(expect, reason=None, *, args=(), policy="auto", overlap=True, name=None, xfail=None):
    def register(fn):
        CORPUS.append(Shape(fn, expect, reason, args, policy, overlap, name or fn.__name__, xfail))
        return fn
    return register


class Model:
    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def predict(self, prompt):
        return io(f"{prompt}-{self.k}")


MODELS = [Model(k) for k in range(4)]
XS = [1, 2, 3, 4, 5, 6]
G = 0
log = logging.getLogger("xcs.tests.corpus")

# ---------------------------------------------------------------------------- parallel


@shape("parallel", args=("hi",), policy=True)
def seed_example(prompt):
    results = []
    for model in MODELS:
        results.append(model.predict(prompt))
    return results


@shape("parallel", args=(XS,))
def append_call(xs):
    out = []
    for x in xs:
        out.append(io(x))
    return out


@shape("parallel", args=(XS,))
def temp_then_append(xs):
    out = []
    for x in xs:
        y = io(x) * 10
        out.append(y)
    return out, x, y


@shape("parallel", args=(XS,))
def dict_store(xs):
    res = {}
    for x in xs:
        res[x] = io(x)
    return res


@shape("parallel", args=(XS,))
def augmented_total(xs):
    total = 0
    for x in xs:
        total += io(x)
    return total


@shape("parallel", args=(XS,))
def print_commit(xs):
    for x in xs:
        print(io(x))


@shape("parallel", args=(XS,))
def print_then_work(xs):
    out = []
    for x in xs:
        print("start", x)
        y = io(x)
        out.append(y)
    return out


@shape("parallel", args=(["a", "b", "c", "d"],))
def enumerate_target(xs):
    out = {}
    for i, x in enumerate(xs):
        out[i] = io(x)
    return out, i, x


@shape("parallel", args=(XS, [10, 20, 30, 40]))
def zip_target(xs, ys):
    out = []
    for a, b in zip(xs, ys):
        out.append(io(a) + b)
    return out


@shape("parallel", args=([(1, 2), (3, 4), (5, 6)],))
def nested_unpack(pairs):
    out = []
    for i, (a, b) in enumerate(pairs):
        out.append(io(a * b) + i)
    return out


def _make_closure(k):
    def inner(xs):
        out = []
        for x in xs:
            out.append(io(x) + k)
        return out
    return inner


closure_reads_free_variable = shape("parallel", args=(XS,))(_make_closure(100))


@shape("parallel", args=(XS,))
def continue_in_map(xs):
    out = []
    for x in xs:
        y = io(x)
        if y % 2:
            continue
        out.append(y)
    return out, x, y


@shape("parallel", args=(XS,))
def try_except_in_body(xs):
    out = []
    for x in xs:
        try:
            y = fail_on(x, 3)
        except ValueError as error:
            y = str(error)
        out.append(y)
    return out


@shape("parallel", args=(XS,))
def try_finally_in_body(xs):
    out = []
    for x in xs:
        try:
            y = io(x)
        finally:
            z = x + 1
        out.append((y, z))
    return out


@shape("parallel", args=(XS,))
def for_else(xs):
    out = []
    for x in xs:
        out.append(io(x))
    else:
        out.append("done")
    return out


@shape("parallel", args=(XS,))
def list_comprehension(xs):
    return [io(x) for x in xs]


@shape("parallel", args=(XS,))
def dict_comprehension(xs):
    return {x: io(x) for x in xs}


@shape("parallel", args=(XS,))
def set_comprehension(xs):
    return {io(x) % 3 for x in xs}


@shape("parallel", args=(XS,))
def filtered_comprehension(xs):
    return [io(x) for x in xs if x % 2]


@shape("parallel", args=(XS,))
def generator_expression_iterable(xs):
    out = []
    for x in (v * 2 for v in xs):
        out.append(io(x))
    return out


def _numbers(n):
    for i in range(n):
        yield i * i


@shape("parallel", args=(5,))
def generator_function_iterable(n):
    out = []
    for x in _numbers(n):
        out.append(io(x))
    return out


class Ensemble:
    def __init__(self):
        self.models = MODELS
        self.calls = []

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def run(self, prompt):
        out = []
        for m in self.models:
            out.append(m.predict(prompt))
        return out

    def record(self, xs):
        for x in xs:
            self.calls.append(io(x))
        return self.calls


shape("parallel", args=(Ensemble(), "p"), policy=True, name="method_ensemble")(Ensemble.run)
shape("parallel", args=(Ensemble(), XS), name="method_appends_to_self")(Ensemble.record)


@shape("parallel", args=(XS,), overlap=6)
def two_map_statements(xs):
    out = []
    for x in xs:
        a = io(x)
        b = io(a + 1)
        out.append((a, b))
    return out


@shape("parallel", args=({"a": 1, "b": 2, "c": 3},))
def dict_items(d):
    out = {}
    for k, v in d.items():
        out[k] = io(v)
    return out


@shape("parallel", args=(XS,))
def fstring_commit(xs):
    lines = []
    for x in xs:
        lines.append(f"{x}: {io(x)}")
    return lines


@shape("parallel", args=(XS,))
def keyword_arguments(xs):
    out = []
    for x in xs:
        out.append(io(x, delay=0.001))
    return out


@shape("parallel", args=(XS, [1, 2]), overlap=2)
def inner_loop_parallel(xs, ys):
    out = []
    for x in xs:
        for y in ys:
            out.append(io(x * y))
    return out


@shape("parallel", args=([{"x": 1}, {"x": 2}, {"x": 3}],))
def store_into_items(dicts):
    for d in dicts:
        d["r"] = io(d["x"])
    return dicts


@shape("parallel", args=(XS,))
def conditional_expression(xs):
    out = []
    for x in xs:
        y = io(x) if x % 2 else -x
        out.append(y)
    return out


@shape("parallel", args=(XS,))
def while_inside_map(xs):
    out = []
    for x in xs:
        n = io(x)
        steps = 0
        while n > 1:
            n = n // 2
            steps += 1
        out.append(steps)
    return out


@shape("parallel", args=(XS,))
def with_statement(xs):
    import contextlib
    out = []
    for x in xs:
        with contextlib.nullcontext(x) as v:
            y = io(v)
        out.append(y)
    return out


@shape("parallel", args=(XS,))
def local_function_call(xs):
    def double(v):
        return io(v) * 2
    out = []
    for x in xs:
        out.append(double(x))
    return out


@shape("parallel", args=(XS,))
def logging_commit(xs):
    out = []
    for x in xs:
        y = io(x)
        log.info("item %s", y)
        out.append(y)
    return out


@shape("parallel", args=(XS,))
def string_accumulator(xs):
    s = ""
    for x in xs:
        s += str(io(x))
    return s


lambda_loop = shape("parallel", args=(XS,))(lambda xs: [io(x) + 1 for x in xs])

# ---------------------------------------------------------------------------- sequential


@shape("sequential", "carried", args=(XS,))
def carried_chain(xs):
    prev = 0
    for x in xs:
        prev = io(prev + x)
    return prev


@shape("sequential", "break", args=(XS,))
def has_break(xs):
    out = []
    for x in xs:
        if io(x) > 3:
            break
        out.append(x)
    return out


@shape("sequential", "return", args=(XS,))
def has_return(xs):
    for x in xs:
        if io(x) > 3:
            return x
    return None


@shape("sequential", "total", args=(XS,))
def accumulator_read_in_body(xs):
    total = 0
    for x in xs:
        y = io(x + total)
        total += y
    return total


@shape("sequential", "global `G`", args=(XS,))
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


nonlocal_store = shape("sequential", "`last`", args=(XS,))(_make_nonlocal())


@shape("sequential", "captured by a closure", args=(XS,))
def late_binding_closure(xs):
    fs = []
    for x in xs:
        fs.append(lambda: io(x))
    return list(map(lambda f: f(), fs))


@shape("sequential", "out", args=(XS,))
def aliasing_read_of_committed(xs):
    out = []
    for x in xs:
        n = len(out)
        out.append(io(n + x))
    return out


@shape("sequential", "out", args=(XS,))
def reads_last_appended(xs):
    out = [0]
    for x in xs:
        out.append(io(out[-1] + x))
    return out


@shape("sequential", "changes `xs`", args=([1, 2, 3],))
def iterable_mutated(xs):
    for x in xs:
        if len(xs) < 6:
            xs.append(io(x))
    return xs


@shape("sequential", "generator", args=(XS,))
def generator_function(xs):
    for x in xs:
        yield io(x)


@shape("sequential", "nothing in the loop body", args=(XS,))
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


@shape("sequential", "CPU-bound", args=(XS,))
def cpu_bound_call(xs):
    out = []
    for x in xs:
        out.append(_spin(x))
    return out


@shape("sequential", "next", args=(XS,))
def next_in_body(xs):
    it = iter(range(100))
    out = []
    for x in xs:
        out.append(io(next(it) + x))
    return out


@shape("sequential", "random", args=(XS,))
def random_in_body(xs):
    random.seed(3)
    out = []
    for x in xs:
        out.append(io(random.random() + x))
    return out


@shape("sequential", "locals", args=(XS,))
def frame_introspection(xs):
    out = []
    for x in xs:
        y = io(x)
        out.append(sorted(locals()))
    return out


@shape("sequential", "eval", args=(XS,))
def eval_in_body(xs):
    out = []
    for x in xs:
        out.append(eval("x + 1") + io(x))
    return out


@shape("sequential", "continue", args=(XS,))
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


@shape("sequential", "out", args=(XS,))
def work_reads_commit_written(xs):
    out = []
    for x in xs:
        out.append(x)
        y = io(len(out))
        out.append(y)
    return out


class Holder:
    pass


@shape("sequential", "not a plain local", args=(XS,))
def attribute_target(xs):
    h = Holder()
    out = []
    for h.x in xs:
        out.append(io(h.x))
    return out


@shape("sequential", "not a plain local", args=(XS,))
def subscript_target(xs):
    d = {}
    out = []
    for d["k"] in xs:
        out.append(io(d["k"]))
    return out


@shape("sequential", "parallel=False", args=(XS,), policy=False)
def parallel_false(xs):
    out = []
    for x in xs:
        out.append(io(x))
    return out


@shape("sequential", "may be unassigned", args=(XS, False))
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


@shape("sequential", "`G`", args=(XS,))
def reads_global_written_in_body(xs):
    global G
    G = 0
    out = []
    for x in xs:
        out.append(io(G + x))
        G += 1
    return out


@shape("sequential", "pop", args=(list(XS),))
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


@shape("sequential", "`x`", args=(XS,))
def nonlocal_loop_target(xs):
    fs = []
    for x in xs:
        def f():
            return x
        fs.append(f)
    return list(map(lambda f: io(f()), fs))


# ---------------------------------------------------------------------------- more parallel shapes


# 3.11 compiles the comprehension as a closure over `x`, so there the inner loop is the
# parallel one; 3.12+ inline it and the outer loop runs in parallel. Either way 3 calls overlap.
@shape("parallel", args=(XS, [1, 2, 3]), overlap=3)
def comprehension_in_map(xs, ys):
    out = []
    for x in xs:
        row = [io(x * y) for y in ys]
        out.append(row)
    return out


@shape("parallel", args=(XS,))
def loop_inside_with(xs):
    import contextlib
    with contextlib.nullcontext([]) as out:
        for x in xs:
            out.append(io(x))
    return out


@shape("parallel", args=(XS,), overlap=False)
def failure_caught_outside_loop(xs):
    out = []
    try:
        for x in xs:
            out.append(fail_on(x, 4))
    except ValueError as error:
        out.append(str(error))
    return out


@shape("parallel", args=(XS,), overlap=False)
def failure_after_commit_in_same_iteration(xs):
    out = []
    try:
        for x in xs:
            out.append(("before", x))
            y = fail_on(x, 3)
            out.append(y)
    except ValueError:
        pass
    return out, x


@shape("parallel", args=(XS,), overlap=False)
def unpack_failure_in_target(xs):
    out = []
    try:
        for a, b in [(x, x) if x != 4 else (x,) for x in xs]:
            out.append(io(a + b))
    except ValueError as error:
        out.append(str(error))
    return out


def _add_to(acc, value):
    acc.append(value)


@shape("parallel", args=(XS,))
def helper_mutates_argument_with_hoisted_io(xs):
    out = []
    for x in xs:
        _add_to(out, io(x))
    return out


def _fetch_into(acc, x):
    acc.append(io(x))
    return len(acc)


@shape("sequential", "changes `acc`, which other iterations can see", args=(XS,))
def helper_mutates_argument(xs):
    out, sizes = [], []
    for x in xs:
        n = _fetch_into(out, x)
        sizes.append(n)
    return out, sizes


@shape("sequential", "`open()`", args=(XS,))
def appends_to_file_opened_per_iteration(xs):
    import os
    import tempfile
    path = os.path.join(tempfile.mkdtemp(), "log.txt")
    for x in xs:
        with open(path, "a") as f:
            f.write(f"{io(x)}\n")
    with open(path) as f:
        return f.read()


def _load_first_line(path):
    with open(path) as f:
        return _read_line(f)


def _read_line(f):
    return f.readline().strip()


@shape("parallel", args=(XS,))
def helper_reads_file_it_opened(xs):
    import os
    import tempfile
    folder = tempfile.mkdtemp()
    for x in xs:
        with open(os.path.join(folder, f"{x}.txt"), "w") as f:
            f.write(f"line {x}\n")
    lines = []
    for x in xs:
        io(x)
        lines.append(_load_first_line(os.path.join(folder, f"{x}.txt")))
    return lines


_SHARED_LOG = []


def _log_into(items, x, log=_SHARED_LOG):
    log.append(x)
    return io(x)


@shape("sequential", "changes `log`", args=(XS,))
def helper_mutates_its_mutable_default(xs):
    _SHARED_LOG.clear()
    out = []
    for x in xs:
        y = _log_into([], x)
        out.append(y)
    return out, list(_SHARED_LOG)


class _Resource:
    """A context manager whose __enter__ returns itself, like a file or an HTTP response."""

    def __init__(self, x):
        self.x, self.consumed = x, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        self.consumed = True
        return io(self.x)


def _load(x):
    with _Resource(x) as r:
        return r.read()


@shape("parallel", args=(XS,), policy=True)  # methods of a local object: no static evidence, and a probe's lone first iteration cannot pass the barrier
def helper_reads_a_resource_it_opened(xs):
    out = []
    for x in xs:
        out.append(_load(x) * 2)
    return out


class _Response:
    """Like `urllib.request.urlopen(url)`: making it waits for the answer; the body is read
    inside the `with` block."""

    def __init__(self, x):
        self.body = io(x)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.body * 2


@shape("parallel", args=(XS,), policy=True)  # a class made per item: no static evidence; the probe's lone first iteration cannot pass the barrier
def appends_inside_the_with_of_a_manager_made_per_item(xs):
    out = []
    for x in xs:
        with _Response(x) as r:
            out.append(r.read())
    return out


@shape("sequential", "reads `out`", args=(XS,), policy=True)
def with_manager_made_from_what_the_commit_changes(xs):
    out = []
    for x in xs:
        with _Response(len(out) + x) as r:
            out.append(r.read())
    return out


_SHARED_RESOURCE = _Resource(0)


def _load_shared(x):
    with _SHARED_RESOURCE as r:
        return r.read() + x


@shape("sequential", "changes `r`", args=(XS,))
def helper_reads_a_shared_resource(xs):
    out = []
    for x in xs:
        out.append(_load_shared(x))
    return out


@shape("parallel", args=(XS,))
def nested_loop_builds_row_per_item(xs):
    out = []
    for x in xs:
        row = []
        for k in range(3):
            row.append(k * x)
        out.append((io(x), row))
    return out


@shape("parallel", args=(XS,))
def appends_to_a_list_inside_a_dict(xs):
    groups = {"all": [], "odd": []}
    for x in xs:
        groups["all"].append(io(x))
    return groups


@shape("parallel", args=(XS, [[]]))
def appends_to_an_element_of_an_argument(xs, shared):
    for x in xs:
        shared[0].append(io(x))
    return shared


@shape("parallel", args=(XS,))
def appends_to_what_a_call_returns(xs):
    buckets = {"a": []}
    for x in xs:
        y = io(x)
        buckets.get("a").append(y)
    return buckets


@shape("sequential", "the work reads `row['y']`", args=([{"x": x, "y": 0} for x in XS],))
def reads_the_key_it_stores_into_each_item(rows):
    for row in rows:
        row["y"] = io(row["x"] + row["y"])
    return rows


@shape("sequential", "the work reads `table['r']`", args=(XS,))
def reads_an_element_the_commit_changes(xs):
    table = {"r": [], "s": []}
    for x in xs:
        row = table["r"]
        n = io(len(row))
        table["r"].append(n + x)
    return table


@shape("sequential", "the work reads `table`", args=(XS,))
def reads_by_variable_key_what_the_commit_changes(xs):
    table = {"r": [0], "s": [0]}
    keys = ["r", "s"]
    for x in xs:
        n = io(len(table[keys[x % 2]]))
        table["r"].append(n + x)
    return table


class _Client:
    """A client whose `fetch` counts its calls on the instance: shared state."""

    def __init__(self):
        self.calls = 0

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    def fetch(self, x):
        self.calls += 1
        return io(x)

    def lookup(self, x):
        return io(x) * 10


@shape("sequential", "stores into `self.calls`", args=(XS, _Client()))
def method_that_counts_on_its_instance(xs, client):
    out = []
    for x in xs:
        out.append(client.fetch(x))
    return out, client.calls


@shape("parallel", args=(XS, _Client()))
def method_without_shared_state(xs, client):
    out = []
    for x in xs:
        out.append(client.lookup(x))
    return out


@shape("parallel", args=(XS,), overlap=False)
def try_around_the_call_logs_failures_and_continues(xs):
    out = []
    for x in xs:
        try:
            r = fail_on(x, 3)
        except ValueError as error:
            print("skipped", x, error)
            continue
        out.append(r)
    return out


@shape("parallel", args=(XS,), overlap=False)
def try_around_an_append_records_failures(xs):
    out = []
    for x in xs:
        try:
            out.append(fail_on(x, 4))
        except ValueError as error:
            out.append(f"failed: {error}")
            log.warning("item %s failed", x)
    return out


@shape("parallel", args=(XS,))
def try_with_logging_in_handler_and_no_failure(xs):
    out = []
    for x in xs:
        try:
            r = io(x)
        except ValueError:
            log.exception("never")
            r = None
        out.append(r)
    return out


@shape("parallel", args=(XS,), overlap=False)
def try_followed_by_more_work_keeps_the_try_in_order(xs):
    out = []
    for x in xs:
        try:
            r = fail_on(x, 2)
        except ValueError:
            print("failed", x)
            r = -1
        z = io(x + 10)
        out.append((r, z))
    return out


@shape("parallel", args=(XS,))
def try_around_a_print_of_the_call(xs):
    # The conditional expression runs whole in the map part (issue 11.6); the prints, and the
    # ValueError of item 3 re-raised inside the `try`, stay in order.
    for x in xs:
        try:
            print(fail_on(x, 3) if x % 2 else -x)
        except ValueError:
            print("failed", x)


class _Writer:
    """Like `ConfigParser.write(fp)`: a method named `write` that fills the buffer it is given."""

    def write(self, buffer):
        buffer.append("written")

    def __eq__(self, other):
        return type(other) is type(self)


@shape("parallel", args=(XS, _Writer()))
def commit_fills_a_buffer_the_work_then_reads(xs, writer):
    out = []
    for x in xs:
        buffer = [io(x)]
        writer.write(buffer)
        size = len(buffer)
        out.append(size)
    return out


@shape("parallel", args=(XS,))
def work_sorts_a_list_an_earlier_print_showed(xs):
    out = []
    for x in xs:
        data = [io(x), 3, 1]
        print(data)
        data.sort()
        out.append(data)
    return out


@shape("parallel", args=(XS,))
def sets_an_event_per_item(xs):
    events = [threading.Event() for _ in xs]
    order = []
    for k, x in enumerate(xs):
        events[k].set()
        order.append(io(x))
    return order, [e.is_set() for e in events]


@shape("sequential", "work.get", args=(XS,))
def takes_work_from_a_queue(xs):
    work = queue.Queue()
    for x in xs:
        work.put(x * 10)
    out = []
    for x in xs:
        job = work.get()
        out.append(io(job + x))
    return out


@shape("parallel", args=(XS,), overlap=False)
def failure_after_a_variable_is_reassigned(xs):
    out = []
    try:
        for x in xs:
            a = ("first", io(x))
            out.append(a)
            a = ("second", io(x))
            b = fail_on(x, 4)
    except ValueError:
        pass
    return out, a


class _Thing:
    pass


# gc.collect() observes lifetimes, which XCS stretches a little (the README's visible differences):
# such a loop stays sequential (CPython's test_dict.test_container_iterator under xcs.enable()).
@shape("sequential", "observes which objects are alive", args=(XS,))
def deleted_object_is_freed_within_the_iteration(xs):
    import gc
    import weakref
    alive = []
    for x in xs:
        thing = _Thing()
        ref = weakref.ref(thing)
        thing.value = io(x)
        del thing
        gc.collect()
        alive.append(ref() is not None)
    return alive


@shape("parallel", args=(XS,))
def last_item_does_not_outlive_the_loop(xs):
    import gc
    import weakref
    things = [_Thing() for _ in xs]
    refs = [weakref.ref(t) for t in things]
    out = []
    for t in things:
        out.append(io(id(t)) > 0)
    del things, t
    gc.collect()
    return out, [r() is None for r in refs]


@shape("sequential", "itertools.groupby", args=("AAABBCDDDD",))
def groups_of_groupby(text):
    import itertools
    out = []
    for key, group in itertools.groupby(text):
        out.append((key, list(group), io(key)))
    return out


def _noisy_numbers(xs):
    for x in xs:
        print("producing", x)
        yield x


@shape("sequential", "_noisy_numbers", args=(XS,))
def generator_that_prints_as_it_produces(xs):
    out = []
    for x in _noisy_numbers(xs):
        print("consuming", x)
        out.append(io(x))
    return out


@shape("sequential", "_noisy_numbers", args=(XS,))
def enumerate_over_a_generator_that_prints(xs):
    out = []
    for k, x in enumerate(_noisy_numbers(xs)):
        out.append((k, io(x)))
        print("done", k)
    return out


def _shout(x):
    print("shout", x)
    return io(x)


def _quiet(x):
    return io(x)


@shape("sequential", "_shout", args=(XS,))
def calls_a_printing_function_held_in_a_local(xs):
    call = _shout if xs else _quiet
    out = []
    for x in xs:
        out.append(call(x))
    return out


@shape("parallel", args=(XS,))
def calls_a_quiet_function_held_in_a_local(xs):
    call = _quiet if xs else _shout
    out = []
    for x in xs:
        out.append(call(x))
    return out


class _Stream:
    """Iterating yields record names; `read_current` reads the record the iteration is at."""

    def __init__(self, names):
        self.names, self.position = list(names), -1

    def __iter__(self):
        for k, name in enumerate(self.names):
            self.position = k
            yield name

    def read_current(self):
        return io(self.position)

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)


@shape("sequential", "the object the loop iterates over", args=(_Stream("abcdef"),))
def reads_from_the_stream_it_iterates(stream):
    out = []
    for name in stream:
        out.append((name, stream.read_current()))
    return out


@shape("sequential", "`ready.wait()`", args=(XS,))
def work_after_a_barrier_reads_what_another_thread_did(xs):
    board = {"value": 0}
    ready = threading.Barrier(2, timeout=5)

    def helper():
        for x in xs:
            ready.wait()
            board["value"] = x * 100
            ready.wait()

    thread = threading.Thread(target=helper)
    thread.start()
    seen = []
    for x in xs:
        ready.wait()
        ready.wait()
        seen.append(io(board["value"]))
    thread.join()
    return seen


class _Collector:
    def __init__(self):
        self.seen = []

    def feed(self, x):
        self.seen.append(x)


def _make_collector():
    return _Collector()


@shape("parallel", args=(XS,))
def feeds_an_object_whose_type_is_unknown(xs):
    collector = _make_collector()
    for x in xs:
        collector.feed(io(x))
    return collector.seen


def _make_generator():
    return random.Random(7)


@shape("sequential", "in order", args=(XS,))
def draws_from_a_generator_of_unknown_type(xs):
    gen = _make_generator()
    out = []
    for x in xs:
        out.append(io(x) + gen.random())
    return out


@shape("parallel", args=(XS,))
def pops_from_a_shared_heap(xs):
    # `io(x)` runs in the map part (issue 11.6: a call inside an argument that cannot move);
    # `heapq.heappop(heap)` stays in order.
    import heapq
    heap = [5, 1, 4, 2, 3, 0, 9]
    out = []
    for x in xs:
        out.append(io(x) + heapq.heappop(heap))
    return out


@shape("parallel", args=(XS,))
def work_reads_an_iterator_a_commit_advanced(xs):
    out = []
    for x in xs:
        it = iter([io(x), x + 1, x + 2])
        out.append(next(it))
        out.append(list(it))
    return out


@shape("sequential", "os.mkdir", args=(["a", "a/b", "a/b/c", "d"],))
def makes_nested_directories(names):
    import os
    import tempfile
    root = tempfile.mkdtemp()
    made = []
    for name in names:
        os.mkdir(os.path.join(root, name))
        made.append(io(len(name)))
    return made, sorted(os.path.relpath(os.path.join(d, n), root) for d, ds, _ in os.walk(root) for n in ds)


@shape("parallel", args=(XS,))
def writes_one_file_per_item_after_the_work(xs):
    import os
    import tempfile
    root = tempfile.mkdtemp()
    for x in xs:
        data = io(x) * 3
        with open(os.path.join(root, f"{x}.txt"), "w") as f:
            f.write(str(data))
    return sorted((name, open(os.path.join(root, name)).read()) for name in os.listdir(root))


_MODE = {"value": "plain"}


@contextlib.contextmanager
def _mode(value):
    """Switches a process-wide setting for the `with` block, like `redirect_stdout` or `mock.patch`."""
    old = _MODE["value"]
    _MODE["value"] = value
    try:
        yield
    finally:
        _MODE["value"] = old


def _work_in_mode(x):
    return io(x), _MODE["value"]


@shape("sequential", "with _mode()", args=(XS,))
def work_inside_a_context_that_switches_global_state(xs):
    out = []
    for x in xs:
        with _mode(f"mode-{x}"):
            result = _work_in_mode(x)
        out.append(result)
    return out


@shape("sequential", "`open()`", args=(XS,))
def reads_back_a_file_it_just_wrote(xs):
    import os
    import tempfile
    path = os.path.join(tempfile.mkdtemp(), "scratch.txt")
    out = []
    for x in xs:
        f = open(path, "w")
        f.write(str(x))
        f.close()
        out.append(io(int(open(path).read())))
    return out


# ---------------------------------------------------------------------------- precision (issue 11.6)
# Each of these was refused though nothing in it needs order; each must run in parallel.


@shape("parallel", args=(XS,))
def print_with_end_and_flush(xs):
    out = []
    for x in xs:
        y = io(x)
        print(y, end=";", flush=True)
        out.append(y)
    return out


@shape("parallel", args=(["a-1", "b-2", "c-3"],))
def regex_after_the_call(xs):
    import re
    out = []
    for x in xs:
        page = io(x)
        out.append(re.sub(r"-(\d)", r"=\1", page))
    return out


@shape("parallel", args=(XS,))
def two_comprehensions_in_one_body(xs):
    out = []
    for x in xs:
        got = io(x)
        a = [got * k for k in range(3)]
        b = [v + 1 for v in a]
        out.append((a, b))
    return out


@shape("parallel", args=({"a": 1, "b": 2, "c": 3},))
def replaces_values_of_the_dict_it_iterates(d):
    for k in d:
        d[k] = io(k)
    return d


@shape("parallel", args=([1, 0, 3, 4],))
def conditional_expression_argument(xs):
    out = []
    for x in xs:
        out.append(io(x) if x else None)
    return out


@shape("parallel", args=(XS,))
def cache_get_or_fetch(xs):
    cache = {2: "cached"}
    out = []
    for x in xs:
        out.append(cache.get(x) or io(x))
    return out


@shape("parallel", args=([1, 2, 1, 3],))
def counts_with_get(xs):
    d = {}
    for x in xs:
        d[x] = d.get(x, 0) + io(x)
    return d


@shape("parallel", args=(["a", "b"],))
def string_concatenation_in_a_call(xs):
    import json
    out = []
    for x in xs:
        out.append(json.loads('"' + io(x) + '"'))
    return out


@shape("parallel", args=(XS,))
def walrus_in_a_comprehension(xs):
    out = []
    for x in xs:
        got = io(x)
        out.append([y for k in range(2) if (y := got + k) > 1])
    return out


# ------------------------------------------------------------ precision: shapes that must not be relaxed
# Each tries to break one relaxed rule of issue 11.6; each is compared with plain CPython.


class _Tally:
    """`tally + x` returns the tally itself: the operator's result is the shared operand."""

    def __init__(self):
        self.seen = []

    def __add__(self, other):
        return self


def _record(tally, x):
    tally.seen.append(x)
    return x


@shape("parallel", args=(XS,))
def operator_result_is_the_shared_operand(xs):
    # `io(x)` runs in the map part; `_record(tally + 0, ...)` changes the tally: in order.
    tally = _Tally()
    out = []
    for x in xs:
        out.append(_record(tally + 0, io(x)))
    return out, tally.seen


@shape("sequential", "`heapq.heappop()`", args=(XS,))
def the_work_needs_a_shared_heap_pop(xs):
    import heapq
    heap = [5, 1, 4, 2, 3, 0, 9]
    out = []
    for x in xs:
        out.append(io(heapq.heappop(heap) + x))
    return out


@shape("sequential", "the work reads `out`", args=(XS,))
def condition_reads_what_the_commit_changes(xs):
    out = []
    for x in xs:
        out.append(io(x) if len(out) < 3 else None)
    return out


def _noisy_fetch(x):
    # An ordered effect that is not captured output (a print would be captured and replayed).
    _FETCH_LOG.write(f"fetching {x}\n")
    return io(x)


_FETCH_LOG = __import__("io").StringIO()


@shape("sequential", "_FETCH_LOG.write", args=(XS,))
def short_circuit_with_an_ordered_right_side(xs):
    cache = {2: "cached"}
    out = []
    for x in xs:
        out.append(cache.get(x) or _noisy_fetch(x))
    return out


@shape("sequential", "produces ordered output", args=([1, 0, 3],))
def conditional_with_an_ordered_branch(xs):
    out = []
    for x in xs:
        out.append(io(x) if x else print("empty"))
    return out


@shape("parallel", args=(XS,))
def short_circuit_skips_the_fetch(xs):
    cache = {2: "two", 4: "four"}
    out = []
    for x in xs:
        out.append(cache.get(x) or io(x))
    return out, calls()


@shape("parallel", args=(XS,))
def and_skips_the_fetch(xs):
    out = []
    for x in xs:
        out.append(x % 3 != 0 and io(x))
    return out, calls()


@shape("sequential", "`total`", args=(XS,))
def sub_expression_reads_a_carried_total(xs):
    d = {}
    total = 0
    for x in xs:
        d[x] = d.get(x, 0) + io(x + total)
        total += d[x]
    return d, total


@shape("parallel", args=([1, 2, 1, 3],), overlap=4)   # two calls per iteration, one after the other
def sub_expressions_of_a_call_argument(xs):
    seen = []
    for x in xs:
        seen.append((len(seen), io(x), str(io(-x))))
    return seen


@shape("parallel", args=(XS,))
def two_comprehensions_in_one_statement(xs):
    out = []
    for x in xs:
        got = io(x)
        out.append(([got * k for k in range(2)], [got + k for k in range(2)]))
    return out


@shape("parallel", args=([0, 1, 2, 3],))
def comprehension_fails_and_the_next_one_runs(xs):
    # The first comprehension's cleanup handler (3.12+) restores `k` and re-raises into the
    # statement's `except`; the second's handler is its own.
    out = []
    for x in xs:
        got = io(x)
        try:
            a = [10 // (k - 1) for k in range(got)]
        except ZeroDivisionError:
            a = None
        b = [v * got for v in (a or [])]
        out.append((a, b))
    return out


@shape("sequential", "changes `d`, the sequence it iterates over", args=({"a": 1, "b": 2, "c": 3},))
def adds_keys_to_the_dict_it_iterates(d):
    # Plain CPython raises RuntimeError (dictionary changed size during iteration) at the
    # second item, after the first store: the same error, at the same point.
    for k in d:
        d[k + "!"] = io(k)
    return d


@shape("sequential", "changes `d`, the sequence it iterates over", args=({"a": 1, "b": 2},))
def rebinds_the_key_before_storing(d):
    for k in d:
        k = k.upper()
        d[k] = io(k)
    return d


class _RenamingDict(dict):
    """A dict whose stores add a new key: `d[k] = v` in `for k in d` changes its size."""

    def __setitem__(self, key, value):
        super().__setitem__(key + "!", value)


@shape("sequential", "not a plain dict", args=(_RenamingDict(a=1, b=2, c=3),))
def replaces_values_of_a_dict_subclass_it_iterates(d):
    for k in d:
        d[k] = io(k)
    return d


@shape("sequential", "not a plain dict", args=([1, 0, 2],))
def stores_into_the_list_it_iterates(xs):
    # `xs[k]` may be a later item: the plain loop sees the stored value as its next item.
    for k in xs:
        xs[k] = io(k) + 1
    return xs


@shape("parallel", args=({"a": 1, "b": 2, "c": 3},))
def replaces_values_while_iterating_items(d):
    for k, v in d.items():
        d[k] = io(v) * 10
    return d


@shape("sequential", "changes `d`, the sequence it iterates over", args=({"a": 1, "b": 2, "c": 3},))
def adds_keys_while_iterating_items(d):
    for k, v in d.items():
        d[k + "!"] = io(v)
    return d


@shape("sequential", "changes `d`, the sequence it iterates over", args=({"a": 1, "b": 2, "c": 3},))
def stores_at_a_value_while_iterating_values(d):
    for v in d.values():
        d[v] = io(v)
    return d


@shape("parallel", args=(XS,))
def closures_share_the_cell_as_in_plain_code(xs):
    # Late binding: every lambda sees the last value of `got`; its stores run in order.
    fs = []
    for x in xs:
        got = io(x)
        fs.append(lambda: got)
    return [f() for f in fs]


@shape("parallel", args=(XS,))
def closure_reads_the_previous_iteration_cell(xs):
    prev = None
    out = []
    for x in xs:
        got = io(x)
        out.append((got, (lambda: prev)()))
        prev = got
    return out, prev


def _echo(value):
    return value


@shape("parallel", args=(XS,))
def work_through_a_closure_stays_in_order(xs):
    # `double` reads the cell `got`: the call of it stays in order, after the store.
    out = []
    for x in xs:
        got = io(x)
        double = lambda: got * 2   # noqa: E731
        out.append(_echo(double()))
    return out


@shape("sequential", "captured by a closure made outside the loop", args=(XS,))
def work_calls_a_closure_over_a_cell_the_loop_assigns(xs):
    # `peek` reads the cell `got`: called by the work, it would see an older value.
    got = 0
    peek = lambda: got   # noqa: E731
    out = []
    for x in xs:
        got = x * 10
        out.append(io(peek()))
    return out


@shape("sequential", "captured by a closure made outside the loop", args=(XS,))
def assigned_cell_value_calls_a_closure_over_it(xs):
    got = 0
    peek = lambda: got   # noqa: E731
    out = []
    for x in xs:
        got = io(x) + peek()
        out.append(got)
    return out


@shape("parallel", args=(XS,))
def carried_total_with_a_fetch_inside(xs):
    # `io(x)` reads only the item: it runs in the map part; the carried `total` is
    # computed in order from it.
    total = 0
    for x in xs:
        total = total * 2 + io(x)
    return total


@shape("sequential", "`total`", args=(XS,))
def fetch_of_a_carried_total(xs):
    total = 0
    for x in xs:
        total = io(total * 2 + x)
    return total


# ---------------------------------------------------------------------------- pacing


@shape("sequential", "paces the loop", args=(["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"],))
def sleeps_between_requests(urls):
    import urllib.request
    out = []
    for u in urls:
        try:
            out.append(urllib.request.urlopen(u, timeout=0.2).status)
        except OSError as error:
            out.append(type(error).__name__)
        time.sleep(0.001)   # a rate limit: one request per interval
    return out


@shape("parallel", args=(XS,))
def sleep_beside_work_that_reaches_no_server(xs):
    out = []
    for x in xs:
        out.append(io(x))
        time.sleep(0.001)
    return out
