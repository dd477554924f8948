"""Per-host caps hold a slot until the response's body is read (or the response closed, or the
iteration's map part ended): the local service's per-client gauge of requests in flight, which
counts a streamed response until its last chunk is written, never exceeds the cap."""
from __future__ import annotations

import threading
import time
import urllib.request

import pytest

import xcs
from xcs.runtime import hosts
from tests.runtime.services import running_service, stats

requests = pytest.importorskip("requests")
httpx = pytest.importorskip("httpx")

CAP = 2
N = 12
# 4 chunks, 50 ms apart: a body takes 200 ms after its head, so a cap that ended with the
# head would let all 8 workers stream at once.
STREAM = "chunks=4&gap=0.05"


@pytest.fixture(scope="module")
def service():
    with running_service() as base:
        yield base


@pytest.fixture
def capped():
    xcs.configure(per_host={"127.0.0.1": CAP})
    try:
        yield
    finally:
        xcs.configure(per_host={})
    # No slot is left taken, whatever the test did (a leak would stall the next capped loop).
    assert hosts._taken.get("127.0.0.1", 0) == 0, hosts._taken


def expected(n):
    return [f"item {k};" * 4 for k in range(n)]


def requests_streams(session, base, n):
    pages = []
    for k in range(n):
        response = session.get(f"{base}/stream/{k}?{STREAM}&client=requests", stream=True, timeout=30)
        pages.append(b"".join(response.iter_content(8)).decode())
    return pages


def httpx_page(client, url):
    with client.stream("GET", url) as response:
        return b"".join(response.iter_bytes(8)).decode()


def httpx_streams(client, base, n):
    pages = []
    for k in range(n):
        # (a `with` written in the loop's body itself runs the iterations one at a time)
        pages.append(httpx_page(client, f"{base}/stream/{k}?{STREAM}&client=httpx"))
    return pages


def urllib_reads(base, n):
    pages = []
    for k in range(n):
        response = urllib.request.urlopen(f"{base}/stream/{k}?{STREAM}&client=urllib", timeout=30)
        pages.append(response.read().decode())     # read to the end, never closed explicitly
    return pages


def test_streamed_bodies_count_against_the_cap_for_requests_httpx_and_urllib(service, capped):
    with requests.Session() as session, httpx.Client(timeout=30) as client:
        runs = {
            "requests": lambda: xcs.jit(requests_streams, parallel=True, max_workers=8)(session, service, N),
            "httpx": lambda: xcs.jit(httpx_streams, parallel=True, max_workers=8)(client, service, N),
            "urllib": lambda: xcs.jit(urllib_reads, parallel=True, max_workers=8)(service, N),
        }
        for name, run in runs.items():
            stats(service)
            assert run() == expected(N), name
            seen = stats(service)
            assert seen["requests"] == N, (name, seen)
            # At most CAP bodies download at once (server-side: a request is in flight until
            # its last chunk is written); exactly CAP, since 8 workers wait for the 2 slots
            # and each body lasts 200 ms: the loop did run in parallel, up to the cap.
            assert seen["clients"][name] == CAP, (name, seen["clients"])


def test_without_a_cap_the_same_loop_streams_wider(service):
    """The control: the gauge does see more than CAP streams when nothing caps them."""
    with requests.Session() as session:
        stats(service)
        assert xcs.jit(requests_streams, parallel=True, max_workers=8)(session, service, N) == expected(N)
        assert stats(service)["clients"]["requests"] > CAP


def read_or_fail(session, url, fail):
    response = session.get(url, stream=True, timeout=30)
    chunks = response.iter_content(8)
    first = next(chunks)
    if fail:
        raise ValueError(f"failed after {first!r}")   # the body is left unread, the response open
    return first + b"".join(chunks)


def opens_and_fails(session, base, n, bad):
    pages = []
    for k in range(n):
        pages.append(read_or_fail(session, f"{base}/stream/{k}?{STREAM}&client=failing", k == bad))
    return pages


def opens_and_drops(session, base, n):
    codes = []
    for k in range(n):
        # Never read, never closed: the slot ends with the iteration's map part.
        codes.append(session.get(f"{base}/stream/{k}?chunks=2&gap=0.01&client=dropped", stream=True,
                                 timeout=30).status_code)
    return codes


def test_no_slot_leaks_when_an_iteration_raises_or_drops_its_response(service, capped):
    with requests.Session() as session:
        failing = xcs.jit(opens_and_fails, parallel=True, max_workers=8)
        for _ in range(2):
            with pytest.raises(ValueError):
                failing(session, service, N, 5)
        dropping = xcs.jit(opens_and_drops, parallel=True, max_workers=8)
        # 3 × N responses never closed: with a leaked slot the second call would wait forever.
        for _ in range(3):
            assert dropping(session, service, N) == [200] * N
    stats(service)
    # Then the cap still admits CAP at once (a leak would leave fewer, and the loop stall).
    with requests.Session() as session:
        assert xcs.jit(requests_streams, parallel=True, max_workers=8)(session, service, N) == expected(N)
    assert stats(service)["clients"]["requests"] == CAP


def test_a_call_that_raises_gives_its_slot_back(capped):
    refused = "http://127.0.0.1:9/"          # the discard port: connection refused

    def refused_gets(n):
        out = []
        for _ in range(n):
            try:
                requests.get(refused, timeout=5)
            except requests.ConnectionError as error:
                out.append(type(error).__name__)
        return out

    assert xcs.jit(refused_gets, parallel=True, max_workers=4)(8) == ["ConnectionError"] * 8


def test_workers_holding_each_others_hosts_go_over_the_cap_instead_of_deadlocking():
    """Worker 1 holds A and waits for B, worker 2 holds B and waits for A (caps 1): the second
    to wait sees the cycle and goes on (an overrun) instead of both waiting forever."""
    before = hosts.overruns
    ready = threading.Barrier(2)
    done = []

    def worker(first, second):
        hosts._take(first, 1)
        ready.wait(5)
        hosts._take(second, 1)
        done.append(first)
        hosts.end_iteration()

    threads = [threading.Thread(target=worker, args=("a.test", "b.test")),
               threading.Thread(target=worker, args=("b.test", "a.test"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads), "deadlocked"
    assert sorted(done) == ["a.test", "b.test"]
    assert hosts.overruns == before + 1
    assert hosts._taken.get("a.test") == hosts._taken.get("b.test") == 0


def test_a_waiting_worker_waits_while_a_holder_runs():
    """No overrun when the holder is running: the waiter takes the slot once it is given back."""
    before = hosts.overruns
    taken = threading.Event()
    order = []

    def holder():
        hosts._take("c.test", 1)
        taken.set()
        time.sleep(0.2)
        order.append("holder ends")
        hosts.end_iteration()

    t = threading.Thread(target=holder)
    t.start()
    assert taken.wait(5)
    hosts._take("c.test", 1)
    order.append("waiter takes")
    hosts.end_iteration()
    t.join(5)
    assert order == ["holder ends", "waiter takes"] and hosts.overruns == before
