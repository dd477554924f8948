"""The runtime under a real local service: fail-fast, head-of-line blocking, connection
pools, adaptive concurrency and per-host caps (server-side gauges, compared with plain)."""
from __future__ import annotations

import logging
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

import xcs
from xcs.runtime import ordered_map
from tests.runtime.services import running_service, stats

requests = pytest.importorskip("requests")
httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def service():
    with running_service() as base:
        yield base
    # Leave no pool threads for the tests after these (they count threads): the idle
    # threads of the pools used here exit after `IDLE_SECONDS`.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(t.name.startswith("xcs-worker") for t in threading.enumerate()):
        time.sleep(0.05)


def report_of(fn):
    (report,) = [r for r in xcs.explain(fn)]
    return report


# --- fail-fast: no new map part after a failure ----------------------------------------------

def get_checked(url):
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    return response.text


def fetch_all(base, n, bad):
    pages = []
    for k in range(n):
        pages.append(get_checked(f"{base}/fail/{k}?bad={bad}&delay=0.3"))
    return pages


def test_no_new_iteration_starts_after_a_failure(service):
    stats(service)
    with pytest.raises(requests.HTTPError):
        fetch_all(service, 20, 3)
    plain = stats(service)
    assert plain["items"] == ["0", "1", "2", "3"]
    fast = xcs.jit(fetch_all, parallel=True, max_workers=4)
    for _ in range(2):
        with pytest.raises(requests.HTTPError):
            fast(service, 20, 3)
        seen = stats(service)
        # items 0-3 start together on the 4 workers; 3 fails at once while 0-2 take 300 ms:
        # nothing after it starts, as in the plain loop.
        assert sorted(seen["items"], key=int) == plain["items"], seen


def test_after_a_raising_iteration_queued_ones_never_start():
    started = []

    def body(x):
        started.append(x)
        if x == 2:
            raise ValueError(x)
        time.sleep(0.2)
        return (None, x)

    results = list(ordered_map(body, range(50), max_workers=3))
    assert [r for r in results[:2]] == [(None, 0), (None, 1)] and isinstance(results[2][0], ValueError)
    time.sleep(0.3)      # the running ones finish; none after them may start
    assert sorted(started) == [0, 1, 2]


# --- head-of-line blocking ------------------------------------------------------------------

def test_a_slow_oldest_iteration_does_not_stop_later_ones_from_starting():
    workers = 4
    tenth_started = threading.Event()

    def body(x):
        if x == 0:
            # The oldest iteration waits until an iteration far past the worker count has
            # started: with a window equal to the workers this never happens (timeout).
            assert tenth_started.wait(5)
        elif x == 10:
            tenth_started.set()
        return (None, x)

    assert list(ordered_map(body, range(20), max_workers=workers)) == [(None, x) for x in range(20)]
    assert tenth_started.is_set()


# --- connection pools -----------------------------------------------------------------------

def session_loop(session, base, n):
    pages = []
    for k in range(n):
        pages.append(session.get(f"{base}/item/{k}?delay=0.05", timeout=30).text)
    return pages


class Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def urllib3_warnings():
    handler = Warnings()
    logger = logging.getLogger("urllib3")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def test_a_hand_written_pool_over_one_session_does_print_pool_full_warnings(service, urllib3_warnings):
    """The control: the warning the XCS test below must not see does appear for 64 threads."""
    with requests.Session() as session:
        with ThreadPoolExecutor(64) as pool:
            list(pool.map(lambda k: session.get(f"{service}/item/{k}?delay=0.05", timeout=30).text, range(64)))
    assert any("Connection pool is full" in m for m in urllib3_warnings)


def test_a_loop_over_one_session_prints_no_pool_warnings_and_restores_the_pool(service, urllib3_warnings):
    fast = xcs.jit(session_loop, parallel=True, max_workers=64)
    with requests.Session() as session:
        expected = session_loop(session, service, 12)
        stats(service)
        assert fast(session, service, 64) == [f"item {k}" for k in range(64)]
        assert stats(service)["peak"] >= 32        # the loop really ran wide
        assert fast(session, service, 64) == [f"item {k}" for k in range(64)]
        assert not [m for m in urllib3_warnings if "pool is full" in m], urllib3_warnings
        adapter = session.get_adapter(service)
        assert adapter._pool_maxsize == 10
        assert all(p.pool.maxsize == 10 and p.pool.qsize() <= 10 for p in
                   (adapter.poolmanager.pools[k] for k in adapter.poolmanager.pools.keys()))
        assert session.hooks["response"] == []
        # Plain use afterwards: no warning either, same results.
        assert session_loop(session, service, 12) == expected
    assert not urllib3_warnings
    assert "raised to 64" in str(report_of(fast)), str(report_of(fast))


def session_urls_loop(session, urls):
    pages = []
    for url in urls:
        pages.append(session.get(url, timeout=90).text)
    return pages


def other_session_urls_loop(session, urls):
    pages = []
    for url in urls:
        pages.append(session.get(url, timeout=90).text)
    return pages


def test_two_loops_sharing_a_session_restore_its_pool_when_the_last_ends(service, urllib3_warnings):
    def signal(route, name):
        with urllib.request.urlopen(f"{service}/{route}/{name}", timeout=90) as response:
            assert response.read() == f"{route} {name}".encode()

    with requests.Session() as session:
        session.get(f"{service}/item/0", timeout=30)        # a pool opened before the loops
        adapter = session.get_adapter(service)
        manager = adapter.poolmanager

        def sizes():
            pools = [manager.pools[k] for k in manager.pools.keys()]
            return (adapter._pool_maxsize, manager.connection_pool_kw["maxsize"],
                    sorted({p.pool.maxsize for p in pools}))

        results = {}
        # Each loop's last item is a request the service holds until the test opens its
        # gate: the loop is then known to run (its clients fitted) and cannot end before.
        urls = {name: [f"{service}/item/{k}?delay=0.02" for k in range(24)] + [f"{service}/gate/{name}"]
                for name in ("first", "second")}
        expected = {name: [f"item {k}" for k in range(24)] + [f"gate {name}"] for name in urls}

        def run(name, fast):
            results[name] = fast(session, urls[name])

        threads = {"first": threading.Thread(target=run, args=(
                       "first", xcs.jit(session_urls_loop, parallel=True, max_workers=32))),
                   "second": threading.Thread(target=run, args=(
                       "second", xcs.jit(other_session_urls_loop, parallel=True, max_workers=16)))}
        try:
            threads["first"].start()
            signal("arrived", "first")
            assert sizes() == (32, 32, [32])
            threads["second"].start()                # 16 more connections: 48 at once
            signal("arrived", "second")
            assert sizes() == (48, 48, [48])
            signal("open", "first")
            threads["first"].join(60)
            assert not threads["first"].is_alive()
            # The first loop ended while the second still runs (its last request waits at
            # the gate): the pool stays raised under it (before: put back to 10 here, and the
            # second loop's connections above 10 discarded with "Connection pool is full").
            assert threads["second"].is_alive()
            assert sizes() == (48, 48, [48])
        finally:
            for name in threads:
                signal("open", name)
            for thread in threads.values():
                if thread.ident is not None:
                    thread.join(60)
        assert results == expected
        assert sizes() == (10, 10, [10])         # the last one out put the sizes back
        assert session.hooks["response"] == []
    assert not [m for m in urllib3_warnings if "pool is full" in m], urllib3_warnings


def httpx_loop(client, base, n):
    pages = []
    for k in range(n):
        pages.append(client.get(f"{base}/item/{k}?delay=0.05").text)
    return pages


def test_an_httpx_client_caps_concurrency_at_its_connection_limit(service):
    fast = xcs.jit(httpx_loop, parallel=True, max_workers=32)
    with httpx.Client(limits=httpx.Limits(max_connections=5, max_keepalive_connections=2), timeout=30) as client:
        stats(service)
        assert fast(client, service, 30) == [f"item {k}" for k in range(30)]
        assert stats(service)["peak"] == 5
        assert client._transport._pool._max_keepalive_connections == 2   # restored
        assert client._event_hooks["response"] == []
    text = str(report_of(fast))
    assert "allows 5 connections" in text and "concurrency 5" in text, text


# --- adaptive concurrency -------------------------------------------------------------------

def slow_service_loop(base, n, above):
    pages = []
    for k in range(n):
        with urllib.request.urlopen(f"{base}/slow/{k}?above={above}&base=0.02", timeout=60) as response:
            pages.append(response.read())
    return pages


def test_concurrency_converges_under_a_service_that_slows_down_above_k(service):
    above, ceiling = 4, 48
    fast = xcs.jit(slow_service_loop, parallel=True, max_workers=ceiling)
    peaks = []
    for _ in range(4):
        stats(service)
        assert fast(service, 96, above) == [f"item {k}".encode() for k in range(96)]
        peaks.append(stats(service)["peak"])
    limiter = report_of(fast).runner.limiter
    # The equilibrium is where latency is TOLERANCE (1.5×) the no-load latency, plus the
    # √limit the gradient rule probes with: about 2.5 K here, far below the ceiling.
    assert peaks[0] > 6 * above                  # the first call starts wide ...
    assert 1 <= limiter.limit <= 4 * above, (limiter.limit, peaks)   # ... and it learnt K
    assert peaks[-1] <= 4 * above + 1, peaks     # the last call stayed near it
    assert f"concurrency: {limiter.limit} of {ceiling}" in str(report_of(fast))


def varied_loop(base, delays):
    pages = []
    for k, delay in enumerate(delays):
        with urllib.request.urlopen(f"{base}/item/{k}?delay={delay}", timeout=60) as response:
            pages.append(response.read())
    return pages


def test_iterations_of_different_lengths_do_not_read_as_queueing(service):
    """A flat service whose replies take 50 to 500 ms (LLM calls, pages of different sizes):
    the mean latency is several times the fastest at any load. Read as queueing, the limit fell
    to 1 (512 such sleeps took 69 s instead of 2.4 s); the shrink is checked and undone."""
    import random

    delays = [round(random.Random(k).uniform(0.05, 0.5), 3) for k in range(96)]
    fast = xcs.jit(varied_loop, parallel=True, max_workers=32)
    peaks = []
    for _ in range(3):
        stats(service)
        assert fast(service, delays) == [f"item {k}".encode() for k in range(96)]
        peaks.append(stats(service)["peak"])
    limiter = report_of(fast).runner.limiter
    # The service never slows down: the loop keeps (or finds back) most of its 32 workers.
    # (Before: limit 1 by the third call, the gauge at 32, 10, then 1.)
    assert limiter.limit >= 16 and peaks[-1] >= 16, (limiter.limit, peaks)
    assert limiter.calibrated > limiter.floor      # the mean became the no-load latency


def polite_get(session, url):
    while True:
        response = session.get(url, timeout=30)
        if response.status_code != 429:
            return response.text
        time.sleep(0.01)


def rate_limited_loop(session, base, n, above):
    pages = []
    for k in range(n):
        pages.append(polite_get(session, f"{base}/limited/{k}?above={above}&base=0.02"))
    return pages


def test_429_responses_back_off_and_the_level_is_remembered(service):
    above = 4
    fast = xcs.jit(rate_limited_loop, parallel=True, max_workers=32)
    rejected = []
    with requests.Session() as session:
        for _ in range(3):
            stats(service)
            assert fast(session, service, 64, above) == [f"item {k}" for k in range(64)]
            rejected.append(stats(service)["rejected"])
    limiter = report_of(fast).runner.limiter
    assert limiter.overloads > 0
    # Ceiling 32: it learnt the service's K. The limit saws between the cut (×0.7) and the
    # √limit probes above K; 4 K bounds the saw's top (as in the test above).
    assert limiter.limit <= 4 * above, limiter.limit
    assert rejected[-1] < rejected[0] / 2, rejected


def test_the_limit_never_exceeds_max_workers_and_grows_back_when_latency_is_flat():
    from xcs.runtime.adaptive import Limiter

    limiter = Limiter()
    assert limiter.start(8) == 8
    limiter.overloaded()
    assert limiter.limit == 5                  # 8 × BACKOFF (0.7)
    for _ in range(20):
        for _ in range(16):
            limiter.observe(0.05)
    assert limiter.limit == 8                  # flat latency: back up to the ceiling, not beyond
    assert limiter.start(6) == 6               # a smaller ceiling on a later call caps it


def test_the_limit_grows_only_when_the_loop_used_it():
    from xcs.runtime.adaptive import Limiter

    limiter = Limiter()
    limiter.start(32)
    limiter.overloaded()
    assert limiter.limit == 22
    for _ in range(20):                        # flat latency, but never more than 3 at once
        for _ in range(22):
            limiter.observe(0.05, busy=3)
    assert limiter.limit == 22                 # (a tail, a slow source): no evidence to grow
    for _ in range(20):
        for _ in range(32):
            limiter.observe(0.05, busy=limiter.limit)
    assert limiter.limit == 32


# --- per-host caps --------------------------------------------------------------------------

def plain_gets(base, n):
    pages = []
    for k in range(n):
        pages.append(requests.get(f"{base}/item/{k}?delay=0.05", timeout=30).text)
    return pages


def test_per_host_cap_is_never_exceeded(service):
    fast = xcs.jit(plain_gets, parallel=True, max_workers=16)
    xcs.configure(per_host={"127.0.0.1": 3})
    try:
        stats(service)
        assert fast(service, 24) == [f"item {k}" for k in range(24)]
        assert stats(service)["peak"] == 3
    finally:
        xcs.configure(per_host={})
    stats(service)
    assert fast(service, 24) == [f"item {k}" for k in range(24)]
    assert stats(service)["peak"] > 3            # the cap is gone with the setting
