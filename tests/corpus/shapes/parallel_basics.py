"""Loops that must run in parallel: the seed example, appends, stores, hoisted calls, counters
the work does not read, nested loops, comprehensions.

Rows of the corpus (`tests/corpus/shapes/__init__.py` gathers them; `common.py` says what a row is)."""
from __future__ import annotations

import contextlib

from tests.corpus.probe import fail_on, io
from tests.corpus.shapes.common import MODELS, XS, log, shape




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
