"""A `functools.partial` built where it is handed to a thread —
`await loop.run_in_executor(None, partial(fetch, url))` — is known: building a partial only
holds its arguments, and the thread runs the partial's function, whose effects are scanned.
Before, building the partial was a constructor XCS could not read, and the loop ran in order.
Blocking `urllib` requests against the local server; the server's gauge proves the overlap;
a partial of a function with an ordered effect keeps the loop in order."""
from __future__ import annotations

import asyncio
import functools

import xcs
from tests.aio.test_handoffs import base, fetch, fetch_logged, log   # noqa: F401 - `base` is a fixture
from tests.realworld.servers import stats


async def partial_in_executor(base, keys):
    out = []
    loop = asyncio.get_running_loop()
    for k in keys:
        body = await loop.run_in_executor(None, functools.partial(fetch, f"{base}/text/{k}"))
        out.append(body)
    return out


async def partial_by_keyword(base, keys):
    out = []
    loop = asyncio.get_running_loop()
    for k in keys:
        body = await loop.run_in_executor(None, functools.partial(fetch, url=f"{base}/text/{k}"))
        out.append(body)
    return out


async def partial_of_logged(base, keys):
    out = []
    loop = asyncio.get_running_loop()
    for k in keys:
        body = await loop.run_in_executor(None, functools.partial(fetch_logged, f"{base}/text/{k}"))
        out.append(body)
    return out


async def partial_of_a_partial_of_logged(base, keys):
    out = []
    loop = asyncio.get_running_loop()
    for k in keys:
        body = await loop.run_in_executor(None, functools.partial(functools.partial(fetch_logged), f"{base}/text/{k}"))
        out.append(body)
    return out


async def partial_called_in_the_body(base, keys):
    out = []
    for k in keys:
        out.append(functools.partial(fetch_logged, f"{base}/text/{k}")())
    return out


def _run(fn, base, keys):
    log.clear()
    result = asyncio.run(fn(base, keys))
    return result, list(log)


def test_a_partial_of_a_reading_function_handed_to_a_thread_overlaps(base):
    for fn in (partial_in_executor, partial_by_keyword):
        keys = list(range(8))
        stats(base)
        plain = _run(fn, base, keys)
        assert stats(base)["peak"] == 1
        fast = xcs.jit(fn, max_workers=4)
        got = _run(fast, base, keys)
        gauge = stats(base)
        assert got == plain and got[0] == [f"page {k}" for k in keys]
        assert gauge["requests"] == len(keys) and 2 <= gauge["peak"] <= 4, (fn.__name__, gauge)
        assert xcs.explain(fast)[0].current_status() == "parallel"


def test_a_partial_of_a_function_with_an_ordered_effect_keeps_the_loop_in_order(base):
    for fn in (partial_of_logged, partial_of_a_partial_of_logged, partial_called_in_the_body):
        keys = list(range(6))
        plain = _run(fn, base, keys)
        stats(base)
        fast = xcs.jit(fn)
        got = _run(fast, base, keys)
        gauge = stats(base)
        assert got == plain and got[1] == [f"page {k}" for k in keys], fn.__name__
        assert gauge["peak"] == 1, (fn.__name__, gauge)
        assert xcs.explain(fast)[0].current_status() == "sequential", fn.__name__
