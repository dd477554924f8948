"""`tenacity.retry` (the real package) in a loop's work: the statistics dict it keeps on the
function it returns (`fetch.statistics`, cleared and filled by every call) is the library's own
state, like its module state (README: "Assumed, not proven"), not shared state of the user's
— the loop runs in parallel, with the plain loop's results. A decorator of the user's that
closes over the user's own list still keeps its calls in order."""
from __future__ import annotations

import functools

import pytest
import requests

import xcs
from tests.hazards.harness import observe
from tests.realworld.servers import running_server, stats

tenacity = pytest.importorskip("tenacity")   # in the `test` extra: installed wherever the suite runs
BASE = {}


@pytest.fixture(scope="module", autouse=True)
def server():
    with running_server(0.05) as base:
        BASE["url"] = base
        yield base


@tenacity.retry(stop=tenacity.stop_after_attempt(4), wait=tenacity.wait_fixed(0.01), reraise=True)
def fetch(url):
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return r.text


def warm_all(run, n):
    pages = []
    for k in range(n):
        # Item k's service answers 503 to its first k % 3 requests: tenacity retries.
        pages.append(fetch(f"{BASE['url']}/warmup/{run}-{k}/{k % 3 + 1}"))
    return pages


def test_a_retried_fetch_runs_in_parallel_with_plain_results():
    (report,) = xcs.explain(xcs.jit(warm_all))
    assert report.status != "sequential", str(report)
    runs = iter(range(10**6))
    expected = observe(warm_all, lambda: (f"plain{next(runs)}", 9))
    jitted = xcs.jit(warm_all)
    for _ in range(2):
        got = observe(jitted, lambda: (f"jit{next(runs)}", 9))
        assert got["outcome"] == expected["outcome"] and got["stdout"] == expected["stdout"]
    stats(BASE["url"])
    assert jitted(f"gauge{next(runs)}", 9) == warm_all(f"gauge-plain{next(runs)}", 9)
    seen = stats(BASE["url"])
    assert seen["peak"] >= 2, seen   # the first run above went in parallel, the plain one did not
    assert fetch.statistics["attempt_number"] == 3   # the plain loop's last call: 2 retries


def collecting(into):
    """A user's decorator factory: every call records its argument in the user's list."""
    def decorate(f):
        @functools.wraps(f)
        def wrapper(x):
            into.append(x)
            return f(x)
        return wrapper
    return decorate


SEEN: list = []


@collecting(SEEN)
def recorded(x):
    return requests.get(f"{BASE['url']}/text/{x}", timeout=10).text


def record_all(n):
    out = []
    for k in range(n):
        out.append(recorded(k))
    return out


def test_a_decorator_closing_over_the_user_s_list_keeps_order():
    (report,) = xcs.explain(xcs.jit(record_all))
    assert report.status == "sequential" and "into" in str(report), str(report)
    SEEN.clear()
    expected = record_all(6), list(SEEN)
    SEEN.clear()
    assert (xcs.jit(record_all)(6), list(SEEN)) == expected
