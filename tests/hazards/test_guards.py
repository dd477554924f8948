"""Guards: every assumption the analysis made is re-checked at each loop start.

Each test first runs the jitted function while its callees are pure (the loop is decided
parallel, and the test proves it did run in parallel), then changes what a callee is — a
`mock.patch` of a global a callee calls, a replaced `__code__`, a monkeypatched method, a
rebound closure cell — so the callee now prints or appends to a shared list. The jitted
function must then still be observably the plain one.
"""
from __future__ import annotations

import builtins
import functools
import sys
from unittest import mock

import pytest

import xcs
from tests.hazards.harness import io, observe, peak_of, same, slow

shared: list = []


def reset():
    shared.clear()


def same_now(fn, jitted, make_args, runs=2):
    """`jitted` is observably `fn` now (after a change to what their callees are)."""
    for n in range(runs):
        reset()
        expected = observe(fn, make_args)
        reset()
        got = observe(jitted, make_args)
        for key in expected:
            assert got[key] == expected[key], (
                f"run {n + 1}: {key} differs\nplain: {expected[key]!r}\njit:   {got[key]!r}\n"
                + "\n".join(map(str, xcs.explain(jitted))))


def parallel_now(jitted, *args):
    """Prove the loop runs in parallel (its `io` calls meet at a barrier of 4)."""
    _, peak = peak_of(jitted, *args, overlap=4)
    assert peak >= 4


def items():
    return (list(range(8)),)


# ----------------------------------------------------------------- a global a callee calls, patched


def step(x):
    return x * 2


def noisy_step(x):
    slow(x)
    print("step", x)
    shared.append(x)
    return x * 2


def helper(x):
    return step(io(x))


def through_helper(xs):
    out = []
    for x in xs:
        out.append(helper(x))
    return out, list(shared)


def test_mock_patch_of_a_global_a_callee_calls():
    jitted = same(through_helper, items, setup=reset)
    parallel_now(jitted, list(range(8)))
    with mock.patch(f"{__name__}.step", noisy_step):
        same_now(through_helper, jitted, items)
    same_now(through_helper, jitted, items)
    parallel_now(jitted, list(range(8)))   # unpatched: parallel again


def outer_helper(x):
    return helper(x) + 1


def two_levels_down(xs):
    out = []
    for x in xs:
        out.append(outer_helper(x))
    return out, list(shared)


def test_mock_patch_two_calls_down():
    jitted = same(two_levels_down, items, setup=reset)
    parallel_now(jitted, list(range(8)))
    with mock.patch(f"{__name__}.step", noisy_step):
        same_now(two_levels_down, jitted, items)


_this_module = sys.modules[__name__]


def via_module(x):
    # Through a module held in a global (`sys.modules[__name__].step` is a subscript XCS
    # cannot resolve, so it is unknown and ordered: no parallel run to compare with).
    return _this_module.step(io(x))


def through_module_attribute(xs):
    out = []
    for x in xs:
        out.append(via_module(x))
    return out, list(shared)


def test_mock_patch_of_a_function_a_callee_reaches_through_a_module():
    jitted = same(through_module_attribute, items, setup=reset)
    parallel_now(jitted, list(range(8)))
    with mock.patch(f"{__name__}.step", noisy_step):
        same_now(through_module_attribute, jitted, items)


# ----------------------------------------------------------------- __code__ replaced after the verdict


def work(x):
    return io(x) + 1


def noisy_work(x):
    slow(x)
    print("work", x)
    return x + 1


def direct_work(xs):
    out = []
    for x in xs:
        out.append(work(x))
    return out


def test_code_of_a_called_function_replaced():
    original = work.__code__
    jitted = same(direct_work, items)
    parallel_now(jitted, list(range(8)))
    try:
        work.__code__ = noisy_work.__code__
        same_now(direct_work, jitted, items)
    finally:
        work.__code__ = original
    parallel_now(jitted, list(range(8)))


def inner(x):
    return x - 1


def noisy_inner(x):
    slow(x)
    shared.append(x)
    return x - 1


def calls_inner(x):
    return inner(io(x))


def indirect_work(xs):
    out = []
    for x in xs:
        out.append(calls_inner(x))
    return out, list(shared)


def test_code_of_a_callees_callee_replaced():
    original = inner.__code__
    jitted = same(indirect_work, items, setup=reset)
    parallel_now(jitted, list(range(8)))
    try:
        inner.__code__ = noisy_inner.__code__
        same_now(indirect_work, jitted, items)
    finally:
        inner.__code__ = original


# ----------------------------------------------------------------- methods monkeypatched after a per-type verdict


class Model:
    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return type(other) is Model and other.k == self.k

    __hash__ = None

    def predict(self, x):
        return io(x) * self.k


def noisy_predict(self, x):
    slow(self.k)
    print("predict", self.k, x)
    return x * self.k


def ensemble(models):
    out = []
    for m in models:
        out.append(m.predict(3))
    return out


def models():
    return ([Model(k) for k in range(8)],)


def test_method_of_the_items_type_monkeypatched():
    jitted = same(ensemble, models)
    parallel_now(jitted, [Model(k) for k in range(8)])
    with mock.patch.object(Model, "predict", noisy_predict):
        same_now(ensemble, jitted, models)
    parallel_now(jitted, [Model(k) for k in range(8)])


def test_code_of_the_items_method_replaced():
    original = Model.predict.__code__
    jitted = same(ensemble, models)
    try:
        Model.predict.__code__ = noisy_predict.__code__
        same_now(ensemble, jitted, models)
    finally:
        Model.predict.__code__ = original


class Scorer:
    def score(self, x):
        return io(x)


def noisy_score(self, x):
    slow(x)
    shared.append(x)
    return x


scorer = Scorer()


def score_it(x):
    return scorer.score(x) + 1


def through_a_global_instance(xs):
    out = []
    for x in xs:
        out.append(score_it(x))
    return out, list(shared)


def test_method_of_an_object_a_callee_uses_monkeypatched():
    jitted = same(through_a_global_instance, items, setup=reset)
    parallel_now(jitted, list(range(8)))
    with mock.patch.object(Scorer, "score", noisy_score):
        same_now(through_a_global_instance, jitted, items)


# ----------------------------------------------------------------- closure cells rebound


def make_pipeline():
    transform = step

    def apply(x):
        return transform(io(x))

    def swap(new):
        nonlocal transform
        transform = new

    return apply, swap


apply, swap = make_pipeline()


def through_a_closure(xs):
    out = []
    for x in xs:
        out.append(apply(x))
    return out, list(shared)


def test_closure_cell_of_a_callee_rebound():
    jitted = same(through_a_closure, items, setup=reset)
    parallel_now(jitted, list(range(8)))
    swap(noisy_step)
    try:
        same_now(through_a_closure, jitted, items)
    finally:
        swap(step)
    parallel_now(jitted, list(range(8)))


def make_loop():
    fn = step

    def loop(xs):
        out = []
        for x in xs:
            out.append(fn(io(x)))
        return out, list(shared)

    def rebind(new):
        nonlocal fn
        fn = new

    return loop, rebind


@pytest.mark.parametrize("policy", [True, "auto"])
def test_closure_cell_of_the_loops_function_rebound(policy):
    loop, rebind = make_loop()
    jitted = xcs.jit(loop, parallel=policy)
    same_now(loop, jitted, items)
    parallel_now(jitted, list(range(8)))
    rebind(noisy_step)
    same_now(loop, jitted, items)


# ----------------------------------------------------------------- what a guard must not catch, and what else it must


class Client:
    def get(self, x):
        return io(x)


client = Client()


def fetch_with_client(x):
    return client.get(x)


def through_a_global_client(xs):
    out = []
    for x in xs:
        out.append(fetch_with_client(x))
    return out


def test_a_global_rebound_to_another_object_of_the_same_class_stays_parallel():
    global client
    jitted = same(through_a_global_client, items)
    old = client
    try:
        client = Client()
        same_now(through_a_global_client, jitted, items)
        parallel_now(jitted, list(range(8)))
    finally:
        client = old


def measure(x):
    return len(str(io(x)))


def through_a_builtin(xs):
    out = []
    for x in xs:
        out.append(measure(x))
    return out, list(shared)


def noisy_len(x):
    slow(builtins.len(x))
    shared.append(x)
    return 1


def test_a_builtin_a_callee_calls_shadowed_by_a_module_global():
    jitted = same(through_a_builtin, items, setup=reset)
    parallel_now(jitted, list(range(8)))
    globals()["len"] = noisy_len
    try:
        same_now(through_a_builtin, jitted, items)
    finally:
        del globals()["len"]
    parallel_now(jitted, list(range(8)))


def models_one_noisy():
    members = [Model(k) for k in range(8)]
    for k in (3, 5):
        members[k].predict = noisy_predict.__get__(members[k])
    return (members,)


def test_an_item_with_its_own_noisy_method_among_items_of_one_class():
    jitted = same(ensemble, models)     # decided, and item verdicts cached for `Model`
    same_now(ensemble, jitted, models_one_noisy)


@functools.lru_cache(maxsize=None)
def cached_helper(x):
    return step(io(x))


def through_a_cached_helper(xs):
    out = []
    for x in xs:
        out.append(cached_helper(x))
    return out, list(shared)


def test_mock_patch_of_a_global_an_lru_cached_callee_calls():
    cached_helper.cache_clear()
    jitted = same(through_a_cached_helper, items, setup=lambda: (reset(), cached_helper.cache_clear()))
    with mock.patch(f"{__name__}.step", noisy_step):
        for _ in range(2):
            cached_helper.cache_clear()
            reset()
            expected = observe(through_a_cached_helper, items)
            cached_helper.cache_clear()
            reset()
            got = observe(jitted, items)
            assert got == expected, "\n".join(map(str, xcs.explain(jitted)))


def plain_helper(x):
    return io(x) * 3


jitted_helper = xcs.jit(plain_helper, parallel=False)


def through_a_jitted_helper(xs):
    out = []
    for x in xs:
        out.append(jitted_helper(x))
    return out


def test_a_callee_that_is_itself_jitted_does_not_count_as_replaced_code():
    """XCS swaps the `__code__` of a `@xcs.jit` function on its first call (and back, when
    evidence says its loops are not worth it): that is not the user replacing it."""
    global jitted_helper
    jitted_helper = xcs.jit(plain_helper, parallel=False)   # not called yet: still its first-call code
    jitted = xcs.jit(through_a_jitted_helper, parallel=True)
    assert jitted(list(range(8))) == [x * 3 for x in range(8)]   # analysed before the helper's first call
    parallel_now(jitted, list(range(8)))
    same_now(through_a_jitted_helper, jitted, items)


# ----------------------------------------------------------------- guards from the walker's one resolution
#
# The guards rest on what `walker.dependencies` reports: what `walker.resolve` looked through
# (a partial, a callable object's `__call__`, a bound method) and the names the functions it
# reaches read, two levels below the loop's own callee.


class Stage:
    def __call__(self, x, offset):
        return calls_step(x) + offset


def calls_step(x):
    return step(io(x))


staged = functools.partial(Stage(), offset=0)


def through_a_partial_of_a_callable_object(xs):
    out = []
    for x in xs:
        out.append(staged(x))
    return out, list(shared)


def test_mock_patch_below_a_partial_of_a_callable_object():
    """`staged` -> partial -> `Stage.__call__` -> `calls_step` -> the global `step`, patched."""
    jitted = same(through_a_partial_of_a_callable_object, items, setup=reset)
    parallel_now(jitted, list(range(8)))
    with mock.patch(f"{__name__}.step", noisy_step):
        same_now(through_a_partial_of_a_callable_object, jitted, items)
    parallel_now(jitted, list(range(8)))


class Parser:
    def parse(self, x):
        return self.clean(io(x))

    def clean(self, x):
        return x + 1


def noisy_clean(self, x):
    slow(x)
    shared.append(x)
    return x + 1


def parse_all(parse, xs):
    out = []
    for x in xs:
        out.append(parse(x))
    return out, list(shared)


def test_a_method_a_cached_verdict_rests_on_monkeypatched_re_decides():
    """The loop's input `parser.parse` is judged once per (callable, receiver type) and the
    verdict cached; `Parser.clean`, which it calls through `self`, is monkeypatched after:
    the cached verdict no longer holds and the loop stays observably plain."""
    parser = Parser()

    def make_args():
        return (parser.parse, list(range(8)))

    jitted = same(parse_all, make_args, setup=reset)
    parallel_now(jitted, parser.parse, list(range(8)))
    with mock.patch.object(Parser, "clean", noisy_clean):
        same_now(parse_all, jitted, make_args)
    parallel_now(jitted, parser.parse, list(range(8)))


def test_the_cached_call_verdict_is_dropped_when_the_method_it_rests_on_changes():
    from xcs.evidence.guards import call_verdict

    parser, verdicts = Parser(), {}
    assert call_verdict(parser.parse, None, verdicts) is None
    assert len(verdicts) == 1
    with mock.patch.object(Parser, "clean", noisy_clean):
        found = call_verdict(parser.parse, None, verdicts)
        assert found is not None and "shared" in found, found
    assert call_verdict(parser.parse, None, verdicts) is None
