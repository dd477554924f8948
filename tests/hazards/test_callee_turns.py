"""Callee turns: a helper that does blocking work and then an ordered effect (a store into a
global dict, an append to a shared list, a `nonlocal` rebinding, a file write) runs on a
worker through a variant that takes the iteration's turn before the effect. Each case is
compared with the plain function; overlap is proven with the gauge's rendezvous; cases the
turn cannot make exact stay in order."""
from __future__ import annotations

import os
import types
from unittest import mock

import pytest

import xcs
from tests.hazards.harness import io, measuring

STATUS: dict = {}
SHARED: list = []
FAILED: list = []


def store_status(x):
    r = io(x)
    STATUS[x] = r * 10


def loop_store(xs):
    STATUS.clear()
    for x in xs:
        store_status(x)
    return list(STATUS.items())


def append_shared(x):
    r = io(x)
    SHARED.append((x, r))


def loop_append(xs):
    SHARED.clear()
    for x in xs:
        append_shared(x)
    return list(SHARED)


def make_counting_loop():
    """A loop calling a closure callee that rebinds a `nonlocal` (resolved through the
    loop function's closure when it is analysed)."""
    count = 0
    seen = []

    def step(x):
        nonlocal count
        r = io(x)
        count += 1
        seen.append((count, r))

    def run(xs):
        for x in xs:
            step(x)
        return count, list(seen)

    return run


def fetch_or_record(x):
    try:
        return io(x) if x % 5 else int("bad")
    except ValueError:
        FAILED.append(x)   # the cold path: a turn only when it runs
        return None


def loop_error_path(xs):
    FAILED.clear()
    for x in xs:
        fetch_or_record(x)
    return list(FAILED)


def record_deep(x, r):
    STATUS[x] = r


def get_then_record(x):
    r = io(x)
    record_deep(x, r)


def helper_one(x):
    get_then_record(x)


def loop_two_deep(xs):
    STATUS.clear()
    for x in xs:
        get_then_record(x)
    return list(STATUS.items())


def count_into(x):
    n = len(STATUS)   # reads the dict it fills before the work: must see earlier iterations' stores
    r = io(x)
    STATUS[x] = n + r


def count_after(x):
    r = io(x)
    STATUS[x] = len(STATUS) + r   # reads it after the turn only: exact in parallel


def loop_reads_after(xs):
    STATUS.clear()
    for x in xs:
        count_after(x)
    return list(STATUS.items())


def loop_reads_own(xs):
    STATUS.clear()
    for x in xs:
        count_into(x)
    return list(STATUS.items())


def download(name, folder):
    body = io(name)
    target = os.path.join(folder, name)
    if os.path.exists(target):   # "skip if already downloaded": reads the file system
        return target
    with open(target, "w") as f:
        f.write(f"{body}\n")
    return target


def loop_download(names, folder):
    for name in names:
        download(name, folder)
    return sorted(os.listdir(folder))


def download_always(name, folder):
    body = io(name)
    target = os.path.join(folder, name)
    os.makedirs(folder, exist_ok=True)
    with open(target, "a") as f:
        f.write(f"{body}\n")


def loop_download_always(names, folder):
    for name in names:
        download_always(name, folder)


def fails_after(x):
    r = io(x)
    if x == 7:
        raise KeyError(x)
    STATUS[x] = r


def fails_before(x):
    if x == 7:
        raise KeyError(x)
    r = io(x)
    STATUS[x] = r


def loop_fails_after(xs):
    STATUS.clear()
    for x in xs:
        fails_after(x)


def loop_fails_before(xs):
    STATUS.clear()
    for x in xs:
        fails_before(x)


def _parallel(fn) -> bool:
    reports = xcs.explain(fn)
    return any(r.parallel for r in reports)


@pytest.mark.parametrize("loop, arg, reset", [
    (loop_store, list(range(20)), STATUS.clear),
    (loop_append, list(range(20)), SHARED.clear),
    (loop_error_path, list(range(1, 21)), FAILED.clear),
    (loop_reads_after, list(range(20)), STATUS.clear),
])
def test_effects_after_the_work_take_the_turn(loop, arg, reset):
    expected = loop(arg)
    reset()
    jitted = xcs.jit(parallel=True)(loop)   # the evidence is not what is tested: the split is
    with measuring(meet=2) as gauge:
        got = jitted(arg)
        assert gauge["peak"] >= 2, gauge["peak"]
    assert got == expected
    assert _parallel(jitted), [str(r) for r in xcs.explain(jitted)]


def test_a_closure_callee_rebinding_a_nonlocal_takes_the_turn():
    expected = make_counting_loop()(list(range(20)))
    jitted = xcs.jit(parallel=True)(make_counting_loop())
    with measuring(meet=2) as gauge:
        got = jitted(list(range(20)))
        assert gauge["peak"] >= 2, gauge["peak"]
    assert got == expected
    assert _parallel(jitted), [str(r) for r in xcs.explain(jitted)]


def test_explain_names_the_call_that_takes_its_turn():
    text = " ".join(str(r) for r in xcs.explain(xcs.jit(loop_store)))
    assert "in order: `store_status()` (line 30) from its turn on, inside the callee: store_status (line 24) " \
        "stores into `STATUS`" in text, text


def test_an_effect_in_a_helper_two_levels_down_is_exact():
    expected = loop_two_deep(list(range(16)))
    assert xcs.jit(loop_two_deep)(list(range(16))) == expected


def test_a_callee_reading_what_it_writes_stays_in_order():
    expected = loop_reads_own(list(range(12)))
    jitted = xcs.jit(loop_reads_own)
    assert jitted(list(range(12))) == expected
    assert not _parallel(jitted)


def test_skip_if_exists_then_write_stays_exact(tmp_path):
    names = ["a", "b", "a", "c", "b", "d"] * 2
    (tmp_path / "plain").mkdir()
    (tmp_path / "jit").mkdir()
    expected = loop_download(names, str(tmp_path / "plain"))
    jitted = xcs.jit(loop_download)
    assert jitted(names, str(tmp_path / "jit")) == expected == ["a", "b", "c", "d"]
    assert not _parallel(jitted)


def test_files_written_by_the_callee_keep_their_order(tmp_path):
    names = [f"n{k % 3}" for k in range(18)]
    loop_download_always(names, str(tmp_path / "plain"))
    jitted = xcs.jit(loop_download_always)
    with measuring(meet=2) as gauge:
        jitted(names, str(tmp_path / "jit"))
        assert gauge["peak"] >= 2, gauge["peak"]
    for name in set(names):
        assert (tmp_path / "jit" / name).read_text() == (tmp_path / "plain" / name).read_text()
    assert _parallel(jitted)


@pytest.mark.parametrize("loop", [loop_fails_after, loop_fails_before])
def test_the_earliest_failing_iteration_raises_and_later_effects_never_happen(loop):
    xs = list(range(20))
    with pytest.raises(KeyError) as plain_error:
        loop(xs)
    expected = dict(STATUS)
    jitted = xcs.jit(loop)
    with pytest.raises(KeyError) as error:
        jitted(xs)
    assert error.value.args == plain_error.value.args == (7,)
    assert STATUS == expected


def test_a_patched_callee_runs_as_patched():
    jitted = xcs.jit(loop_store)
    assert jitted(list(range(8))) == loop_store(list(range(8)))
    calls = []

    def other(x):
        calls.append(x)
        STATUS[x] = -x

    with mock.patch(f"{__name__}.store_status", other):
        assert jitted(list(range(8))) == [(x, -x) for x in range(8)]
    assert calls == list(range(8))
    assert jitted(list(range(8))) == [(x, x * 10) for x in range(8)]


def test_a_callee_whose_code_is_replaced_runs_the_new_code():
    jitted = xcs.jit(loop_store)
    assert jitted(list(range(8))) == loop_store(list(range(8)))
    original = store_status.__code__

    def replacement(x):
        STATUS[x] = x + 1000

    try:
        store_status.__code__ = replacement.__code__
        assert jitted(list(range(8))) == [(x, x + 1000) for x in range(8)]
    finally:
        store_status.__code__ = original
    assert jitted(list(range(8))) == [(x, x * 10) for x in range(8)]


def test_off_a_worker_the_variant_is_the_callee():
    from xcs.runtime import take_turn
    from xcs.transform.turns import callee_variant

    variant = callee_variant(store_status, (), take_turn)
    assert isinstance(variant, types.FunctionType) and variant.__globals__ is store_status.__globals__
    STATUS.clear()
    variant(3)
    assert STATUS == {3: 30}


def note(x, r):
    STATUS[x] = r


def two_paths(x):
    r = io(x)
    if x % 2:
        note(x, r)
    else:
        note(x, r)   # the same call on the other path: a walk reading `note` once would miss it


def loop_two_paths(xs):
    STATUS.clear()
    for x in xs:
        two_paths(x)
    return list(STATUS.items())


def _env_for(fn):
    from xcs.evidence.environment import environment

    return environment(fn)


def _lines(fn, points):
    from xcs.analysis.normalize import normalize

    items = list(normalize(fn.__code__))
    return [items[p].lineno - fn.__code__.co_firstlineno for p in points]


def test_a_helper_two_statements_call_takes_the_turn_at_both():
    from xcs.analysis.callee_turns import callee_turns

    turns = callee_turns(two_paths, _env_for, frozenset())
    assert _lines(two_paths, turns.points) == [3, 5]
    assert loop_two_paths(list(range(16))) == xcs.jit(parallel=True)(loop_two_paths)(list(range(16)))


def test_an_effect_on_the_error_path_takes_the_turn_only_there():
    from xcs.analysis.callee_turns import callee_turns

    turns = callee_turns(fetch_or_record, _env_for, frozenset())
    assert _lines(fetch_or_record, turns.points) == [4]   # `FAILED.append(x)`, inside the handler


def chatty(x):
    print("fetching", x)   # before the turn: captured, replayed in order
    r = io(x)
    STATUS[x] = r
    print("stored", x)     # after the turn: straight through, in order


def loop_chatty(xs):
    STATUS.clear()
    for x in xs:
        chatty(x)
    return list(STATUS.items())


def test_output_around_the_turn_keeps_its_order(capsys):
    expected = loop_chatty(list(range(12)))
    plain_out = capsys.readouterr().out
    jitted = xcs.jit(parallel=True)(loop_chatty)
    with measuring(meet=2) as gauge:
        got = jitted(list(range(12)))
        assert gauge["peak"] >= 2, gauge["peak"]
    assert got == expected
    assert capsys.readouterr().out == plain_out


def loop_commit_first(xs):
    STATUS.clear()
    out = []
    for x in xs:
        out.append(x)       # in order, before the call in the plain loop
        store_status(x)
    return out, list(STATUS.items())


def loop_reads_in_another_statement(xs):
    STATUS.clear()
    seen = []
    for x in xs:
        store_status(x)
        before = STATUS.get(x - 1)   # reads what earlier iterations' turns wrote
        seen.append(before)
    return seen


def loop_hoisted(xs):
    STATUS.clear()
    out = []
    for x in xs:
        out.append(store_status(x))
    return out, list(STATUS.items())


@pytest.mark.parametrize("loop", [loop_commit_first, loop_reads_in_another_statement, loop_hoisted])
def test_turns_the_obligation_refuses_stay_exact(loop):
    xs = list(range(16))
    expected = loop(xs)
    jitted = xcs.jit(parallel=True)(loop)
    assert jitted(xs) == expected
    assert not any(c for r in xcs.explain(jitted) for c in r.in_order if "from its turn on" in c)


def store_recursively(x, depth=1):
    r = io(x)
    if depth:
        store_recursively(x, depth - 1)   # runs the original code: its append must wait too
    SHARED.append((x, depth, r))


def loop_recursive(xs):
    SHARED.clear()
    for x in xs:
        store_recursively(x)
    return list(SHARED)


def test_a_callee_calling_itself_takes_the_turn_before_the_call():
    from xcs.analysis.callee_turns import callee_turns

    turns = callee_turns(store_recursively, _env_for, frozenset({"x"}))
    assert _lines(store_recursively, turns.points) == [3, 4]
    xs = list(range(12))
    assert xcs.jit(parallel=True)(loop_recursive)(xs) == loop_recursive(xs)


def test_on_worker_processes_the_results_are_the_plain_ones():
    xs = list(range(8))
    expected = loop_store(xs)
    assert xcs.jit(executor="processes")(loop_store)(xs) == expected


def store_with_default(x, scale=10, *, offset=1):
    r = io(x) * scale + offset   # reads parameters left at their (plain) defaults
    STATUS[x] = r


def loop_defaults(xs):
    STATUS.clear()
    for x in xs:
        store_with_default(x)
    return list(STATUS.items())


def test_parameters_left_at_plain_defaults_are_not_shared_reads():
    xs = list(range(16))
    expected = loop_defaults(xs)
    jitted = xcs.jit(parallel=True)(loop_defaults)
    with measuring(meet=2) as gauge:
        assert jitted(xs) == expected
        assert gauge["peak"] >= 2, gauge["peak"]


def store_scaled(x, scale=10):
    r = io(x, delay=0.002 * (12 - x % 12))   # later items finish first unless the order is kept
    SHARED.append((x, r * scale))


def loop_scaled(xs):
    SHARED.clear()
    for x in xs:
        store_scaled(x)
    return list(SHARED)


def test_a_callee_whose_defaults_are_replaced_runs_in_order():
    xs = list(range(12))
    jitted = xcs.jit(parallel=True)(loop_scaled)
    assert jitted(xs) == loop_scaled(xs)
    original = store_scaled.__defaults__
    try:
        store_scaled.__defaults__ = (-1,)
        expected = loop_scaled(xs)
        assert jitted(xs) == expected == [(x, -x) for x in xs]
    finally:
        store_scaled.__defaults__ = original
