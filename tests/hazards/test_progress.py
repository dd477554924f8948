"""Progress bars: a loop over a tqdm bar runs in parallel, and the bar ends as the plain loop
leaves it.

XCS pulls the items from the bar's iterable and runs the bar's own `__iter__` over the
ordered results (`xcs.runtime.progress`). Each case runs a loop plainly and through
`xcs.jit` (twice: the first call decides) on bars writing to their own `io.StringIO`, and
compares what does not depend on the clock: the loop's outcome, the bar's `n`, `total`,
`disable`, whether it is still open, and the count of its last render ("8/8", "8it"). The
parallel runs pass a barrier of `OVERLAP` `io` calls, which a sequential run cannot.
"""
from __future__ import annotations

import io as text_io
import itertools
import re
import subprocess
import sys
import textwrap

import pytest

tqdm_std = pytest.importorskip("tqdm.std")

import xcs  # noqa: E402
from tests.corpus.probe import fail_on  # noqa: E402
from tests.hazards.harness import io, measuring  # noqa: E402
from tqdm import tqdm, trange  # noqa: E402
from tqdm.auto import tqdm as auto_tqdm  # noqa: E402
from xcs.runtime import ordered_map  # noqa: E402
from xcs.runtime.progress import find_bar  # noqa: E402

OVERLAP = 2     # items come in multiples of it: the barrier releases only full groups
ITEMS = list(range(8))
_COUNT = re.compile(r"\d+/\d+|\d+it")


def last_count(text: str) -> str | None:
    """The count of the last render in `text` ("8/8", "8it"), without the clock's fields."""
    renders = [part for part in re.split(r"[\r\n]", text) if part.strip()]
    found = _COUNT.findall(renders[-1]) if renders else []
    return found[0] if found else None


def bar(iterable=ITEMS, **options):
    return tqdm(iterable, file=text_io.StringIO(), **options)


def state(b) -> dict:
    """What the plain loop leaves of a bar, without the clock: counts, flags, last count shown."""
    fp = getattr(b, "fp", None)        # a disabled bar has no file
    text = fp.getvalue() if hasattr(fp, "getvalue") else ""
    return {"n": b.n, "total": b.total, "disable": b.disable, "open": b in type(b)._instances,
            "last": last_count(text)}


def outcome(fn, args) -> tuple:
    try:
        return ("returned", fn(*args))
    except Exception as error:  # noqa: BLE001 - the outcome is what we compare
        return ("raised", type(error).__name__, str(error))


def compare(fn, make_args, bars_of=lambda args: [a for a in args if isinstance(a, tqdm_std.tqdm)],
            overlap=OVERLAP):
    """Run `fn(*make_args())` plainly and jitted (twice); the outcome and the bars' states must
    agree, and the jitted runs must overlap `overlap` io calls. Returns the plain outcome."""
    args = make_args()
    expected = outcome(fn, args)
    expected_bars = [state(b) for b in bars_of(args)]
    jitted = xcs.jit(fn)
    for run in range(2):
        args = make_args()
        with measuring(overlap, timeout=3) as gauge:
            got = outcome(jitted, args)
        assert got == expected, f"run {run + 1}\n" + "\n".join(map(str, xcs.explain(jitted)))
        assert [state(b) for b in bars_of(args)] == expected_bars, f"run {run + 1}"
        if overlap:
            assert gauge["peak"] >= overlap, "\n".join(map(str, xcs.explain(jitted)))
    return expected, expected_bars


# ----------------------------------------------------------------- loops over a bar


def over_bar(b):
    out = []
    for x in b:
        out.append(io(x))
    return out


def test_a_plain_bar_counts_to_its_total_and_closes():
    expected, bars = compare(over_bar, lambda: (bar(),))
    assert expected == ("returned", ITEMS)
    assert bars == [{"n": 8, "total": 8, "disable": True, "open": False, "last": "8/8"}]


def header_bar(xs, out):
    results = []
    for x in tqdm(xs, desc="scoring", total=len(xs), file=out):
        results.append(io(x) * 2)
    return results, out.getvalue().count("scoring"), last_count(out.getvalue())


def test_a_bar_made_in_the_loop_header_with_desc_and_total():
    expected, _ = compare(header_bar, lambda: (ITEMS, text_io.StringIO()))
    assert expected[1][0] == [2 * x for x in ITEMS] and expected[1][2] == "8/8"
    assert not tqdm._instances


def over_enumerate(b):
    out = {}
    for i, x in enumerate(b, start=10):
        out[i] = io(x)
    return out


def test_enumerate_over_a_bar():
    expected, bars = compare(over_enumerate, lambda: (bar(),))
    assert expected == ("returned", {10 + x: x for x in ITEMS}) and bars[0]["last"] == "8/8"


def over_zip(b, labels):
    out = []
    for x, label in zip(b, labels):
        out.append((label, io(x)))
    return out


@pytest.mark.parametrize("labels", [list("abcdefgh"), list("abcdef"), list("abcdefghijk")],
                         ids=["same length", "labels shorter", "labels longer"])
def test_zip_with_the_bar_first(labels):
    expected, bars = compare(over_zip, lambda: (bar(), list(labels)))
    n = min(len(labels), len(ITEMS))
    assert expected == ("returned", list(zip(labels, ITEMS))) and bars[0]["n"] == n


def over_trange(n, out):
    results = []
    for k in trange(n, file=out):
        results.append(io(k + 1))
    return results, last_count(out.getvalue())


def test_trange():
    expected, _ = compare(over_trange, lambda: (8, text_io.StringIO()))
    assert expected == ("returned", ([k + 1 for k in range(8)], "8/8"))


def over_generator(n, out):
    results = []
    for x in tqdm((k * k for k in range(n)), file=out):
        results.append(io(x))
    return results, last_count(out.getvalue())


def test_a_bar_over_a_generator_counts_items_without_a_total():
    expected, _ = compare(over_generator, lambda: (8, text_io.StringIO()))
    assert expected == ("returned", ([k * k for k in range(8)], "8it"))


def test_a_disabled_bar():
    expected, bars = compare(over_bar, lambda: (bar(disable=True),))
    assert expected == ("returned", ITEMS) and bars[0]["n"] == 0 and bars[0]["last"] is None


def test_a_tqdm_auto_bar():
    expected, bars = compare(over_bar, lambda: (auto_tqdm(ITEMS, file=text_io.StringIO()),))
    assert expected == ("returned", ITEMS) and bars[0]["last"] == "8/8"


# ----------------------------------------------------------------- the bar as the loop counts


def reads_the_count(b):
    seen = []
    for x in b:
        y = io(x)
        seen.append((y, b.n))        # in order: what the bar shows when iteration k's turn comes
    return seen


def test_the_bar_counts_completed_iterations_in_order():
    # miniters=1, mininterval=0: the plain loop updates `n` at every pull, so `n` in iteration
    # k is k exactly; pulling ahead through the bar would show more.
    expected, _ = compare(reads_the_count, lambda: (bar(miniters=1, mininterval=0),))
    assert expected == ("returned", [(x, x) for x in ITEMS])


# ----------------------------------------------------------------- failures and early exits


def failing(b):
    out = []
    for x in b:
        out.append(fail_on(x, 5))
    return out


def test_a_failure_in_the_middle_leaves_the_count_of_the_completed_iterations():
    expected, bars = compare(failing, lambda: (bar(),))
    assert expected == ("raised", "ValueError", "bad item 5")
    assert bars == [{"n": 5, "total": 8, "disable": True, "open": False, "last": "5/8"}]


def failing_in_order(b, seen):
    for x in b:
        y = io(x)
        seen[{6: "missing"}.get(y, y)] += 1     # KeyError in the in-order part of iteration 6
    return seen


def test_a_failure_in_the_in_order_part():
    expected, bars = compare(failing_in_order, lambda: (bar(), dict.fromkeys(ITEMS, 0)))
    assert expected == ("raised", "KeyError", "'missing'") and bars[0]["n"] == 6


def _broken_source():
    for k in range(8):
        if k == 4:
            raise RuntimeError("source broke")
        yield k


def test_the_bar_s_iterable_failing():
    expected, bars = compare(over_bar, lambda: (bar(_broken_source()),), overlap=None)
    assert expected == ("raised", "RuntimeError", "source broke") and bars[0]["n"] == 4


def test_closing_the_results_early_leaves_the_plain_count():
    """The consuming loop leaving early (`break`, an exception) closes the iterator; the bar
    then holds what the plain loop's bar holds after a `break` in iteration 2."""
    plain = bar()
    for k, _ in enumerate(plain):
        if k == 2:
            break
    found = find_bar(iter(bar()))
    assert found is not None
    results = found.through(ordered_map(lambda item: (None, item), found.items))
    assert [next(results) for _ in range(3)] == [(None, 0), (None, 1), (None, 2)]
    results.close()
    assert state(found.bar) == state(plain) == {"n": 2, "total": 8, "disable": True, "open": False,
                                                "last": "2/8"}


# ----------------------------------------------------------------- nested bars


def nested(xs, out):
    res = []
    for x in tqdm(xs, file=out, desc="outer"):
        inner = []
        for y in tqdm(range(3), desc=f"inner {x}", leave=False):
            inner.append(io(x * 10 + y))
        res.append(inner)
    return res, last_count(out.getvalue())


def test_nested_bars_render_as_the_plain_loops_do():
    """The inner bar (default file: `sys.stderr`, bound when it is made) renders at position 1
    of each outer iteration. Its construction stays in order (the analysis cannot read
    `tqdm.__init__`; made concurrently, the inner bars would take positions 1, 2, 3...), so
    the outer loop runs in order and each inner loop in parallel, and stderr is identical."""
    import contextlib

    def run(fn):
        err = text_io.StringIO()
        with contextlib.redirect_stderr(err):
            return outcome(fn, (ITEMS[:4], text_io.StringIO())), err.getvalue()

    expected = run(nested)
    jitted = xcs.jit(nested)
    for _ in range(2):
        with measuring(3, timeout=3) as gauge:     # the 3 iterations of an inner loop together
            got = run(jitted)
        assert got == expected
        assert gauge["peak"] >= 3
    assert "inner 3" in expected[1] and expected[0][1][1] == "4/4"


# ----------------------------------------------------------------- what is left as it was


def over_islice(b):
    out = []
    for x in itertools.islice(b, 5):
        out.append(io(x))
    return out


def over_zip_bar_second(labels, b):
    out = []
    for label, x in zip(labels, b):
        out.append((label, io(x)))
    return out


def test_a_bar_behind_an_unknown_wrapper_keeps_the_plain_iteration():
    # islice stops without pulling the bar again (n stays one short); a later zip source
    # is not pulled once an earlier one ends: both keep iterating the bar itself, in order.
    expected, bars = compare(over_islice, lambda: (bar(),), overlap=None)
    assert expected == ("returned", ITEMS[:5]) and bars[0]["n"] == 4
    expected, bars = compare(over_zip_bar_second, lambda: (list("abc"), bar()), overlap=None)
    assert bars[0]["n"] == 2
    with measuring() as gauge:
        xcs.jit(over_islice)(bar())
    assert gauge["peak"] == 1


def test_no_tqdm_import_when_tqdm_is_not_loaded():
    code = textwrap.dedent("""
        import sys
        from xcs.runtime.progress import find_bar
        assert find_bar(iter([1, 2])) is None and find_bar(enumerate([1])) is None
        assert "tqdm" not in sys.modules, sorted(m for m in sys.modules if "tqdm" in m)
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_loop_abandoned_by_an_exception_does_not_free_a_stream_print_is_using():
    """A failed parallel loop is finalized when the garbage collector gets to its cycle
    (exception -> traceback -> frame -> results); that may be in the middle of a `print`,
    which holds `sys.stdout` borrowed: the capture's proxy must outlive it (it crashed)."""
    code = textwrap.dedent("""
        import io
        from tqdm import tqdm
        import xcs
        from tests.corpus.probe import fail_on

        def f(bar, out):
            for x in bar:
                out.append(fail_on(x, 5))
            return out

        fn = xcs.jit(f)
        for i in range(5):
            bar = tqdm(list(range(8)), file=io.StringIO())
            try:
                fn(bar, [])
            except ValueError as e:
                print("raised", e, bar.n, bar.fp.getvalue()[-5:])
            print("after")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("after") == 5


def _bar_on_a_worker(x):
    b = tqdm(range(2), desc=f"item {x}", position=0, mininterval=0, miniters=1)
    return (None, [io(x * 10 + y) for y in b], b.n)


def test_a_bar_made_in_an_iteration_on_a_worker_renders_in_iteration_order():
    """tqdm binds `file=sys.stderr` when the bar is made: on a worker, while a loop runs, that
    is the capture's proxy, so the renders go to the iteration's buffer and are replayed in
    order. (Making the bar asks the stream for `fileno()` — its terminal size — which takes
    the turn: the rest of such an iteration runs in order.)"""
    import contextlib

    def run(parallel):
        err = text_io.StringIO()
        with contextlib.redirect_stderr(err):
            results = list(ordered_map(_bar_on_a_worker, range(3))) if parallel else \
                [_bar_on_a_worker(x) for x in range(3)]
        text = err.getvalue()
        return results, re.findall(r"item \d", text), [last_count(part) for part in text.split("\n") if part]

    plain, parallel = run(False), run(True)
    assert parallel == plain
    assert plain[1] == sorted(plain[1]) and plain[2] == ["2/2"] * 3


def held_enumerate(b):
    e = enumerate(b)
    out = []
    for i, x in e:
        out.append((i, io(x)))
    return out, list(e)                  # exhausted after the loop


def held_generator(b):
    g = iter(b)
    out = []
    for x in g:
        out.append(io(x))
    return out, next(g, "exhausted")


@pytest.mark.parametrize("fn", [held_enumerate, held_generator])
def test_an_iterator_of_the_bar_held_by_the_function_is_exhausted_after_the_loop(fn):
    expected, bars = compare(fn, lambda: (bar(),))
    assert expected[1][1] in ([], "exhausted") and bars[0]["last"] == "8/8"
