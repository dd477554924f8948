"""Nested jitted loops in coroutines share one budget of tasks: an outer loop's iterations that
await an inner jitted loop never bring more than the outer limit of tasks (not limit²), and an
inner loop whose outer loop already runs at its limit runs inline. Each run compared with the
plain coroutines; the gauges (tests/aio/gauge.py's `wait`, the local HTTP server's) bound the
overlap from above and below."""
from __future__ import annotations

import asyncio

import pytest

import xcs
from tests.aio.gauge import measuring, other_tasks, wait

tasks_seen: list = []


@xcs.io
async def counted(x):
    """`wait(x)`, recording how many tasks the event loop has while it runs."""
    tasks_seen.append(len(asyncio.all_tasks()))
    return await wait(x, 0.01)


async def inner(group):
    out = []
    for x in group:
        out.append(await counted(x))
    return out


async def outer(groups, inner):
    out = []
    for g in groups:
        out.append(await inner(g))
    return out


def _groups(n_groups, size):
    return [[10 * g + k for k in range(size)] for g in range(n_groups)]


def _run(fn, groups, inner_fn):
    tasks_seen.clear()
    with measuring() as gauge:
        got = asyncio.run(fn(groups, inner_fn))
    return got, gauge["peak"], max(tasks_seen) - 1   # the task asyncio.run made is not XCS's


@pytest.mark.parametrize("n_groups, workers", [(4, 4), (2, 4), (3, 2)])
def test_nested_loops_share_the_outer_limit(n_groups, workers):
    groups = _groups(n_groups, 6)
    plain, plain_peak, _ = _run(outer, groups, inner)
    assert plain_peak == 1
    got, peak, tasks = _run(xcs.jit(outer, max_workers=workers), groups, xcs.jit(inner, max_workers=workers))
    assert got == plain
    assert 2 <= peak <= workers, peak
    assert tasks <= workers, tasks


def test_an_inner_loop_with_a_larger_limit_stays_inside_the_outer_budget():
    """(`parallel=True`: a probed outer loop awaits its first iteration inline, with no task
    of its own, and the inner loop of that iteration has its own limit.)"""
    groups = _groups(2, 8)
    plain, _, _ = _run(outer, groups, inner)
    got, peak, tasks = _run(xcs.jit(outer, max_workers=3, parallel=True), groups, xcs.jit(inner, max_workers=16))
    assert got == plain
    assert 2 <= peak <= 3 and tasks <= 3, (peak, tasks)


def test_an_inner_loop_alone_keeps_its_own_limit():
    """The budget is the outermost window's: an inner loop awaited by a plain outer loop has
    its own."""
    groups = _groups(2, 8)
    plain, _, _ = _run(outer, groups, inner)
    got, peak, _ = _run(outer, groups, xcs.jit(inner, max_workers=5))
    assert got == plain and peak == 5


async def inner_failing(group):
    out = []
    for x in group:
        out.append(await wait(x, 0.01, fail=(12, 13)))
    return out


def test_a_failure_in_an_inner_loop_propagates_as_plain_and_leaves_no_task():
    groups = _groups(3, 5)

    def outcome(fn, inner_fn):
        log: list = []

        async def main():
            try:
                for result in await fn(groups, inner_fn):
                    log.append(result)
            except ValueError as error:
                return error.args, log, other_tasks()

        with measuring() as gauge:
            got = asyncio.run(main())
        return got, gauge

    plain, _ = outcome(outer, inner_failing)
    got, gauge = outcome(xcs.jit(outer, max_workers=3), xcs.jit(inner_failing, max_workers=3))
    assert got == plain == ((12,), [], set())
    assert 2 <= gauge["peak"] <= 3
    assert sorted(gauge["started"]) == sorted(gauge["cleaned"])   # every task's `finally` ran


httpx = pytest.importorskip("httpx")


async def pages(client, base, keys):
    names = []
    for k in keys:
        response = await client.get(f"{base}/text/{k}")
        names.append(response.text)
    return names


async def sections(client, base, groups, pages):
    out = []
    for keys in groups:
        out.append(await pages(client, base, keys))
    return out


def test_nested_http_loops_keep_the_servers_peak_within_the_outer_limit():
    from tests.realworld.servers import running_server, stats

    groups = _groups(3, 6)

    def fetch(fn, pages_fn):
        async def main():
            async with httpx.AsyncClient() as client:
                return await fn(client, base, groups, pages_fn)

        return asyncio.run(main())

    with running_server(0.03) as base:
        stats(base)
        plain = fetch(sections, pages)
        assert stats(base)["peak"] == 1
        got = fetch(xcs.jit(sections, max_workers=4), xcs.jit(pages, max_workers=4))
        gauge = stats(base)
    assert got == plain
    assert gauge["requests"] == 18 and 2 <= gauge["peak"] <= 4, gauge
