"""Functions a coroutine hands to a thread — `loop.run_in_executor(None, f, x)` (the loop from
`asyncio.get_running_loop()`), `asyncio.to_thread(f, x)` — in the loop body or inside an `async
def` helper it awaits: known, their effects those of `f`. Blocking `urllib` requests against the
local server, each loop run plain and under `@xcs.jit`; the server's peak-concurrency gauge
proves the overlap, and a handed function with an ordered effect keeps the loop in order."""
from __future__ import annotations

import asyncio
import functools
import urllib.error
import urllib.request

import pytest

import xcs
from xcs.api.words import words
from tests.realworld.servers import running_server, stats

log: list = []


@pytest.fixture(scope="module")
def base():
    with running_server(0.04) as url:
        yield url


def fetch(url):
    with urllib.request.urlopen(url) as response:
        return response.read().decode()


def fetch_logged(url):
    body = fetch(url)
    log.append(body)   # a global other iterations see: the plain loop appends in item order
    return body


async def in_executor(url):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, fetch, url)


async def in_thread(url):
    return await asyncio.to_thread(fetch, url)


async def in_executor_logged(url):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, fetch_logged, url)


async def via_executor(base, keys):
    out = []
    for k in keys:
        out.append(await in_executor(f"{base}/text/{k}"))
    return out


async def via_thread(base, keys):
    out = []
    for k in keys:
        out.append(await in_thread(f"{base}/text/{k}"))
    return out


async def direct_executor(base, keys):
    out = []
    loop = asyncio.get_running_loop()
    for k in keys:
        body = await loop.run_in_executor(None, fetch, f"{base}/text/{k}")
        out.append(body)
    return out


async def direct_thread(base, keys):
    out = []
    for k in keys:
        body = await asyncio.to_thread(fetch, f"{base}/text/{k}")
        out.append(body)
    return out


@pytest.mark.parametrize("fn", [via_executor, via_thread, direct_executor, direct_thread])
def test_a_function_handed_to_a_thread_runs_in_the_task_and_the_requests_overlap(base, fn):
    keys = list(range(10))
    stats(base)
    plain = asyncio.run(fn(base, keys))
    assert stats(base)["peak"] == 1
    fast = xcs.jit(fn, max_workers=4)
    got = asyncio.run(fast(base, keys))
    gauge = stats(base)
    assert got == plain == [f"page {k}" for k in keys]
    assert gauge["requests"] == len(keys) and 2 <= gauge["peak"] <= 4, gauge
    assert xcs.explain(fast)[0].current_status() == "parallel"


async def via_executor_logged(base, keys):
    out = []
    for k in keys:
        out.append(await in_executor_logged(f"{base}/text/{k}"))
    return out


async def direct_executor_logged(base, keys):
    out = []
    loop = asyncio.get_running_loop()
    for k in keys:
        body = await loop.run_in_executor(None, fetch_logged, f"{base}/text/{k}")
        out.append(body)
    return out


async def direct_thread_logged(base, keys):
    out = []
    for k in keys:
        body = await asyncio.to_thread(fetch_logged, f"{base}/text/{k}")
        out.append(body)
    return out


@pytest.mark.parametrize("fn", [via_executor_logged, direct_executor_logged, direct_thread_logged])
def test_a_handed_function_with_an_ordered_effect_keeps_the_loop_in_order(base, fn):
    keys = list(range(8))
    log.clear()
    plain = asyncio.run(fn(base, keys)), list(log)
    log.clear()
    stats(base)
    fast = xcs.jit(fn)
    got = asyncio.run(fast(base, keys)), list(log)
    gauge = stats(base)
    assert got == plain and got[1] == [f"page {k}" for k in keys]
    assert gauge["peak"] == 1, gauge
    report = xcs.explain(fast)[0]
    assert report.current_status() == "sequential"
    assert any("fetch_logged" in words(r) and "log.append" in words(r) for r in report.refusals), report.refusals


async def unnamed(base, keys):
    out = []
    loop = asyncio.get_running_loop()
    for k in keys:
        job = functools.partial(fetch_logged, f"{base}/text/{k}")
        body = await loop.run_in_executor(None, job)
        out.append(body)
    return out


def test_a_handed_function_xcs_cannot_name_keeps_the_loop_in_order(base):
    keys = list(range(6))
    log.clear()
    plain = asyncio.run(unnamed(base, keys)), list(log)
    log.clear()
    stats(base)
    fast = xcs.jit(unnamed)
    got = asyncio.run(fast(base, keys)), list(log)
    assert got == plain and stats(base)["peak"] == 1
    assert any("cannot see which function" in words(r) for r in xcs.explain(fast)[0].refusals)


async def failing(base, keys, done):
    loop = asyncio.get_running_loop()
    for k in keys:
        code = 500 if k in (3, 5) else 200
        body = await loop.run_in_executor(None, fetch, f"{base}/status/{k}?code={code}")
        done.append(body)


def test_the_earliest_failing_thread_call_raises_after_the_earlier_in_order_parts(base):
    def outcome(fn):
        done: list = []

        async def main():
            try:
                await fn(base, list(range(9)), done)
            except urllib.error.HTTPError as error:
                return error.code, error.url, list(done), \
                    {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

        return asyncio.run(main())

    plain = outcome(failing)
    stats(base)
    got = outcome(xcs.jit(failing, max_workers=4))
    gauge = stats(base)
    assert got == plain
    assert got[0] == 500 and got[1].endswith("/status/3?code=500") and len(got[2]) == 3 and got[3] == set()
    assert gauge["peak"] >= 2, gauge
