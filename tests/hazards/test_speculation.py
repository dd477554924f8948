"""Speculation past `break` and `return` (docs/speculation.md).

A loop whose body may leave early runs later iterations' work before the earlier ones have
decided; the first iteration that leaves, in order, ends the loop: later results, output and
turns are discarded, iterations not started are cancelled. Every row is compared with the
plain function (return value with the loop variable and temporaries after the loop, output,
log records, warnings) and, where it must run in parallel, proves overlap with the local
server's peak-concurrency gauge (`tests/realworld/servers.py`) or the corpus probe's barrier.

By default only work that is known to only read speculates (HTTP GET/HEAD, DNS, file reads,
`time.sleep`); a POST stays in order unless `@xcs.jit(speculate=True)`.
"""
from __future__ import annotations

import functools
import itertools
import os
import time
import urllib.request

import httpx

import pytest
import requests

import xcs
from tests.corpus.probe import io, measuring
from tests.hazards.harness import observe
from tests.realworld.servers import running_server, stats
from xcs.api.words import words

LATENCY = 0.05
BASE = {}


@pytest.fixture(scope="module", autouse=True)
def server():
    with running_server(LATENCY) as base:
        BASE["url"] = base
        yield base


def get_text(k):
    return requests.get(f"{BASE['url']}/text/{k}", timeout=10).text


# ----------------------------------------------------------------- the loops


def first_answering(ks, wanted):
    found = None
    for k in ks:
        body = requests.get(f"{BASE['url']}/text/{k}", timeout=10).text
        if body == f"page {wanted}":
            found = k
            break
    return found, k, body


def first_answering_else(ks, wanted):
    for k in ks:
        body = requests.get(f"{BASE['url']}/text/{k}", timeout=10).text
        if body == f"page {wanted}":
            where = "found"
            break
    else:
        where = "exhausted"
    return where, k, body


def first_index(ks, wanted):
    for k in ks:
        if get_text(k) == f"page {wanted}":
            return k
    return -1


def fails_before_the_break(ks, bad, wanted):
    seen = []
    for k in ks:
        code = 500 if k == bad else 200
        r = requests.get(f"{BASE['url']}/status/{k}?code={code}", timeout=10)
        r.raise_for_status()
        seen.append(k)
        if k == wanted:
            break
    return seen


def noisy_fetch(k):
    print("fetching", k)
    return get_text(k)


def prints_in_the_work(ks, wanted):
    out = []
    for k in ks:
        body = noisy_fetch(k)
        if body == f"page {wanted}":
            break
        out.append(body)
    return out, k


def nested(groups, wanted):
    hits = []
    for group in groups:
        for k in group:
            body = requests.get(f"{BASE['url']}/text/{k}", timeout=10).text
            if body.endswith(str(wanted)):
                hits.append(k)
                break
    return hits, group, k


def posts(ks, wanted):
    for k in ks:
        r = requests.post(f"{BASE['url']}/predict", json={"k": k}, timeout=10)
        if r.json()["prediction"] == wanted:
            return k
    return None


def with_held_iterator(ks, wanted):
    it = iter(ks)
    for k in it:
        if get_text(k) == f"page {wanted}":
            break
    return k, list(it)


def probe_until(xs, limit):
    last = None
    for x in xs:
        last = io(x)
        if last >= limit:
            break
    return last, x


def stop_early_then_loop_again(xs, limit):
    total = []
    for x in xs:
        if get_text(x) == f"page {limit}":
            break
        total.append(x)
    for y in xs:   # a second loop after the early exit: the first one's results are gone
        total.append(get_text(y))
    return total


# ----------------------------------------------------------------- helpers


def compare(fn, *args, speculate=False, max_workers=None):
    """Plain vs jit (twice) on everything a caller observes; returns the jitted function."""
    expected = observe(fn, lambda: args)
    jitted = xcs.jit(fn, speculate=speculate, max_workers=max_workers)
    for run in range(2):
        got = observe(jitted, lambda: args)
        assert got == expected, (run, got, expected, str(xcs.explain(jitted)))
    return jitted


def peak_of_run(fn, *args):
    """(result, peak in-flight requests, requests served) of one call. Speculative requests
    of an earlier call may still be in flight after it returned (work already started is
    discarded, not stopped): wait for the server to be idle first, so they are not counted."""
    deadline = time.monotonic() + 10
    while stats(BASE["url"])["active"] and time.monotonic() < deadline:
        time.sleep(0.01)
    result = fn(*args)
    seen = stats(BASE["url"])
    return result, seen["peak"], seen["requests"]


def status(jitted):
    (report, *_) = xcs.explain(jitted)
    return report


KS = list(range(12))


# ----------------------------------------------------------------- rows


@pytest.mark.parametrize("wanted", [0, 5, 11, 99], ids=["break-in-iteration-0", "break-midway", "break-on-last",
                                                        "never-breaks"])
def test_first_answering_equals_plain_and_overlaps(wanted):
    jitted = compare(first_answering, KS, wanted)
    result, peak, _ = peak_of_run(jitted, KS, wanted)
    assert result == first_answering(KS, wanted)
    assert status(jitted).parallel, str(xcs.explain(jitted))
    assert "speculative past `break` at line" in str(status(jitted)) and "(its work only reads)" in str(status(jitted))
    if wanted > 0:
        assert peak >= 2, peak   # later iterations' GETs ran while earlier ones were in flight


@pytest.mark.parametrize("wanted", [3, 99], ids=["breaks", "else-clause"])
def test_for_else_runs_the_else_exactly_when_plain_does(wanted):
    jitted = compare(first_answering_else, KS, wanted)
    _, peak, _ = peak_of_run(jitted, KS, wanted)
    assert peak >= 2, peak


@pytest.mark.parametrize("wanted", [0, 7, 99], ids=["returns-first", "returns-midway", "falls-through"])
def test_return_inside_the_loop(wanted):
    jitted = compare(first_index, KS, wanted)
    _, peak, _ = peak_of_run(jitted, KS, wanted)
    assert status(jitted).parallel
    if wanted > 0:
        assert peak >= 2, peak


def test_later_iterations_not_started_are_cancelled():
    """With 4 workers and 200 items, a break in iteration 2 leaves at most a window of
    speculative requests beyond it: the rest are never sent."""
    ks = list(range(200))
    jitted = compare(first_answering, ks, 2, max_workers=4)
    _, peak, served = peak_of_run(jitted, ks, 2)
    assert 2 <= peak <= 4 and served <= 3 + 4 + 4, (peak, served)


def test_an_exception_before_the_break_wins():
    """Iteration 3 fails before iteration 8 would break: the plain error, nothing later."""
    jitted = compare(fails_before_the_break, KS, 3, 8)
    with pytest.raises(requests.HTTPError, match="500"):
        jitted(KS, 3, 8)
    assert compare(fails_before_the_break, KS, 99, 8)   # and without the failure: the break
    _, peak, _ = peak_of_run(jitted, KS, 99, 8)
    assert peak >= 2, peak


def test_output_of_discarded_iterations_is_dropped():
    """The work prints; iterations past the break printed on workers, and none of it shows."""
    jitted = compare(prints_in_the_work, KS, 4)
    _, peak, _ = peak_of_run(jitted, KS, 4)
    assert peak >= 2, peak


def test_nested_loops_break_the_inner_one():
    groups = [list(range(g * 10, g * 10 + 6)) for g in range(3)]
    jitted = compare(nested, groups, 3)
    _, peak, _ = peak_of_run(jitted, groups, 3)
    assert peak >= 2, peak


def test_a_loop_after_an_early_exit():
    jitted = compare(stop_early_then_loop_again, list(range(6)), 2)
    _, peak, _ = peak_of_run(jitted, list(range(6)), 2)
    assert peak >= 2, peak


def test_a_post_stays_in_order_unless_speculate():
    """A POST may change the server: by default the loop stays sequential, and explain says
    which call and what to change; `speculate=True` lets it run ahead."""
    jitted = compare(posts, KS, 6)
    report = status(jitted)
    assert not report.parallel
    text = str(report)
    assert "requests.post" in text and "not known to be free of effects outside the process" in text, text
    assert "@xcs.jit(speculate=True)" in report.hint()
    _, peak, _ = peak_of_run(jitted, KS, 6)
    assert peak == 1, peak

    allowed = compare(posts, KS, 6, speculate=True)
    assert status(allowed).parallel, str(xcs.explain(allowed))
    assert "(speculate=True)" in str(status(allowed))
    result, peak, _ = peak_of_run(allowed, KS, 6)
    assert result == 6 and peak >= 2, peak


def test_speculate_true_runs_any_call_ahead_and_overlaps():
    """`io` is an `@xcs.io` function (blocking, effects unknown): opt-in only."""
    xs = list(range(40))
    assert status(xcs.jit(probe_until)).status == "sequential"
    jitted = compare(probe_until, xs, 20, speculate=True)
    with measuring(meet=2, timeout=5) as gauge:
        assert jitted(xs, 20) == (20, 20)
        assert gauge["peak"] >= 2, gauge["peak"]


def test_explain_without_speculate_names_the_call():
    jitted = xcs.jit(probe_until)
    (report,) = xcs.explain(jitted)
    assert report.status == "sequential"
    assert report.refusals[0].kind == "speculation" and "`io`" in words(report.refusals[0])


def test_a_held_iterator_is_not_pulled_ahead():
    """Plain code leaves `it` just past the breaking item; what the loop did not use is
    still there after it."""
    jitted = compare(with_held_iterator, KS, 4)
    assert jitted(KS, 4) == (4, list(range(5, 12)))
    assert "iterator that other code can hold" in (status(jitted).inline_reason() or "")


def test_iterables_made_by_the_loop_may_be_pulled_ahead():
    def over_enumerate(ks, wanted):
        for n, k in enumerate(ks):
            if get_text(k) == f"page {wanted}":
                return n, k
        return None

    def over_held_enumerate(ks, wanted):
        e = enumerate(ks)
        for n, k in e:
            if get_text(k) == f"page {wanted}":
                break
        return n, k, list(e)

    jitted = compare(over_enumerate, KS, 6)
    _, peak, _ = peak_of_run(jitted, KS, 6)
    assert peak >= 2, peak
    held = compare(over_held_enumerate, KS, 6)
    _, peak, _ = peak_of_run(held, KS, 6)
    assert peak == 1, peak


def test_file_reads_speculate(tmp_path):
    """"Find the first index that exists": `os.path.exists` only reads."""
    for k in (5, 9):
        (tmp_path / f"part{k}").write_text("x")

    def first_existing(n, folder):
        for i in range(n):
            if os.path.exists(os.path.join(folder, f"part{i}")):
                return i
        return None

    jitted = compare(first_existing, 20, str(tmp_path))
    assert jitted(20, str(tmp_path)) == 5
    # Safe to speculate: the analysis leaves the loop to the evidence (no "speculation" refusal).
    assert status(jitted).status == "undecided", str(status(jitted))


def test_infinite_iterable_with_a_return():
    def first_over(limit):
        for i in itertools.count():
            if get_text(i) == f"page {limit}":
                return i

    jitted = compare(first_over, 9, max_workers=4)
    _, peak, served = peak_of_run(jitted, 9)
    # The ten the plain loop sends, and at most the window pulled past the exit (4 x 4).
    assert peak >= 2 and served <= 10 + 16, (peak, served)


def retry_until_ready(token):
    attempts = []
    for attempt in range(6):
        r = requests.get(f"{BASE['url']}/warmup/{token}/3", timeout=10)
        attempts.append(r.status_code)
        if r.status_code == 200:
            break
    return attempts, attempt


@pytest.mark.parametrize("speculate", [False, True])
def test_a_retry_loop_is_never_speculative(speculate):
    """The work does not read the item: every iteration repeats one GET until the service is
    ready. Firing the attempts at once would not be a retry (and the plain loop's answer comes
    from the third request, in order): it stays sequential, even with speculate=True."""
    jitted = xcs.jit(retry_until_ready, speculate=speculate)
    (report,) = xcs.explain(jitted)
    assert report.status == "sequential" and report.refusals[0].kind == "retry", str(report)
    assert "retry" in report.hint()
    tokens = iter(range(10**6))

    def seen(fn):   # the token differs per run (the server counts requests per token)
        got = observe(fn, lambda: (f"t{speculate}-{next(tokens)}",))
        return {key: value for key, value in got.items() if key not in ("args", "log")}

    expected = seen(retry_until_ready)
    for _ in range(2):
        assert seen(jitted) == expected
    assert expected["outcome"] == ("returned", ("tuple", [("list", [503, 503, 200]), 2]))


# ----------------------------------------------------------------- shapes of leaving


class Box:
    def __init__(self):
        self.entered = self.exited = 0

    def __enter__(self):
        self.entered += 1
        return self

    def __exit__(self, *exc):
        self.exited += 1
        return False


def break_inside_with(xs, box, stop):
    for x in xs:
        r = io(x)
        with box:
            if r == stop:
                break
    return x, r, box.entered, box.exited


def return_inside_try_finally(xs, stop):
    log = []
    for x in xs:
        r = io(x)
        try:
            if r == stop:
                return r, log
        finally:
            log.append(x)
    return None, log


def break_in_except(xs, stop):
    seen = []
    for x in xs:
        r = io(x)
        try:
            if r == stop:
                raise KeyError(r)
            seen.append(r)
        except KeyError:
            break
    return seen, x


def break_then_else_and_code_after(xs, stop):
    total = 0
    for x in xs:
        r = io(x)
        if r == stop:
            total += 100
            break
        total += r
    else:
        total = -total
    total += 1
    return total, x, r


def two_exits(xs, low, high):
    for x in xs:
        r = io(x)
        if r == low:
            return "low", x
        if r == high:
            break
    return "high-or-none", x


def break_inside_while_in_loop(xs, stop):
    out = []
    while True:
        for x in xs:
            r = io(x)
            if r == stop:
                break
            out.append(r)
        return out, x, r


def return_in_an_inner_loop(groups, stop):
    for g in groups:
        r = io(len(g))
        for y in g:
            if y == stop:
                return g, y, r
    return None


SHAPES = [
    (break_inside_with, lambda: (list(range(20)), Box(), 7)),
    (break_inside_with, lambda: (list(range(20)), Box(), 99)),
    (return_inside_try_finally, lambda: (list(range(20)), 5)),
    (return_inside_try_finally, lambda: (list(range(20)), 99)),
    (break_in_except, lambda: (list(range(20)), 9)),
    (break_then_else_and_code_after, lambda: (list(range(20)), 4)),
    (break_then_else_and_code_after, lambda: (list(range(20)), 99)),
    (two_exits, lambda: (list(range(20)), 6, 3)),
    (two_exits, lambda: (list(range(20)), 3, 6)),
    (two_exits, lambda: (list(range(20)), 98, 99)),
    (break_inside_while_in_loop, lambda: (list(range(20)), 11)),
    (return_in_an_inner_loop, lambda: ([list(range(k, k + 3)) for k in range(0, 30, 3)], 13)),
]


@pytest.mark.parametrize("fn, make_args", SHAPES, ids=[f"{f.__name__}-{n}" for n, (f, _) in enumerate(SHAPES)])
def test_shapes_of_leaving_equal_plain_and_overlap(fn, make_args):
    expected = observe(fn, make_args)
    jitted = xcs.jit(fn, speculate=True)
    for _ in range(2):
        assert observe(jitted, make_args) == expected, str(xcs.explain(jitted))
    (report, *_) = xcs.explain(jitted)
    assert report.parallel, str(report)
    with measuring(meet=2, timeout=5) as gauge:
        jitted(*make_args())
        assert gauge["peak"] >= 2, gauge["peak"]


# ----------------------------------------------------------------- which calls only read


def with_session(ks):
    session = requests.Session()
    for k in ks:
        if session.get(f"{BASE['url']}/text/{k}", timeout=10).text == "page 3":
            return k
    return None


def with_httpx_client(ks, client):
    for k in ks:
        if client.head(f"{BASE['url']}/text/{k}").status_code == 404:
            return k
    return None


def with_urlopen(ks):
    for k in ks:
        with urllib.request.urlopen(f"{BASE['url']}/text/{k}") as r:
            if r.read() == b"page 4":
                return k
    return None


def with_urlopen_data(ks):
    for k in ks:
        with urllib.request.urlopen(f"{BASE['url']}/predict?k={k}", b'{"k": 1}') as r:
            if r.status == 500 + k:
                return k
    return None


def with_post_request(ks):
    for k in ks:
        request = urllib.request.Request(f"{BASE['url']}/predict", data=b"{}", method="POST")
        if urllib.request.urlopen(request).status == 500 + k:
            return k
    return None


def with_item_method(paths):
    for p in paths:
        if p.exists():
            return p
    return None


@pytest.mark.parametrize("fn, args, speculates", [
    (with_session, lambda: (KS,), True),
    (with_httpx_client, lambda: (KS, httpx.Client()), True),
    (with_urlopen, lambda: (KS,), True),
    (with_urlopen_data, lambda: (KS,), False),
    (with_post_request, lambda: (KS,), False),
    (with_item_method, lambda: ([],), False),   # a method of the item: not known until items arrive
], ids=["requests-session-get", "httpx-client-head", "urlopen", "urlopen-with-data", "request-post", "item-method"])
def test_which_calls_count_as_reads(fn, args, speculates):
    jitted = xcs.jit(fn)
    jitted(*args())   # compile with real arguments (a client passed in is resolved through them)
    (report, *_) = xcs.explain(jitted)
    refused = any(r.kind == "speculation" for r in report.refusals)
    assert refused != speculates, str(report)


def over_a_bar(ks, wanted, out):
    from tqdm import tqdm

    bar = tqdm(ks, file=out, mininterval=0, miniters=1)
    for k in bar:
        if get_text(k) == f"page {wanted}":
            break
    return k, bar.n, bar.total


def test_a_progress_bar_counts_what_the_plain_loop_counts_at_a_break():
    import io as text_io

    def renders(out):   # the last render of each line, without the clock's fields
        return [part.split("[")[0] for part in out.getvalue().split("\r")]

    plain_out, jit_out = text_io.StringIO(), text_io.StringIO()
    expected = over_a_bar(KS, 6, plain_out)
    jitted = xcs.jit(over_a_bar)
    jitted(KS, 6, text_io.StringIO())
    stats(BASE["url"])
    assert jitted(KS, 6, jit_out) == expected == (6, 6, 12)
    assert stats(BASE["url"])["peak"] >= 2
    assert renders(jit_out) == renders(plain_out)


POST_LATER = functools.partial(requests.post, timeout=10)
GET_LATER = functools.partial(requests.get, timeout=10)
POST_BY_URLOPEN = functools.partial(urllib.request.urlopen, data=b"{}")


def via_get_later(ks):
    for k in ks:
        if GET_LATER(f"{BASE['url']}/text/{k}").text == "page 2":
            return k
    return None


def via_post_later(ks):
    for k in ks:
        if POST_LATER(f"{BASE['url']}/predict?k={k}").status_code == 404:
            return k
    return None


def via_urlopen_partial(ks):
    for k in ks:
        if POST_BY_URLOPEN(f"{BASE['url']}/predict?k={k}").status == 404:
            return k
    return None


@pytest.mark.parametrize("fn, speculates", [(via_get_later, True), (via_post_later, False),
                                            (via_urlopen_partial, False)],
                         ids=["partial-get", "partial-post", "partial-urlopen-with-data"])
def test_partials_are_judged_by_what_they_call(fn, speculates):
    (report,) = xcs.explain(xcs.jit(fn))
    assert any(r.kind == "speculation" for r in report.refusals) != speculates, str(report)


def _posts_through(u):
    return requests.post(u)


def posts_in_a_helper(urls):
    out = []
    for u in urls:
        r = _posts_through(u)
        if r is None:
            break
        out.append(r)
    return out


def test_a_call_inside_a_callee_is_listed_as_data_and_named_with_its_function():
    """The analysis lists speculative calls as records (callee, where, why), not sentences the
    evidence layer reparses: the refusal names the call as written and the function it is in."""
    from xcs.analysis import analyze
    from xcs.analysis.speculation import ExternalCall, Listed
    from xcs.evidence.environment import environment

    facts = analyze(posts_in_a_helper.__code__, environment(posts_in_a_helper))
    calls = facts.loops[0].speculative_calls
    assert calls and all(isinstance(c, ExternalCall) for c in calls), calls
    post = next(c for c in calls if c.callee == "requests.post")
    assert post.why is Listed.CLIENT and post.within == "_posts_through" and post.obj is requests.post
    (report,) = xcs.explain(xcs.jit(posts_in_a_helper))
    refusal = report.refusals[0]
    assert refusal.kind == "speculation" and refusal.callee == "requests.post" and refusal.detail == "_posts_through"
    assert "calls `requests.post` (in `_posts_through`), which is not known" in words(refusal), words(refusal)
    assert "calling `requests.post` for items" in report.hint()
