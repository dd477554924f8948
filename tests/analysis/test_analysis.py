"""The analysis layer: loops found, statements split and classified, refusals with lines."""
from __future__ import annotations

import time
import warnings

from bytecode import Instr

from xcs.analysis import Environment, analyze
from xcs.analysis.normalize import normalize
from xcs.analysis.refusal import Refusal
from xcs.api.words import words as words_of


def facts_of(fn):
    return analyze(fn.__code__, Environment(globals=fn.__globals__))


def fetch(x):
    time.sleep(0)
    return x


def seed(models, prompt):
    results = []
    for model in models:
        results.append(model.predict(prompt))
    return results


def test_seed_loop_is_split_into_target_commit_with_hoist_and_end():
    (loop,) = facts_of(seed).loops
    assert loop.parallel
    assert [s.kind for s in loop.statements] == ["map", "commit", "end"]
    assert loop.statements[0].writes == ("model",)
    assert len(loop.statements[1].hoists) == 1
    assert loop.inputs == ("prompt",)
    assert loop.line == seed.__code__.co_firstlineno + 2


def carried(xs):
    total = 0
    for x in xs:
        y = fetch(x + total)
        total += y
    return total


def test_carried_variable_named_with_line():
    (loop,) = facts_of(carried).loops
    assert not loop.parallel
    words = [words_of(r) for r in loop.reasons]
    first = carried.__code__.co_firstlineno
    assert any(f"line {first + 3}:" in w and "`total`" in w for w in words), words


def with_break(xs):
    for x in xs:
        if fetch(x):
            break
        print(x)


def test_break_runs_in_order_and_makes_the_loop_speculative():
    (loop,) = facts_of(with_break).loops
    assert loop.exits and loop.exits[0][0] in ("break", "return")   # 3.12+ turn this break into a return
    leaving = [st for st in loop.statements if st.exits]
    assert leaving and all(st.kind == "commit" for st in leaving)
    # What follows the statement that may leave runs only when it does not: in order too.
    after = loop.statements[loop.statements.index(leaving[0]) + 1:]
    assert all(st.kind != "map" for st in after)


def generator(xs):
    for x in xs:
        yield fetch(x)


def test_generator_function_is_left_alone():
    facts = facts_of(generator)
    assert facts.refusal.kind == "generator" and facts.loops == ()


def two_loops(xs):
    out = []
    for x in xs:
        out.append(fetch(x))
    for y in xs:
        print(y)
    return out


def test_every_loop_gets_facts():
    loops = facts_of(two_loops).loops
    assert [lp.parallel for lp in loops] == [True, False]


def nested(xs, ys):
    out = []
    for x in xs:
        row = []
        for y in ys:
            row.append(fetch(x * y))
        out.append(row)
    return out


def test_nested_loop_knows_its_enclosing_loop():
    outer, inner = facts_of(nested).loops
    assert inner.nested_in == outer.for_iter


def test_superinstructions_are_split():
    def f(a, b):
        return a + b

    names = {i.name for i in normalize(f.__code__) if isinstance(i, Instr)}
    assert not names & {"LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST"}


class Exploding:
    @property
    def predict(self):
        raise AssertionError("the analysis must not evaluate properties")


EXPLODING = Exploding()


def uses_property(xs):
    out = []
    for x in xs:
        out.append(EXPLODING.predict(x))
    return out


def test_analysis_reads_without_executing():
    (loop,) = facts_of(uses_property).loops
    assert loop.parallel


def test_refusal_words():
    assert words_of(Refusal("carried", 12, "total")).startswith("line 12: `total` is carried")
    assert words_of(Refusal("break", None)).startswith("`break`")


SHOWN: list = []


def show_item(item):
    # An ordered effect that is not captured output (a print would be captured and replayed),
    # and that a turn inside the callee cannot make exact: it reads, before the change, the
    # list it changes (a warning alone would take the turn, `xcs.analysis.callee_turns`).
    if item not in SHOWN:
        SHOWN.append(item)


def item_passed_to_an_ordered_call(xs):
    out = []
    for x in xs:
        show_item(x)
        out.append(fetch(x))
    return out


def test_the_loop_item_is_not_reported_as_changed_by_the_in_order_part():
    # `show_item(x)` runs in order; it may change the object `x` names, never rebind `x`.
    (loop,) = facts_of(item_passed_to_an_ordered_call).loops
    assert not loop.parallel
    assert not any(r.kind == "commit-read" and r.name == "x" for r in loop.reasons), loop.reasons
    words = [words_of(r) for r in loop.reasons]
    assert any("`x`, the loop's item" in w for w in words), words


def replace_values(d):
    for k in d:
        d[k] = fetch(k)
    return d


def replace_values_of_items(d):
    for k, v in d.items():
        d[k] = fetch(v)
    return d


def add_keys(d):
    for k in d:
        d[k + "!"] = fetch(k)
    return d


def test_replacing_values_of_the_iterated_dict_is_parallel_with_a_runtime_check():
    from xcs.evidence import guards

    for fn in (replace_values, replace_values_of_items):
        (loop,) = facts_of(fn).loops
        assert loop.parallel and loop.replaces_iterated_values, loop.reasons
        check = guards.iterable_check(loop)
        assert check(iter({"a": 1})) is None and check(iter({"a": 1}.items())) is None
        assert "not a plain dict" in check(iter([1, 2]))

        class Sub(dict):
            pass

        assert "not a plain dict" in check(iter(Sub(a=1)))
    (loop,) = facts_of(add_keys).loops
    assert not loop.parallel and not loop.replaces_iterated_values
    assert any(r.kind == "iterable-mutated" for r in loop.reasons)


def counts(xs):
    d = {}
    for x in xs:
        d[x] = d.get(x, 0) + fetch(x) * 2
    return d


def test_a_call_inside_an_argument_that_cannot_move_is_hoisted_alone():
    (loop,) = facts_of(counts).loops
    assert loop.parallel
    (commit,) = [s for s in loop.statements if s.kind == "commit"]
    (hoist,) = commit.hoists
    items = facts_of(counts).items
    names = [getattr(items[i], "arg", None) for i in range(hoist.start, hoist.stop)]
    assert "d" not in names and any("fetch" in str(n) for n in names), names
