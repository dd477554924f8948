"""Loop shapes whose bytecode CPython 3.12+ lays out differently, which XCS left as written or
sequential although they are safe to run in parallel.

1. An `async def` that collects with an async comprehension, then awaits per item in a second
   comprehension or loop. After the async comprehension (or an `async for`) CPython 3.12+ may
   leave the second await's CLEANUP_THROW block in line, falling through to its END_SEND,
   instead of out of line ending in a jump back. `xcs.transform.awaits.cleanup_blocks` took it
   for an out-of-line block and ran it on to the next jump, the loop's jump back to its head:
   the transform failed (`KeyError` in the body's skip flags) and the function ran as written.
2. A `while` loop in a `for` body whose body the statement split cuts into several statements:
   `while True:` (no test at the top, every version) or a `while` whose only jump back is in
   an `except` block (3.12+ with `break` last). Its jump back was refused as "a jump back
   into an earlier statement" / "a handler jumps into another statement"
   (`xcs.analysis.statements._move_loop_labels` now joins the while's statements into one).

Every case is compared with the plain function; overlap is proven with a gauge: the async
gauge of `tests.aio.gauge` for coroutines, `peak_of(..., overlap=4)` (a barrier of 4 `io`
calls that a sequential loop cannot pass) for the `while` shapes.
"""
from __future__ import annotations

import asyncio
import inspect

import pytest

import xcs
from tests.aio.gauge import measuring as measuring_awaits
from tests.aio.gauge import wait
from tests.hazards.harness import io, peak_of, same

N = 8


# --- 1. async comprehension, then an await per item -------------------------------------

async def numbers(n):
    """A quiet async source: its items arrive one pull (one await) at a time."""
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def two_comprehensions(n):
    items = [x async for x in numbers(n)]
    out = [await wait(x) for x in items]
    return out, items


async def comprehension_then_for(n):
    items = [x async for x in numbers(n)]
    out = []
    for x in items:
        y = await wait(x)
        out.append(y)
    return out, x


async def comprehension_then_append_await(n):
    items = [x async for x in numbers(n)]
    out = []
    for x in items:
        out.append(await wait(x))
    return out


async def comprehension_then_try(n):
    items = [x async for x in numbers(n)]
    out = []
    for x in items:
        try:
            y = await wait(x, fail=(3,))
        except ValueError as error:
            y = ("failed", error.args)
        out.append(y)
    return out


async def comprehension_then_dict(n):
    items = [x async for x in numbers(n)]
    return {x: await wait(x) for x in items if x % 4 != 3}


async def async_for_then_comprehension(n):
    items = []
    async for x in numbers(n):
        items.append(x)
    return [await wait(x) for x in items]


async def comprehension_then_failure(n):
    items = [x async for x in numbers(n)]
    return [await wait(x, fail=(5,)) for x in items]


def _line_of(fn, text: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, line in enumerate(lines) if text in line)


def _outcome(coro):
    try:
        return ("returned", asyncio.run(coro))
    except Exception as error:  # noqa: BLE001 - the outcome is what we compare
        return ("raised", type(error).__name__, error.args)


AWAITING = [two_comprehensions, comprehension_then_for, comprehension_then_append_await,
            comprehension_then_try, comprehension_then_dict, async_for_then_comprehension]


@pytest.mark.parametrize("fn", AWAITING, ids=lambda f: f.__name__)
def test_awaits_after_an_async_comprehension_run_as_tasks(fn):
    plain = _outcome(fn(N))
    jitted = xcs.jit(fn)
    for _ in range(2):   # the first call decides, the second runs the decided code
        with measuring_awaits() as state:
            got = _outcome(jitted(N))
        assert got == plain
        assert state["peak"] >= 4, xcs.explain(jitted)
    reports = xcs.explain(jitted)
    assert not any("could not transform" in " ".join(r.reasons) for r in reports), reports
    awaiting = [r for r in reports if r.line == _line_of(fn, "await wait(")
                or (r.line == _line_of(fn, "for x in items") and r.status != "sequential")]
    assert awaiting and all(r.parallel for r in awaiting), reports


@pytest.mark.parametrize("fn", [two_comprehensions, comprehension_then_dict], ids=lambda f: f.__name__)
def test_the_async_comprehension_itself_stays_as_written(fn):
    jitted = xcs.jit(fn)
    asyncio.run(jitted(N))
    collecting = [r for r in xcs.explain(jitted) if r.line == _line_of(fn, "async for x in numbers")]
    assert collecting and all(r.status == "sequential" for r in collecting)
    assert any("async for" in reason for r in collecting for reason in r.reasons), collecting


def test_a_failing_await_raises_as_in_the_plain_coroutine():
    plain = _outcome(comprehension_then_failure(N))
    assert plain == ("raised", "ValueError", (5,))
    jitted = xcs.jit(comprehension_then_failure)
    for _ in range(2):
        with measuring_awaits() as state:
            assert _outcome(jitted(N)) == plain
        assert state["peak"] >= 4


# --- 2. a `while` loop in a `for` body -----------------------------------------------------

class Response:
    def __init__(self, ok):
        self.ok = ok


@xcs.io
def fetch(url, tries=1):
    """Blocking I/O (the gauge's `io`) that succeeds on the second try."""
    io(url)
    return Response(tries >= 2)


def retry_break_last(urls):
    out = []
    for u in urls:
        tries = 0
        while True:
            tries += 1
            r = fetch(u, tries)
            if r.ok or tries > 3:
                break
        out.append((u, r.ok, tries))
    return out, r.ok, tries


def retry_continue_last(urls):
    out = []
    for u in urls:
        tries = 0
        while True:
            tries += 1
            r = fetch(u, tries)
            if r.ok or tries > 3:
                break
            continue
        out.append((u, r.ok, tries))
    return out, tries


def retry_continue_then_break(urls):
    out = []
    for u in urls:
        tries = 0
        while True:
            tries += 1
            r = fetch(u, tries)
            if not r.ok:
                continue
            break
        out.append((u, tries))
    return out


def retry_if_else(urls):
    out = []
    for u in urls:
        tries = 0
        while True:
            tries += 1
            r = fetch(u, tries)
            if r.ok:
                break
            else:
                continue
        out.append((u, tries))
    return out


def retry_condition_break_last(urls):
    out = []
    for u in urls:
        tries = 0
        while tries < 5:
            tries += 1
            r = fetch(u, tries)
            if r.ok:
                break
        out.append((u, tries))
    return out


def retry_condition_continue_last(urls):
    out = []
    for u in urls:
        tries = 0
        while tries < 2:
            tries += 1
            r = fetch(u, tries)
            if not r.ok:
                continue
        out.append((u, r.ok, tries))
    return out


def retry_in_except(urls):
    # 3.12+: the `while`'s only jump back is in the `except` block's `continue`.
    out = []
    for u in urls:
        tries = 0
        while True:
            tries += 1
            try:
                r = fetch(u, tries)
                if not r.ok:
                    raise ValueError(u)
            except ValueError:
                continue
            break
        out.append((u, tries))
    return out


def nested_whiles(urls):
    out = []
    for u in urls:
        rounds = 0
        while True:
            k = 0
            while True:
                k += 1
                if fetch(u, k).ok:
                    break
            rounds += 1
            if rounds >= 2:
                break
        out.append((u, rounds, k))
    return out


def retry_then_skip(urls):
    out = []
    for u in urls:
        tries = 0
        while True:
            tries += 1
            r = fetch(u, tries)
            if r.ok:
                break
        if u % 2:
            continue
        out.append((u, tries))
    return out


def retry_appending_inside(urls):
    out = []
    for u in urls:
        tries = 0
        while True:
            tries += 1
            r = fetch(u, tries)
            if r.ok:
                out.append((u, tries))
                break
    return out


WHILES = [retry_break_last, retry_continue_last, retry_continue_then_break, retry_if_else,
          retry_condition_break_last, retry_condition_continue_last, retry_in_except, nested_whiles,
          retry_then_skip, retry_appending_inside]


@pytest.mark.parametrize("fn", WHILES, ids=lambda f: f.__name__)
def test_a_while_loop_in_the_body_is_analysed_and_runs_in_parallel(fn):
    jitted = same(fn, lambda: (list(range(N)),))
    refused = [r for report in xcs.explain(jitted) for r in report.refusals if r.kind == "control-flow"]
    assert not refused, xcs.explain(jitted)
    result, peak = peak_of(jitted, list(range(N)), overlap=4)
    assert result == fn(list(range(N)))
    assert peak >= 4
    assert xcs.explain(jitted)[0].parallel, xcs.explain(jitted)

