"""The real `aiohttp` client in `async def` loops: `async with session.get(u) as r` and
`r = await session.get(u)` against the local server, compared with the plain coroutine; the
server's peak-concurrency gauge proves the overlap; the earliest failing request raises as in
plain code after the earlier items' in-order parts, and a shared effect across the await keeps
the loop in order."""
from __future__ import annotations

import asyncio

import aiohttp   # in the test extras: installed wherever the suite runs
import pytest

import xcs
from tests.realworld.servers import running_server, stats


@pytest.fixture(scope="module")
def base():
    with running_server(0.04) as url:
        yield url


async def with_block(session, base, keys):
    bodies = []
    for k in keys:
        async with session.get(f"{base}/text/{k}") as response:
            body = await response.text()
        bodies.append(body)
    return bodies


async def awaited(session, base, keys):
    bodies = []
    for k in keys:
        response = await session.get(f"{base}/text/{k}")
        bodies.append(await response.text())
    return bodies


async def checked(session, base, keys):
    bodies = []
    for k in keys:
        code = 500 if k in (3, 5) else 200
        async with session.get(f"{base}/status/{k}?code={code}") as response:
            response.raise_for_status()
            body = await response.text()
        bodies.append(body)
    return bodies


seen: list = []


async def shared_across_the_await(session, base, keys):
    bodies = []
    for k in keys:
        seen.append(k)                     # the request reads what earlier iterations appended
        async with session.get(f"{base}/text/{len(seen)}") as response:
            body = await response.text()
        bodies.append(body)
    return bodies


def _run(fn, base, keys, max_workers=None):
    async def main():
        async with aiohttp.ClientSession() as session:
            try:
                return "returned", await fn(session, base, keys)
            except aiohttp.ClientResponseError as error:
                return "raised", error.status, str(error.request_info.url)

    return asyncio.run(main())


@pytest.mark.parametrize("fn", [with_block, awaited])
def test_aiohttp_requests_overlap_and_give_the_plain_results(base, fn):
    keys = list(range(10))
    stats(base)
    plain = _run(fn, base, keys)
    assert stats(base)["peak"] == 1
    fast = xcs.jit(fn, max_workers=4)
    got = _run(fast, base, keys)
    gauge = stats(base)
    assert got == plain == ("returned", [f"page {k}" for k in keys])
    assert gauge["requests"] == len(keys) and 2 <= gauge["peak"] <= 4, gauge
    assert xcs.explain(fast)[0].current_status() == "parallel"


def test_the_earliest_failing_aiohttp_request_raises_as_in_plain_code(base):
    keys = list(range(9))
    plain = _run(checked, base, keys)
    stats(base)
    got = _run(xcs.jit(checked, max_workers=4), base, keys)
    gauge = stats(base)
    assert got == plain and got[:2] == ("raised", 500) and got[2].endswith("/status/3?code=500")
    assert gauge["peak"] >= 2, gauge


def test_a_shared_change_across_the_await_keeps_the_aiohttp_loop_in_order(base):
    keys = list(range(6))
    seen.clear()
    plain = _run(shared_across_the_await, base, keys)
    seen.clear()
    stats(base)
    fast = xcs.jit(shared_across_the_await)
    got = _run(fast, base, keys)
    assert got == plain and got[1] == [f"page {k + 1}" for k in keys]
    assert stats(base)["peak"] == 1
