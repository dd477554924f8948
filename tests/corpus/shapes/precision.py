"""Precision: shapes once refused though nothing in them needs order (each must run in
parallel), and shapes that try to break each relaxed rule (each compared with plain CPython).

Rows of the corpus (`tests/corpus/shapes/__init__.py` gathers them; `common.py` says what a row is)."""
from __future__ import annotations

from tests.corpus.probe import calls, io
from tests.corpus.shapes.common import XS, shape


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


@shape("sequential", "commit:outer-call", subject="heapq.heappop", args=(XS,))
def the_work_needs_a_shared_heap_pop(xs):
    import heapq
    heap = [5, 1, 4, 2, 3, 0, 9]
    out = []
    for x in xs:
        out.append(io(heapq.heappop(heap) + x))
    return out


@shape("sequential", "commit-read", subject="out", args=(XS,))
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


@shape("sequential", "commit:ordered-callee", subject="_FETCH_LOG.write", args=(XS,))
def short_circuit_with_an_ordered_right_side(xs):
    cache = {2: "cached"}
    out = []
    for x in xs:
        out.append(cache.get(x) or _noisy_fetch(x))
    return out


@shape("sequential", "commit:ordered", args=([1, 0, 3],))
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


@shape("sequential", "carried", subject="total", args=(XS,))
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


@shape("sequential", "iterable-mutated", subject="d", args=({"a": 1, "b": 2, "c": 3},))
def adds_keys_to_the_dict_it_iterates(d):
    # Plain CPython raises RuntimeError (dictionary changed size during iteration) at the
    # second item, after the first store: the same error, at the same point.
    for k in d:
        d[k + "!"] = io(k)
    return d


@shape("sequential", "iterable-mutated", subject="d", args=({"a": 1, "b": 2},))
def rebinds_the_key_before_storing(d):
    for k in d:
        k = k.upper()
        d[k] = io(k)
    return d


class _RenamingDict(dict):
    """A dict whose stores add a new key: `d[k] = v` in `for k in d` changes its size."""

    def __setitem__(self, key, value):
        super().__setitem__(key + "!", value)


@shape("sequential", "run:in-order", args=(_RenamingDict(a=1, b=2, c=3),))
def replaces_values_of_a_dict_subclass_it_iterates(d):
    for k in d:
        d[k] = io(k)
    return d


@shape("sequential", "run:in-order", args=([1, 0, 2],))
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


@shape("sequential", "iterable-mutated", subject="d", args=({"a": 1, "b": 2, "c": 3},))
def adds_keys_while_iterating_items(d):
    for k, v in d.items():
        d[k + "!"] = io(v)
    return d


@shape("sequential", "iterable-mutated", subject="d", args=({"a": 1, "b": 2, "c": 3},))
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


@shape("sequential", "captured-outside", args=(XS,))
def work_calls_a_closure_over_a_cell_the_loop_assigns(xs):
    # `peek` reads the cell `got`: called by the work, it would see an older value.
    got = 0
    peek = lambda: got   # noqa: E731
    out = []
    for x in xs:
        got = x * 10
        out.append(io(peek()))
    return out


@shape("sequential", "captured-outside", args=(XS,))
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


@shape("sequential", "carried", subject="total", args=(XS,))
def fetch_of_a_carried_total(xs):
    total = 0
    for x in xs:
        total = io(total * 2 + x)
    return total
