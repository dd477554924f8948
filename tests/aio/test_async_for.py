"""`async for` loops in coroutines: iterations as tasks when the source is unobservable, with
the contract of `for` loops in coroutines (docs/async.md, "async for"). Every case is compared
with the plain coroutine; overlap is proven with the gauge of `tests.aio.gauge`."""
from __future__ import annotations

import asyncio
import contextvars
import logging

import pytest

import xcs
from tests.aio.gauge import measuring, other_tasks, state, wait


def run(coro):
    return asyncio.run(coro)


def report(fn):
    return xcs.explain(fn)[0]


def words(fn) -> str:
    r = report(fn)
    return " ".join([*r.reasons, r.inline_reason() or ""])


# Events of the sources (pulls, closes), recorded by a function the user vouches for, as the
# gauge is: a source that records into a list itself has an effect and stays in order.
events: list = []


@xcs.io
def note(*event):
    events.append(event)


async def numbers(n, fail_at=None):
    """A quiet async generator: awaits, then yields; records each pull and its own close."""
    try:
        for i in range(n):
            await asyncio.sleep(0)
            if i == fail_at:
                raise KeyError(i)
            note("pull", i)
            yield i
    finally:
        note("closed")


async def collect(source, fail=()):
    out = []
    async for x in source:
        y = await wait(x, fail=fail)
        out.append(y)
    return out, x


def both(fn, make_source, *args, **jit):
    """(plain outcome, plain events, jitted outcome, jitted events) of `fn(make_source(), *args)`."""
    def outcome(f):
        events.clear()

        async def main():
            try:
                return await f(make_source(), *args)
            except Exception as error:  # noqa: BLE001 - compared as outcome
                return (type(error).__name__, str(error))
        result = run(main())
        return result, list(events)

    plain, plain_events = outcome(fn)
    fast = xcs.jit(fn, **jit)
    with measuring():
        got, got_events = outcome(fast)
    return plain, plain_events, got, got_events, fast


# ----------------------------------------------------------------- parallel and identical
def test_an_async_generator_source_runs_as_tasks_with_the_plain_results():
    plain, _, got, got_events, fast = both(collect, lambda: numbers(12))
    assert got == plain == (list(range(12)), 11)
    assert state["peak"] >= 2, "the iterations never overlapped"
    assert report(fast).current_status() == "parallel"
    assert got_events[-1] == ("closed",)


def test_max_workers_bounds_the_tasks_in_flight():
    plain, _, got, _, _ = both(collect, lambda: numbers(12), max_workers=3)
    assert got == plain
    assert 2 <= state["peak"] <= 3


async def committed(source, log):
    async for x in source:
        y = await wait(x)
        log.append(("commit", y))
        note("commit", y)


@pytest.mark.parametrize("limit", [1, 3])
def test_items_are_pulled_at_most_max_workers_ahead_of_the_in_order_part(limit):
    events.clear()
    with measuring():
        run(xcs.jit(committed, max_workers=limit)(numbers(10), []))
    seen = [e for e in events if e[0] in ("pull", "commit")]
    assert [e[1] for e in seen if e[0] == "commit"] == list(range(10))
    for n, event in enumerate(seen):
        if event[0] == "commit":
            pulled = sum(1 for e in seen[:n] if e[0] == "pull")
            assert pulled <= event[1] + 1 + limit, seen
    # Before the first iteration finished, at most `limit` items were pulled.
    first_done = next(n for n, e in enumerate(seen) if e[0] == "commit")
    assert sum(1 for e in seen[:first_done] if e[0] == "pull") <= limit


# ----------------------------------------------------------------- sources that stay in order
async def loud(n):
    for i in range(n):
        await asyncio.sleep(0)
        print("produced", i)
        yield i


async def printed(source):
    out = []
    async for x in source:
        y = await wait(x)
        print("got", y)
        out.append(y)
    return out


def test_a_printing_async_generator_keeps_the_loop_in_order(capsys):
    plain = run(printed(loud(5)))
    expected = capsys.readouterr().out
    fast = xcs.jit(printed)
    with measuring() as gauge:
        got = run(fast(loud(5)))
    assert got == plain
    assert capsys.readouterr().out == expected
    assert gauge["peak"] == 1
    assert "print" in words(fast)


log = logging.getLogger("tests.aio.async_for")


async def logged_source(n):
    for i in range(n):
        await asyncio.sleep(0)
        log.warning("produced %d", i)
        yield i


async def logging_loop(source):
    out = []
    async for x in source:
        y = await wait(x)
        log.warning("got %d", y)
        out.append(y)
    return out


def test_a_logging_async_generator_keeps_the_loop_in_order(caplog):
    plain = run(logging_loop(logged_source(5)))
    expected = [r.getMessage() for r in caplog.records]
    caplog.clear()
    fast = xcs.jit(logging_loop)
    with measuring() as gauge:
        got = run(fast(logged_source(5)))
    assert got == plain
    assert [r.getMessage() for r in caplog.records] == expected
    assert gauge["peak"] == 1


TOTALS = {"n": 0}


async def counting(n):
    for i in range(n):
        await asyncio.sleep(0)
        TOTALS["n"] += i
        yield TOTALS["n"]


async def reads_totals(source):
    out = []
    async for x in source:
        y = await wait(x)
        out.append((y, TOTALS["n"]))
    return out


def test_an_async_generator_changing_shared_state_keeps_the_loop_in_order():
    TOTALS["n"] = 0
    plain = run(reads_totals(counting(6)))
    TOTALS["n"] = 0
    fast = xcs.jit(reads_totals)
    with measuring() as gauge:
        got = run(fast(counting(6)))
    assert got == plain
    assert gauge["peak"] == 1
    assert report(fast).current_status() == "sequential"


class StreamReader:
    """aiohttp's `resp.content`: lines read from a buffer that the response's methods also use."""

    def __init__(self, lines):
        self.buffer = list(lines)

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.sleep(0)
        if not self.buffer:
            raise StopAsyncIteration
        return self.buffer.pop(0)


class Response:
    def __init__(self, n):
        self.content = StreamReader(f"line {k}" for k in range(n))

    async def release(self, line):
        await asyncio.sleep(0.001)
        if line == "line 1":
            self.content.buffer.clear()   # the body's call ends the stream early
        return line


async def released(resp):
    out = []
    async for line in resp.content:
        y = await resp.release(line)
        out.append(y)
    return out


def test_the_content_of_a_response_the_body_uses_stays_in_order():
    plain = run(released(Response(5)))
    fast = xcs.jit(released, parallel=True)
    assert run(fast(Response(5))) == plain == ["line 0", "line 1"]
    assert report(fast).current_status() == "sequential"


class Lines:
    """An async generator method reading what `ack` (called by the body) changes."""

    def __init__(self, n):
        self.n, self.acked = n, []

    async def lines(self):
        for i in range(self.n):
            await asyncio.sleep(0)
            yield (i, len(self.acked))

    def ack(self, x):
        self.acked.append(x)
        return x


async def acknowledged(source):
    out = []
    async for item in source.lines():
        y = await wait(item)
        source.ack(y)
        out.append(y)
    return out


def test_an_async_generator_reading_what_the_body_changes_stays_in_order():
    plain = run(acknowledged(Lines(5)))
    fast = xcs.jit(acknowledged, parallel=True)
    assert run(fast(Lines(5))) == plain == [(k, k) for k in range(5)]
    assert "`self`, an object the loop body also uses" in words(fast)


class Socket:
    """A request/response protocol: the next message depends on what the body sends."""

    def __init__(self, n):
        self.n, self.sent = n, []

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.sleep(0)
        if len(self.sent) >= self.n:
            raise StopAsyncIteration
        return f"message after {len(self.sent)} replies"

    async def send(self, text):
        await asyncio.sleep(0.001)
        self.sent.append(text)


async def replies(ws):
    out = []
    async for msg in ws:
        await ws.send(msg.upper())
        out.append(msg)
    return out


def test_a_source_the_body_sends_to_stays_in_order():
    plain = run(replies(Socket(4)))
    fast = xcs.jit(replies, parallel=True)
    assert run(fast(Socket(4))) == plain == [f"message after {k} replies" for k in range(4)]
    assert report(fast).current_status() == "sequential"


class Ticker:
    """A class-based async iterator XCS does not read: pulled one item at a time."""

    def __init__(self, n):
        self.i, self.n = 0, n

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.i >= self.n:
            raise StopAsyncIteration
        self.i += 1
        return self.i


def test_an_unknown_async_iterator_is_pulled_one_item_at_a_time_with_a_reason():
    plain, _, got, _, fast = both(collect, lambda: Ticker(5))
    assert got == plain
    assert state["peak"] == 1
    assert "Ticker" in words(fast)


def test_a_source_without_aiter_raises_the_plain_type_error():
    plain, _, got, _, _ = both(collect, lambda: [1, 2, 3])
    assert got == plain and plain[0] == "TypeError"


# ----------------------------------------------------------------- failures
def test_the_earliest_failing_iteration_raises_after_the_earlier_in_order_parts():
    async def logged(source, log):
        async for x in source:
            y = await wait(x, fail=(3, 6))
            log.append(y)

    async def outcome(fn):
        log: list = []
        try:
            await fn(numbers(10), log)
        except ValueError as error:
            return log, error.args, other_tasks()
        return log, None, other_tasks()

    events.clear()
    plain = run(outcome(logged))
    events.clear()
    with measuring() as gauge:
        got = run(outcome(xcs.jit(logged, max_workers=4)))
    assert got == plain == ([0, 1, 2], (3,), set())
    assert sorted(gauge["cleaned"]) == sorted(gauge["started"]), "a task was not awaited"
    pulls = [e[1] for e in events if e[0] == "pull"]
    assert max(pulls) <= 3 + 4, "items were pulled after the failure"
    assert gauge["started"] and max(gauge["started"]) <= 3 + 4


def test_a_failing_source_raises_after_the_in_order_parts_of_its_earlier_items():
    plain, _, got, _, _ = both(collect, lambda: numbers(8, fail_at=5))
    assert got == plain == ("KeyError", "5")


def test_the_callers_cancellation_cancels_and_awaits_every_task():
    async def main(fn):
        task = asyncio.ensure_future(fn(numbers(40)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return other_tasks()

    with measuring() as gauge:
        assert run(main(xcs.jit(collect, max_workers=2))) == set()
    assert gauge["active"] == 0
    assert sorted(gauge["cleaned"]) == sorted(gauge["started"])
    assert gauge["peak"] >= 2


def test_a_timeout_around_the_loop_behaves_as_plain():
    if not hasattr(asyncio, "timeout"):
        pytest.skip("asyncio.timeout is 3.11+")

    async def bounded(fn):
        try:
            async with asyncio.timeout(0.05):
                return await fn(numbers(50))
        except TimeoutError:
            return "timeout", other_tasks()

    assert run(bounded(collect)) == ("timeout", set())
    with measuring() as gauge:
        assert run(bounded(xcs.jit(collect, max_workers=2))) == ("timeout", set())
    assert gauge["active"] == 0 and gauge["peak"] >= 2


async def stops(source):
    out = []
    async for x in source:
        y = await wait(x)
        if y == 3:
            break
        out.append(y)
    return out, x


def test_break_keeps_the_loop_in_order_with_a_reason():
    plain, plain_events, got, got_events, fast = both(stops, lambda: numbers(10))
    assert got == plain == ([0, 1, 2], 3)
    assert got_events == plain_events
    assert report(fast).current_status() == "sequential"
    assert "async-exit" in {r.kind for r in report(fast).refusals}


# ----------------------------------------------------------------- contextvars, closing
REQUEST = contextvars.ContextVar("request", default="none")


@xcs.io
async def tagged(x):
    await asyncio.sleep(0.005)
    return x, REQUEST.get()


async def with_context(source):
    REQUEST.set("loop")
    out = []
    async for x in source:
        y = await tagged(x)
        out.append(y)
    return out, REQUEST.get()


def test_contextvars_are_seen_as_in_the_plain_loop():
    plain, _, got, _, fast = both(with_context, lambda: numbers(6))
    assert got == plain
    assert plain[0][0] == (0, "loop")
    assert report(fast).current_status() == "parallel"


def test_a_partly_consumed_source_is_closed_as_in_the_plain_loop():
    # The source is left suspended by the failure in both; asyncio.run's shutdown of async
    # generators closes it. XCS pulled at most max_workers more items than plain.
    plain, plain_events, got, got_events, _ = both(collect, lambda: numbers(20), (4,))
    assert got == plain == ("ValueError", "4")
    assert plain_events[-1] == got_events[-1] == ("closed",)
    assert got_events.count(("closed",)) == 1
    plain_pulls = sum(1 for e in plain_events if e[0] == "pull")
    got_pulls = sum(1 for e in got_events if e[0] == "pull")
    assert plain_pulls <= got_pulls <= plain_pulls + 64


# ----------------------------------------------------------------- nesting, shapes
async def nested(sources):
    out = []
    async for source in sources:
        async for x in source:
            y = await wait(x)
            out.append(y)
    return out


async def sources_of(n):
    for k in range(n):
        await asyncio.sleep(0)
        yield numbers(3)


def test_an_async_for_holding_an_async_for_runs_its_outer_loop_in_order():
    plain, _, got, _, fast = both(nested, lambda: sources_of(3))
    assert got == plain == [0, 1, 2] * 3
    statuses = {r.line: r.current_status() for r in xcs.explain(fast)}
    assert sorted(statuses.values()) == ["parallel", "sequential"]


async def plain_for_around(groups):
    out = []
    for n in groups:
        async for x in numbers(n):
            y = await wait(x)
            out.append(y)
    return out


def test_a_for_loop_holding_an_async_for_stays_in_order_with_a_reason():
    fast = xcs.jit(plain_for_around)
    assert run(fast([2, 3])) == run(plain_for_around([2, 3])) == [0, 1, 0, 1, 2]
    outer = min(xcs.explain(fast), key=lambda r: r.line)
    assert outer.current_status() == "sequential"
    assert "async-for" in {r.kind for r in outer.refusals}


async def in_try(source):
    out = []
    try:
        async for x in source:
            y = await wait(x, fail=(2,))
            out.append(y)
    except ValueError as error:
        out.append(("caught", error.args))
    return out


def test_a_loop_inside_try_except_delivers_the_failure_to_the_handler():
    plain, _, got, _, fast = both(in_try, lambda: numbers(6))
    assert got == plain == [0, 1, ("caught", (2,))]
    assert report(fast).current_status() == "parallel"


# ----------------------------------------------------------------- auto-mode
async def auto_collect(source):
    out = []
    async for x in source:
        y = await wait(x)
        out.append(y)
    return out


def test_auto_mode_runs_an_undecorated_async_for_as_tasks():
    pytest.importorskip("xcs._hook")
    plain = run(auto_collect(numbers(10)))
    with measuring() as gauge, xcs.enabled():
        got = run(auto_collect(numbers(10)))
    assert got == plain == list(range(10))
    assert gauge["peak"] >= 2


def test_auto_mode_keeps_a_printing_source_in_order(capsys):
    pytest.importorskip("xcs._hook")
    plain = run(printed(loud(4)))
    expected = capsys.readouterr().out
    with measuring() as gauge, xcs.enabled():
        got = run(printed(loud(4)))
    assert got == plain
    assert capsys.readouterr().out == expected
    assert gauge["peak"] == 1


# ----------------------------------------------------------------- more shapes, all as plain
async def break_then_code(source):
    out = []
    async for x in source:
        y = await wait(x)
        if y == 3:
            break
        out.append(y)
    out.append("after")
    return out


async def skips(source):
    out = []
    async for x in source:
        y = await wait(x)
        if y % 2:
            continue
        out.append(y)
    return out


async def inner_for(source):
    out = []
    async for x in source:
        y = await wait(x)
        for k in range(2):
            out.append((y, k))
    return out


async def in_finally(source):
    out = []
    try:
        async for x in source:
            y = await wait(x)
            out.append(y)
    finally:
        out.append("finally")
    return out


async def comprehension(source):
    return [await wait(x) async for x in source]


async def collected(source):
    items = [x async for x in source]
    return items, [await wait(x) for x in items]


async def pairs(source):
    out = {}
    async for k, v in pairs_of(source):
        out[k] = await wait(v)
    return out


async def pairs_of(source):
    async for x in source:
        yield x, x * 10


@pytest.mark.parametrize("fn", [break_then_code, skips, inner_for, in_finally, comprehension, collected, pairs])
def test_loop_shapes_give_the_plain_results(fn):
    plain, plain_events, got, got_events, fast = both(fn, lambda: numbers(7))
    assert got == plain
    assert sorted(got_events) == sorted(plain_events)


@pytest.mark.parametrize("fn", [skips, inner_for, in_finally, pairs])
def test_loop_shapes_that_run_as_tasks(fn):
    _, _, _, _, fast = both(fn, lambda: numbers(7))
    assert state["peak"] >= 2, xcs.explain(fast)


# ----------------------------------------------------------------- a coroutine with cells
async def with_cell(xs):
    def key(v):
        return v + len(xs)   # `xs` is a cell: 3.12+ make it before RETURN_GENERATOR

    out = []
    for x in xs:
        y = await wait(x)
        out.append(key(y))
    return out


def test_a_coroutine_with_a_cell_variable_gets_tasks():
    fast = xcs.jit(with_cell)
    with measuring() as gauge:
        got = run(fast([1, 2, 3, 4]))
    assert got == run(with_cell([1, 2, 3, 4])) == [5, 6, 7, 8]
    assert gauge["peak"] >= 2, xcs.explain(fast)


# ----------------------------------------------------------------- more failures
async def strict(source, seen):
    out = []
    async for x in source:
        y = await wait(x)
        out.append(seen[y])    # in order: raises KeyError for an unseen item
    return out


def test_an_in_order_failure_cancels_and_awaits_the_tasks_in_flight():
    async def outcome(fn):
        try:
            await fn(numbers(20), {0: "a", 1: "b", 2: "c"})
        except KeyError as error:
            return error.args, other_tasks()

    assert run(outcome(strict)) == ((3,), set())
    with measuring() as gauge:
        assert run(outcome(xcs.jit(strict, max_workers=4))) == ((3,), set())
    assert gauge["active"] == 0
    assert sorted(gauge["cleaned"]) == sorted(gauge["started"])
    assert gauge["peak"] >= 2


def test_cancelling_while_tasks_are_in_flight_cancels_them_all():
    async def main():
        task = asyncio.ensure_future(xcs.jit(collect, max_workers=4)(numbers(20)))
        for _ in range(2000):   # until tasks are in flight (the first call also compiles)
            await asyncio.sleep(0.001)
            if state["active"] >= 2:
                break
        assert state["active"] >= 2
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        return other_tasks()

    with measuring() as gauge:
        assert run(main()) == set()
    assert gauge["active"] == 0


# ----------------------------------------------------------------- a real client
httpx = pytest.importorskip("httpx")
from tests.realworld.servers import running_server, stats  # noqa: E402


@pytest.fixture(scope="module")
def base():
    with running_server(0.05) as url:
        yield url


async def keys_of(n):
    for k in range(n):
        await asyncio.sleep(0)
        yield k


async def pages(client, base, source):
    names = []
    async for k in source:
        response = await client.get(f"{base}/item/{k}")
        names.append(response.json()["name"])
    return names


def _pages(fn, base, n):
    async def main():
        async with httpx.AsyncClient() as client:
            return await fn(client, base, keys_of(n))
    return run(main())


def test_httpx_requests_of_an_async_for_overlap_with_the_plain_results(base):
    stats(base)
    plain = _pages(pages, base, 12)
    assert stats(base)["peak"] == 1
    fast = xcs.jit(pages)
    got = _pages(fast, base, 12)
    gauge = stats(base)
    assert got == plain == [f"item {k}" for k in range(12)]
    assert gauge["requests"] == 12 and gauge["peak"] >= 2, gauge
    assert report(fast).current_status() == "parallel"


def test_auto_mode_runs_the_httpx_async_for_as_tasks(base):
    pytest.importorskip("xcs._hook")
    plain = _pages(pages, base, 8)
    stats(base)
    with xcs.enabled():
        got = _pages(pages, base, 8)
    gauge = stats(base)
    assert got == plain
    assert gauge["peak"] >= 2, gauge


# ----------------------------------------------------------------- the code around the loop
async def with_else(source):
    out = []
    async for x in source:
        y = await wait(x)
        out.append(y)
    else:
        out.append("else")
    return out


async def mixed(source, xs):
    out = []
    async for x in source:            # in order: it prints
        y = await wait(x)
        print("item", y)
        out.append(y)
    for x in xs:                      # tasks
        y = await wait(x)
        out.append(y)
    async for x in numbers(3):        # tasks
        y = await wait(x)
        out.append(y)
    return out


def test_an_else_clause_runs_as_in_the_plain_loop():
    plain, _, got, _, fast = both(with_else, lambda: numbers(5))
    assert got == plain == [0, 1, 2, 3, 4, "else"]
    assert state["peak"] >= 2


def test_loops_left_in_order_next_to_loops_with_tasks_run_as_written(capsys):
    plain, plain_events, got, got_events, fast = both(mixed, lambda: loud(4), [10, 11, 12])
    assert got == plain
    out = capsys.readouterr().out
    assert out.count("item 3") == 2 and out.index("produced 3") < out.index("item 3")
    statuses = sorted(r.current_status() for r in xcs.explain(fast))
    assert statuses == ["parallel", "parallel", "sequential"], xcs.explain(fast)


# ----------------------------------------------------------------- the analysis' view
@pytest.mark.parametrize("fn", [collect, committed, printed, released, replies, stops, with_context, in_try,
                                break_then_code, skips, inner_for, in_finally, pairs, strict, pages, with_else])
def test_each_statement_async_for_is_read_in_for_shape_and_put_back_exactly(fn):
    from xcs.analysis import analyze
    from xcs.analysis.asyncfor import as_for_loops, restored
    from xcs.analysis.normalize import normalize

    items = list(normalize(fn.__code__))
    shaped, restore = as_for_loops(items)
    assert restore, "not read in for shape"
    assert [id(x) for x in sorted(restored(shaped, restore), key=id)] == [id(x) for x in sorted(items, key=id)]
    loops = analyze(fn.__code__).loops
    assert any(lp.pulls_async for lp in loops)


async def paged(client, base, n):
    """A source that pages with the client the loop body also uses (known I/O only)."""
    for page in range(0, n, 4):
        await client.get(f"{base}/item/{page}")   # the page (its items are numbered here)
        for k in range(page, min(page + 4, n)):
            yield k


async def paged_pages(client, base, n):
    names = []
    async for k in paged(client, base, n):
        response = await client.get(f"{base}/item/{k}")
        names.append(response.json()["name"])
    return names


def test_a_source_made_from_an_object_the_body_calls_is_pulled_in_order(base):
    # The rule of `for` loops (`for line in reader(f): f.tell()`): the body calls `client.get`,
    # and the source was made from `client`.
    async def main(fn):
        async with httpx.AsyncClient() as client:
            return await fn(client, base, 12)

    plain = run(main(paged_pages))
    stats(base)
    fast = xcs.jit(paged_pages)
    got = run(main(fast))
    gauge = stats(base)
    assert got == plain == [f"item {k}" for k in range(12)]
    assert gauge["peak"] == 1
    assert "the loop body uses `client.get`, which the iterable reads from" in words(fast)
