"""The walker over callables: summaries of small callee chains, as data."""
from __future__ import annotations

import functools
import time

from xcs.analysis import effects, walker
from xcs.analysis.effects import Environment


def env_for(f):
    closure = dict(zip(f.__code__.co_freevars, f.__closure__ or ()))
    return Environment(globals=f.__globals__, closure=closure)


RESULTS: list = []
SEEN: set = set()
LIMIT = {"n": 3}


def leaf(acc, x):
    acc.append(x)


def middle(acc, x):
    leaf(acc, x)


def top(x):
    middle(RESULTS, x)


def test_a_write_two_levels_down_appears_with_its_path():
    summary = walker.summarize(top, env_for)
    assert not summary.pure
    writes = [f for f in summary.facts if f.kind == walker.WRITE]
    assert [f.path for f in writes] == [("top", "middle", "leaf")]
    # The parameter written in `leaf` is the global the top passed down.
    assert summary.writes == {walker.Write("global", "RESULTS", ".append()")}
    assert summary.first() == effects.ordered_effects_in(top, env_for)


def test_a_write_into_a_parameter_stays_a_parameter_write():
    summary = walker.summarize(middle, env_for)
    assert summary.writes == {walker.Write("param", "acc", ".append()")}


def pure_leaf(x):
    return x * 2


def chain_5(x):
    return pure_leaf(x)


def chain_4(x):
    return chain_5(x)


def chain_3(x):
    return chain_4(x)


def chain_2(x):
    return chain_3(x)


def chain_1(x):
    return chain_2(x)


def test_a_cut_off_at_the_depth_budget_is_unknown_never_pure():
    assert walker.summarize(chain_1, env_for, depth=10).pure   # seen to the bottom: pure
    summary = walker.summarize(chain_1, env_for, depth=3)
    assert not summary.pure
    assert [f.kind for f in summary.facts] == [walker.UNKNOWN]
    assert summary.unknown[0].path == ("chain_1", "chain_2", "chain_3", "chain_4")
    assert "deeper than XCS follows" in summary.first()


def ping(n):
    if n:
        pong(n - 1)


def pong(n):
    if n:
        ping(n - 1)
    print(n)


def test_a_cycle_terminates_and_keeps_what_it_found():
    summary = walker.summarize(ping, env_for)
    assert [(f.kind, f.path) for f in summary.facts] == [(walker.ORDERED, ("ping", "pong"))]


def self_recursive(n):
    return self_recursive(n - 1) if n else 0


def test_a_self_recursive_pure_function_is_pure():
    assert walker.summarize(self_recursive, env_for).pure


def reads_seen(x):
    return x in SEEN


def reads_through_a_callee(x):
    return reads_seen(x) + LIMIT["n"]


def test_read_sets_include_globals_read_by_callees():
    reads = walker.summarize(reads_through_a_callee, env_for).reads
    space = id(globals())
    assert effects.Read("global", (space, "SEEN")) in reads
    assert effects.Read("global", (space, "LIMIT")) in reads
    assert reads == effects.shared_reads(reads_through_a_callee, env_for)


COUNT = 0


def bump():
    global COUNT
    COUNT += 1


def make_counter():
    n = 0

    def inc():
        nonlocal n
        n += 1
    return inc


def test_global_and_nonlocal_rebinding_are_writes_by_name():
    assert walker.summarize(bump, env_for).writes == {walker.Write("global", "COUNT")}
    assert walker.summarize(make_counter(), env_for).writes == {walker.Write("cell", "n")}


def many_effects(x):
    print(x)
    RESULTS.append(x)
    return x


def test_the_summary_lists_every_fact_and_the_first_is_what_ordered_effects_in_says():
    summary = walker.summarize(many_effects, env_for)
    assert [f.kind for f in summary.facts] == [walker.ORDERED, walker.WRITE]
    assert summary.first() == effects.ordered_effects_in(many_effects, env_for)
    assert effects.ordered_effects_in(pure_leaf, env_for) is None


class Thing:
    def method(self, x):
        return x

    def __call__(self, x):
        return x

    @property
    def prop(self):
        return 1


def test_resolve_looks_through_partials_methods_wrappers_and_callable_objects():
    thing = Thing()
    found = walker.resolve(functools.partial(thing.method, 1))
    assert found.function is Thing.method and found.receiver is thing and not found.cut
    found = walker.resolve(thing)
    assert found.function is Thing.__call__ and found.receiver is thing
    assert walker.resolve(vars(Thing)["prop"]).function is vars(Thing)["prop"].fget
    cached = functools.lru_cache(pure_leaf)
    assert walker.resolve(cached).function is pure_leaf
    found = walker.resolve(len)
    assert found.function is None and found.opaque is len
    assert walker.resolve(Thing).opaque is Thing and walker.constructor(Thing) is None


def test_running_out_of_layers_is_reported_as_cut():
    deep = pure_leaf
    for _ in range(walker.MAX_LAYERS + 1):
        deep = functools.lru_cache(deep)   # partial(partial(f)) flattens; caches nest
    found = walker.resolve(deep)
    assert found.cut and found.function is None


def sleepy(x):
    time.sleep(0.001)


def calls_sleepy(x):
    return sleepy(x)


def test_references_carry_their_path_and_kind():
    def classify(obj):
        return "blocking" if obj is time.sleep else None

    refs = walker.references(calls_sleepy, classify, lambda name: None)
    assert [(r.kind, r.name) for r in refs] == [("blocking", "time.sleep")]
    assert refs[0].path == (f"{__name__}.calls_sleepy",)
    summary = walker.summarize(calls_sleepy, env_for, classify=classify, classify_name=lambda name: None)
    assert [r.name for r in summary.blocking()] == ["time.sleep"]


def test_one_name_normaliser_for_tables_and_registry():
    import random

    from xcs.analysis import names

    # A bound method of a C type is named after its defining class, so the effect tables'
    # `_random.Random.random` entry matches `random.random` (the module's shared generator).
    assert effects.qualified_name(random.random) == names.qualified_name(random.random) == "_random.Random.random"
    assert effects.is_ordered_callable(random.random, Environment())
    # A wrapper made by `functools.update_wrapper` answers to what it wraps.
    assert names.qualified_name(functools.lru_cache(pure_leaf)) == f"{__name__}.pure_leaf"


class Node:
    def __init__(self, n):
        self.child = Node(n - 1) if n else None


def builds_a_tree(x):
    return Node(x)


def test_a_class_that_builds_itself_is_read_once_in_the_same_walk():
    # Constructing a class used to start a new walk (new depth, new cycle set): a tree node
    # building its children recursed to Python's recursion limit and read as "could not be read".
    assert walker.summarize(builds_a_tree, env_for).pure
    assert effects.ordered_effects_in(builds_a_tree, env_for) is None


# ----------------------------------------------------------------- dependencies: what resolving rests on


def _dep_leaf(x):
    return _dep_sink(x)


def _dep_sink(x):
    return x


def _dep_middle(x):
    return _dep_leaf(x) + _DEP_LIMIT


_DEP_LIMIT = 3   # plain data: not a dependency


class _DepCaller:
    def __call__(self, x):
        return _dep_middle(x)


def _dep_with_cell():
    helper = _dep_leaf

    def inner(x):
        return helper(x)
    return inner


def test_dependencies_report_names_two_levels_down_through_a_partial_of_a_callable_object():
    found = walker.dependencies([functools.partial(_DepCaller(), 1)])
    pairs = {(d.kind, d.name) for d in found}
    assert (walker.ATTRIBUTE, "__call__") in pairs                     # the callable object's class
    assert (walker.NAME, "_dep_middle") in pairs and (walker.NAME, "_dep_leaf") in pairs
    assert (walker.NAME, "_dep_sink") in pairs                          # read two levels below the root
    codes = {d.holder for d in found if d.kind == walker.CODE}
    assert {_DepCaller.__call__, _dep_middle, _dep_leaf, _dep_sink} <= codes
    assert (walker.NAME, "_DEP_LIMIT") not in pairs


def test_dependencies_report_cells_and_methods_found_on_the_receiver():
    cells = [d for d in walker.dependencies([_dep_with_cell()]) if d.kind == walker.CELL]
    assert [d.value for d in cells] == [_dep_leaf]

    class Holder:
        def run(self, x):
            return self.step(x)

        def step(self, x):
            return _dep_leaf(x)

    found = walker.dependencies([Holder().run])
    assert any(d.kind == walker.ATTRIBUTE and d.holder is Holder and d.name == "step" for d in found)
    assert any(d.kind == walker.NAME and d.name == "_dep_sink" for d in found)
