"""`async with` in a coroutine's loop: a known client's response (`client.stream(...)`), a client
of its own, a deadline (`asyncio.timeout`) run in the iteration's task; any other async
context manager keeps its statement in order. Real `httpx.AsyncClient` against the local server
(tests/realworld/servers.py), each loop run plain and under `@xcs.jit`, the server's
peak-concurrency gauge proving the overlap."""
from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

import xcs
from tests.realworld.servers import running_server, stats

httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def base():
    with running_server(0.05) as url:
        yield url


def _run(fn, base, keys, *extra):
    async def main():
        async with httpx.AsyncClient() as client:
            return await fn(client, base, keys, *extra)

    return asyncio.run(main())


def _compare(fn, base, keys, *extra):
    """(plain result, jitted result, the jitted run's gauge, the jitted function)."""
    stats(base)
    plain = _run(fn, base, keys, *extra)
    assert stats(base)["peak"] == 1
    fast = xcs.jit(fn)
    got = _run(fast, base, keys, *extra)
    return plain, got, stats(base), fast


async def streamed(client, base, keys):
    bodies = []
    for k in keys:
        async with client.stream("GET", f"{base}/text/{k}") as response:
            body = await response.aread()
        bodies.append(body.decode())
    return bodies


def test_a_streamed_response_block_runs_in_the_task(base):
    keys = list(range(12))
    plain, got, gauge, fast = _compare(streamed, base, keys)
    assert got == plain == [f"page {k}" for k in keys]
    assert gauge["requests"] == len(keys) and gauge["peak"] >= 2, gauge
    assert xcs.explain(fast)[0].current_status() == "parallel"


def test_max_workers_bounds_the_open_streams(base):
    keys = list(range(10))
    stats(base)
    got = _run(xcs.jit(streamed, max_workers=3), base, keys)
    gauge = stats(base)
    assert got == [f"page {k}" for k in keys]
    assert 2 <= gauge["peak"] <= 3, gauge


async def own_client(client, base, keys):
    bodies = []
    async with httpx.AsyncClient() as mine:
        for k in keys:
            async with mine.stream("GET", f"{base}/text/{k}") as response:
                body = await response.aread()
            bodies.append(body.decode())
    return bodies


def test_a_client_the_coroutine_enters_itself_is_known(base):
    keys = list(range(10))
    plain, got, gauge, fast = _compare(own_client, base, keys)
    assert got == plain == [f"page {k}" for k in keys]
    assert gauge["peak"] >= 2, gauge
    assert xcs.explain(fast)[0].current_status() == "parallel"


async def client_per_item(client, base, keys):
    bodies = []
    for k in keys:
        async with httpx.AsyncClient() as mine:
            response = await mine.get(f"{base}/text/{k}")
        bodies.append(response.text)
    return bodies


def test_a_client_per_iteration_runs_in_the_task(base):
    keys = list(range(8))
    plain, got, gauge, _ = _compare(client_per_item, base, keys)
    assert got == plain == [f"page {k}" for k in keys]
    assert gauge["peak"] >= 2, gauge


async def with_deadline(client, base, keys, seconds):
    bodies = []
    for k in keys:
        async with asyncio.timeout(seconds):
            response = await client.get(f"{base}/text/{k}")
        bodies.append(response.text)
    return bodies


def test_a_deadline_per_iteration_runs_in_the_task(base):
    keys = list(range(10))
    plain, got, gauge, fast = _compare(with_deadline, base, keys, 5)
    assert got == plain == [f"page {k}" for k in keys]
    assert gauge["peak"] >= 2, gauge
    assert xcs.explain(fast)[0].current_status() == "parallel"


def test_a_deadline_that_fires_raises_as_in_the_plain_loop(base):
    def outcome(fn):
        async def main():
            async with httpx.AsyncClient() as client:
                try:
                    await fn(client, base, list(range(6)), 0.01)
                except TimeoutError as error:
                    return type(error).__name__, {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
            return "no timeout", set()

        return asyncio.run(main())

    assert outcome(with_deadline) == outcome(xcs.jit(with_deadline)) == ("TimeoutError", set())
    time.sleep(0.2)   # the server finishes the requests the deadline abandoned before the next gauge


async def deadline_in_order(client, base, keys):
    log = []
    for k in keys:
        response = await client.get(f"{base}/text/{k}")
        async with asyncio.timeout(0.15):
            log.append(await asyncio.sleep(0.06, response.text))
    return log


def test_an_in_order_deadline_is_made_where_it_is_entered(base):
    """The deadline's expression is not moved into the task: made there, when the item is pulled,
    it would run out while earlier in-order blocks sleep (the plain loop never times out)."""
    keys = list(range(6))
    plain, got, gauge, _ = _compare(deadline_in_order, base, keys)
    assert got == plain == [f"page {k}" for k in keys]
    assert gauge["peak"] >= 2, gauge


async def failing_stream(client, base, keys, log):
    for k in keys:
        async with client.stream("GET", f"{base}/status/{k}?code={500 if k in (3, 6) else 200}") as response:
            response.raise_for_status()
            body = await response.aread()
        log.append(body)


def test_the_earliest_failing_block_raises_after_the_earlier_in_order_parts(base):
    def outcome(fn):
        log: list = []

        async def main():
            async with httpx.AsyncClient() as client:
                try:
                    await fn(client, base, list(range(10)), log)
                except httpx.HTTPStatusError as error:
                    return error.response.status_code, str(error.request.url).rsplit("/", 1)[1], list(log), \
                        {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

        return asyncio.run(main())

    plain = outcome(failing_stream)
    stats(base)
    got = outcome(xcs.jit(failing_stream))
    gauge = stats(base)
    assert got == plain
    assert got[:2] == (500, "3?code=500") and len(got[2]) == 3 and got[3] == set()
    assert gauge["peak"] >= 2, gauge
    time.sleep(0.2)   # the server finishes the cancelled streams' requests before the next gauge


async def guarded(client, base, keys, gate):
    bodies = []
    for k in keys:
        async with gate:
            response = await client.get(f"{base}/text/{k}")
        bodies.append(response.text)
    return bodies


@contextlib.asynccontextmanager
async def session_slot(pool):
    """A user's async context manager: borrows a slot of a shared pool across its awaits."""
    slot = pool.pop()
    try:
        yield slot
    finally:
        pool.append(slot)


async def borrowing(client, base, keys, pool):
    bodies = []
    for k in keys:
        async with session_slot(pool) as slot:
            response = await client.get(f"{base}/text/{k}?slot={slot}")
        bodies.append((slot, response.text))
    return bodies


@pytest.mark.parametrize("case", ["semaphore", "user manager"])
def test_an_unknown_async_manager_keeps_its_block_in_order(base, case):
    keys = list(range(6))
    if case == "semaphore":
        fn, make = guarded, lambda: asyncio.Semaphore(1)
    else:
        fn, make = borrowing, lambda: ["a", "b"]
    stats(base)
    plain = _run(fn, base, keys, make())
    assert stats(base)["peak"] == 1
    fast = xcs.jit(fn)
    got = _run(fast, base, keys, make())
    gauge = stats(base)
    assert got == plain and len(got) == len(keys)
    assert gauge["peak"] == 1, gauge
    report = xcs.explain(fast)[0]
    assert report.current_status() == "sequential"
    assert any(r.kind == "commit:async-with" for r in report.refusals), report.refusals


async def skipping(client, base, keys):
    out = []
    for k in keys:
        async with client.stream("GET", f"{base}/status/{k}?code={404 if k % 3 == 0 else 200}") as response:
            if response.status_code != 200:
                continue
            body = await response.aread()
        out.append(body)
    return out


async def caught(client, base, keys):
    out = []
    for k in keys:
        try:
            async with client.stream("GET", f"{base}/status/{k}?code={500 if k % 3 == 0 else 200}") as response:
                response.raise_for_status()
                body = await response.aread()
        except httpx.HTTPStatusError:
            body = b"failed"
        out.append(body)
    return out


@pytest.mark.parametrize("fn", [skipping, caught])
def test_a_continue_or_a_caught_failure_inside_the_block_is_the_plain_loops(base, fn):
    keys = list(range(9))
    plain, got, gauge, fast = _compare(fn, base, keys)
    assert got == plain and len(got) == (6 if fn is skipping else 9)
    assert gauge["peak"] >= 2, gauge
    assert xcs.explain(fast)[0].current_status() == "parallel"


async def auto_streamed(client, base, keys):
    bodies = []
    for k in keys:
        async with client.stream("GET", f"{base}/text/{k}") as response:
            body = await response.aread()
        bodies.append(body.decode())
    return bodies


def test_auto_mode_runs_a_streamed_block_in_the_task(base):
    pytest.importorskip("xcs._hook")
    keys = list(range(8))
    plain = _run(auto_streamed, base, keys)
    with xcs.enabled():
        _run(auto_streamed, base, keys)   # 3.12's sys.monitoring: a coroutine gets its variant from its 2nd call
        stats(base)
        got = _run(auto_streamed, base, keys)
    gauge = stats(base)
    assert got == plain == [f"page {k}" for k in keys]
    assert gauge["peak"] >= 2, gauge


class GatedClient:
    """Not an httpx client: its `stream` records when each request opens and closes (shared
    state across the awaits of the block, as a lock or a pool's slot would be)."""

    def __init__(self, client):
        self.client, self.events = client, []

    @contextlib.asynccontextmanager
    async def stream(self, method, url):
        self.events.append(("open", url))
        async with self.client.stream(method, url) as response:
            yield response
        self.events.append(("close", url))


def test_auto_mode_checks_at_loop_start_that_the_client_is_the_known_one(base):
    """Auto-mode decides before a call's arguments exist: the analysis expects httpx's
    `AsyncClient.stream` and the loop start checks it; another object keeps the loop in order."""
    pytest.importorskip("xcs._hook")
    keys = list(range(6))

    def gated(fn):
        async def main():
            async with httpx.AsyncClient() as client:
                gate = GatedClient(client)
                return await fn(gate, base, keys), [url.rsplit("/", 1)[1] for _, url in gate.events]

        return asyncio.run(main())

    plain = gated(auto_streamed)
    with xcs.enabled():
        _run(auto_streamed, base, keys)   # 3.12's sys.monitoring: a coroutine gets its variant from its 2nd call
        stats(base)
        real = _run(auto_streamed, base, keys)
        real_gauge = stats(base)
        got = gated(auto_streamed)
        gauge = stats(base)
    assert got == plain and plain[1] == [str(k) for k in keys for _ in "oc"]   # opened, closed, in turn
    assert real == plain[0] == [f"page {k}" for k in keys]
    assert real_gauge["peak"] >= 2, real_gauge
    assert gauge["peak"] == 1, gauge
