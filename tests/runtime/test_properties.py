"""Property: under random sizes, delays, window and failure positions, `ordered_map` yields
exactly what the sequential loop would, and never pulls more than `window` ahead."""
from __future__ import annotations

import threading

from hypothesis import given, settings, strategies as st

from xcs.runtime import ordered_map, run_inline
from xcs.runtime.ordered import default_window


class Fail(Exception):
    pass


def sequential(xs, fails):
    """What a plain loop computing `body(x)` for each x yields under the protocol."""
    out = []
    for x in xs:
        if x in fails:
            out.append(("fail", x))
            break
        out.append((None, x * 3))
    return out


def normalized(results):
    return [("fail", r[0].args[0]) if len(r) == 1 else r for r in results]


cases = st.integers(0, 25).flatmap(
    lambda n: st.tuples(
        st.just(list(range(n))),
        st.lists(st.sampled_from([0.0, 0.0005, 0.002]), min_size=n, max_size=n),
        st.frozensets(st.integers(0, max(n - 1, 0)), max_size=3),
        st.one_of(st.none(), st.integers(0, max(n, 0))),   # source fails at this position
        st.integers(1, 6),                                   # max_workers
        st.one_of(st.none(), st.integers(1, 8)),             # window
    )
)


@settings(max_examples=60, deadline=None)
@given(cases)
def test_parallel_results_equal_the_sequential_loop(case):
    xs, delays, fails, source_fails_at, workers, window = case
    effective = default_window(workers) if window is None else window
    pause = threading.Event()
    yielded = [0]
    ahead = []

    def source():
        for n, x in enumerate(xs):
            if n == source_fails_at:
                raise Fail(f"source {n}")
            ahead.append(n + 1 - yielded[0])
            yield x
        if source_fails_at == len(xs):
            raise Fail(f"source {len(xs)}")

    def body(x):
        pause.wait(delays[x])       # random per-item delay: completions arrive out of order
        if x in fails:
            raise Fail(x)
        return (None, x * 3)

    results = []
    for result in ordered_map(body, source(), max_workers=workers, window=window):
        results.append(result)
        yielded[0] += 1

    cut = xs if source_fails_at is None else xs[:source_fails_at]
    expected = sequential(cut, fails)
    if source_fails_at is not None and len(expected) == len(cut) and not any(x in fails for x in cut):
        expected.append(("fail", f"source {source_fails_at}"))
    assert normalized(results) == expected
    assert all(a <= effective for a in ahead)
    assert normalized(list(run_inline(body, iter(cut)))) == sequential(cut, fails)
